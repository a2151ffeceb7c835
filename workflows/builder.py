"""Building workflows (versions with tasks, form fields and rules) and forms from plain dicts.

Input names are the API's (camelCase); errors name the offending entry, e.g.
`tasks[1].formFields[0].type`. Tasks and fields are referred to by a `key` (default: the name or
label) that is stable across versions: the group id is derived from the workflow and the key, so
the same key in a new version gets the same group id and runs migrate onto it.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from workflows.conditions import OPERATORS, OPERATORS_WITH_VALUE, ORDERED_TYPES
from workflows.models import (
    ConditionalRule,
    FieldType,
    Form,
    FormField,
    FormFieldTemplate,
    RuleAction,
    TaskTemplate,
    TaskType,
    VersionStatus,
    Workflow,
    WorkflowVersion,
)
from workflows.values import CHOICE_TYPES, FieldValueError, normalize_value, parse_number


def _group_id(workflow: Workflow, kind: str, key: str) -> str:
    name = f"{workflow.id}:{kind}:{key}"
    return base64.urlsafe_b64encode(uuid.uuid5(uuid.NAMESPACE_URL, name).bytes).decode()[:22]


def _text(entry: Mapping, name: str, where: str, *, required: bool = True) -> str:
    value = entry.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        key = f"{where}.{name}" if where else name
        raise ValidationError({key: "Enter a non-empty text of at most 255 characters."})
    return value.strip()


def _flag(entry: Mapping, name: str, where: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise ValidationError({f"{where}.{name}": "Must be true or false."})
    return value


def _field_spec(entry: object, where: str) -> dict:
    if not isinstance(entry, Mapping):
        raise ValidationError({where: "Must be an object."})
    label = _text(entry, "label", where)
    field_type = entry.get("type")
    if field_type not in FieldType.values:
        raise ValidationError({f"{where}.type": f"Unknown field type '{field_type}'."})
    options = entry.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) and o for o in options):
        raise ValidationError({f"{where}.options": "Must be a list of non-empty texts."})
    if field_type in CHOICE_TYPES and not options:
        raise ValidationError({f"{where}.options": "A choice field needs options."})
    if len({o.casefold() for o in options}) != len(options):
        raise ValidationError({f"{where}.options": "Options must be unique."})
    return {
        "key": _text(entry, "key", where, required=False) or label,
        "label": label,
        "field_type": field_type,
        "required": _flag(entry, "required", where),
        "hidden_by_default": _flag(entry, "hiddenByDefault", where),
        "options": options,
    }


def _build_tasks(version: WorkflowVersion, tasks: list) -> tuple[dict, dict]:
    """Creates the task and field templates; returns them by key."""
    if not isinstance(tasks, list | tuple) or not tasks:
        raise ValidationError({"tasks": "A workflow needs at least one task."})
    task_by_key: dict[str, TaskTemplate] = {}
    field_by_key: dict[str, FormFieldTemplate] = {}
    subjects: list[tuple[TaskTemplate, list, str]] = []
    for index, entry in enumerate(tasks):
        where = f"tasks[{index}]"
        if not isinstance(entry, Mapping):
            raise ValidationError({where: "Must be an object."})
        name = _text(entry, "name", where)
        key = _text(entry, "key", where, required=False) or name
        if key in task_by_key:
            raise ValidationError({f"{where}.key": f"Duplicate task key '{key}'."})
        task_type = entry.get("taskType", TaskType.STANDARD)
        if task_type not in TaskType.values:
            raise ValidationError({f"{where}.taskType": f"Unknown task type '{task_type}'."})
        template = TaskTemplate.objects.create(
            version=version, group_id=_group_id(version.workflow, "task", key), order=index,
            name=name, task_type=task_type, stop_task=_flag(entry, "stopTask", where),
            hidden_by_default=_flag(entry, "hiddenByDefault", where),
        )
        task_by_key[key] = template
        subjects.append((template, entry.get("subjects") or [], where))
        for position, raw in enumerate(entry.get("formFields") or []):
            spec = _field_spec(raw, f"{where}.formFields[{position}]")
            key_of_field = spec.pop("key")
            if key_of_field in field_by_key:
                raise ValidationError(
                    {f"{where}.formFields[{position}].key": f"Duplicate key '{key_of_field}'."}
                )
            field_by_key[key_of_field] = FormFieldTemplate.objects.create(
                version=version, task_template=template, order=position,
                group_id=_group_id(version.workflow, "field", key_of_field), **spec,
            )
    for template, subject_keys, where in subjects:
        _link_subjects(template, subject_keys, task_by_key, where)
    return task_by_key, field_by_key


def _link_subjects(template: TaskTemplate, keys: list, task_by_key: dict, where: str) -> None:
    if template.task_type != TaskType.APPROVAL:
        if keys:
            raise ValidationError({f"{where}.subjects": "Only an approval task has subjects."})
        return
    if not isinstance(keys, list) or not keys:
        raise ValidationError({f"{where}.subjects": "An approval task needs subject tasks."})
    linked = []
    for key in keys:
        subject = task_by_key.get(key)
        if subject is None or subject.task_type != TaskType.STANDARD:
            raise ValidationError({f"{where}.subjects": f"'{key}' is not a standard task."})
        linked.append(subject)
    template.subject_templates.set(linked)


def _clause(raw: object, fields: dict, where: str) -> dict:
    if not isinstance(raw, Mapping):
        raise ValidationError({where: "Must be an object."})
    field = fields.get(raw.get("field"))
    if field is None:
        raise ValidationError({f"{where}.field": f"Unknown form field '{raw.get('field')}'."})
    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise ValidationError({f"{where}.operator": f"Unknown operator '{operator}'."})
    value = raw.get("value")
    if operator in OPERATORS_WITH_VALUE:
        value = _operand(field, operator, value, f"{where}.value")
    else:
        value = None
    return {"widgetId": field.id, "operator": operator, "value": value}


def _operand(field: FormFieldTemplate, operator: str, value: object, where: str) -> object:
    if value is None or value == "" or isinstance(value, list | dict | bool):
        raise ValidationError({where: "This operator needs a single value."})
    ordered = operator in ("IsGreaterThan", "IsLessThan")
    try:
        if field.field_type in ORDERED_TYPES:
            return normalize_value(field.field_type, value)
        if ordered:
            return parse_number(value)
    except FieldValueError as error:
        raise ValidationError({where: str(error)}) from None
    return str(value)


def _build_rules(version: WorkflowVersion, rules: Iterable, tasks: dict, fields: dict) -> None:
    for index, raw in enumerate(rules or ()):
        where = f"rules[{index}]"
        if not isinstance(raw, Mapping):
            raise ValidationError({where: "Must be an object."})
        groups = (raw.get("condition") or {}).get("or")
        if not isinstance(groups, list) or not groups:
            raise ValidationError({f"{where}.condition": "Needs at least one 'or' group."})
        condition = {"or": []}
        for g, group in enumerate(groups):
            clauses = group.get("and") if isinstance(group, Mapping) else None
            if not isinstance(clauses, list) or not clauses:
                raise ValidationError({f"{where}.condition.or[{g}]": "Needs 'and' clauses."})
            condition["or"].append({"and": [
                _clause(c, fields, f"{where}.condition.or[{g}].and[{n}]")
                for n, c in enumerate(clauses)
            ]})
        action = raw.get("action")
        if action not in RuleAction.values:
            raise ValidationError({f"{where}.action": f"Unknown action '{action}'."})
        targets = raw.get("targets") or {}
        target_tasks = [
            _target(tasks, k, f"{where}.targets.tasks") for k in targets.get("tasks") or []
        ]
        target_fields = [
            _target(fields, k, f"{where}.targets.fields") for k in targets.get("fields") or []
        ]
        if not target_tasks and not target_fields:
            raise ValidationError({f"{where}.targets": "A rule needs at least one target."})
        rule = ConditionalRule.objects.create(
            version=version, order=index, condition=condition, action=action
        )
        rule.target_tasks.set(target_tasks)
        rule.target_fields.set(target_fields)


def _target(by_key: dict, key: object, where: str):
    if key not in by_key:
        raise ValidationError({where: f"Unknown key '{key}'."})
    return by_key[key]


@transaction.atomic
def create_workflow(
    organization, name: str, *, tasks: list[dict], rules: Iterable[dict] = (), actor=None
) -> Workflow:
    workflow = Workflow.objects.create(
        organization=organization, name=_text({"name": name}, "name", ""), created_by=actor
    )
    create_version(workflow, tasks=tasks, rules=rules)
    return workflow


@transaction.atomic
def create_version(
    workflow: Workflow, *, tasks: list[dict], rules: Iterable[dict] = ()
) -> WorkflowVersion:
    """The next version, Finished; the Finished one before it becomes Revised. Runs stay on the
    version they were started from until migrated."""
    previous = list(
        WorkflowVersion.objects.select_for_update().filter(workflow=workflow).order_by("number")
    )
    for old in previous:
        if old.status == VersionStatus.FINISHED:
            old.status = VersionStatus.REVISED
            old.save(update_fields=["status"])
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=(previous[-1].number + 1) if previous else 1,
        status=VersionStatus.FINISHED,
    )
    task_by_key, field_by_key = _build_tasks(version, tasks)
    _build_rules(version, rules, task_by_key, field_by_key)
    return version


@transaction.atomic
def create_form(organization, name: str, fields: list[dict]) -> Form:
    """A stand-alone form; fields as in a task's formFields (hiddenByDefault is ignored)."""
    form = Form.objects.create(
        organization=organization, name=_text({"name": name}, "name", "")
    )
    for index, raw in enumerate(fields or []):
        spec = _field_spec(raw, f"fields[{index}]")
        FormField.objects.create(
            form=form, order=index, label=spec["label"], field_type=spec["field_type"],
            required=spec["required"], options=spec["options"],
        )
    return form
