"""How an incoming webhook maps a payload onto what it creates: a workflow run (its properties
and form fields) or a data set record (its columns, upserted on the key column).

Each mapped JSONPath is evaluated against the payload (incoming/jsonpath_subset.py). A JSONPath
that matches nothing leaves its field empty; one that matches several values gives the list of
them. Numbers and booleans become text for text fields, because senders (Zapier, shops, forms)
often send ids and amounts as numbers where the field is text. Values that still do not fit are
a ValidationError under the property, form field or column they were mapped to, which the
request handling (incoming/receiving.py) answers as a 400 naming it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from django.core.exceptions import ValidationError

from accounts.automation import automation_user
from datasets import services as dataset_services
from datasets.models import DataSet, DataSetFieldType
from incoming import jsonpath_subset
from incoming.models import IncomingOutcome, IncomingWebhook
from workflows import services as workflow_services
from workflows.models import FormFieldTemplate
from workflows.models.templates import FieldType
from workflows.values import TEXT_TYPES

logger = logging.getLogger(__name__)

TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0", ""})

# What evaluate() gives when a JSONPath matches nothing (None is a value a payload may hold).
MISSING = object()


def evaluate(path: str, payload: object, name: str) -> object:
    """The one value matched, the list of values when several match, MISSING when none.
    ValidationError under `name` (the property, form field or column mapped) when the path is
    outside the subset (saved before the subset existed) or matches too many values."""
    try:
        matches = jsonpath_subset.find(path, payload)
    except jsonpath_subset.PathNotAllowed as exc:
        raise ValidationError({name: f"The mapping's JSONPath is no longer supported: {exc} "
                                     "Edit the incoming webhook."}) from None
    except jsonpath_subset.TooManyMatches as exc:
        raise ValidationError({name: str(exc)}) from None
    if not matches:
        return MISSING
    return matches[0] if len(matches) == 1 else list(matches)


def _text(value: object) -> object:
    """Numbers and booleans become text for text fields; anything else is left to validation."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value


def _shared(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().casefold() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().casefold() in TRUE_WORDS
    raise ValidationError({"Shared": "Enter true or false."})


def _emails(value: object, name: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ValidationError({name: "Enter an email address or a list of them."})


def run_arguments(webhook: IncomingWebhook, payload: object) -> dict:
    """The keyword arguments of workflows.services.start_run for this payload."""
    config = webhook.config or {}
    props = {
        name: evaluate(path, payload, name)
        for name, path in (config.get("properties") or {}).items()
    }
    workflow = webhook.workflow
    name = props.get("Name", MISSING)
    if name is MISSING or name is None or name == "":
        name = f"{workflow.name} (incoming)"[:255]
    elif isinstance(name, int | float | bool):
        name = _text(name)
    elif not isinstance(name, str):
        raise ValidationError({"Name": "Enter a text value."})
    arguments: dict = {"name": name}
    due = props.get("DueDate", MISSING)
    if due is not MISSING and due not in (None, ""):
        arguments["due_date"] = due
    shared = props.get("Shared", MISSING)
    if shared is not MISSING and shared is not None:
        arguments["shared"] = _shared(shared)
    assignees = props.get("Assignees", MISSING)
    if assignees is not MISSING and assignees is not None:
        arguments["assignee_emails"] = _emails(assignees, "Assignees")
    runner = props.get("Runner", MISSING)
    if runner is not MISSING and runner not in (None, ""):
        if not isinstance(runner, str):
            raise ValidationError({"Runner": "Enter the email address of a member."})
        arguments["runner"] = runner.strip()
    arguments["field_values"] = _form_field_values(webhook, config.get("formFields") or {},
                                                   payload)
    return arguments


def _form_field_values(webhook: IncomingWebhook, paths: Mapping[str, str],
                       payload: object) -> dict[str, object]:
    """Values keyed by the latest version's field template ids. A config may name a field by
    any version's template id or by its group id: both lead to the field in the latest version."""
    if not paths:
        return {}
    version = webhook.workflow.latest_version()
    if version is None:
        raise ValidationError({"version": "The workflow has no finished version to run."})
    latest = list(FormFieldTemplate.objects.filter(version=version))
    by_group = {ft.group_id: ft for ft in latest}
    by_id = {ft.id: ft for ft in latest}
    groups_of_old_ids = dict(
        FormFieldTemplate.objects.filter(pk__in=[k for k in paths if k not in by_id])
        .values_list("id", "group_id")
    )
    values: dict[str, object] = {}
    for field_id, path in paths.items():
        template = by_id.get(field_id) or by_group.get(field_id) or by_group.get(
            groups_of_old_ids.get(field_id, "")
        )
        if template is None:
            logger.info("Incoming webhook %s maps field %s, which the workflow no longer has",
                        webhook.pk, field_id)
            continue
        value = evaluate(path, payload, field_id)
        if value is MISSING:
            continue
        if template.field_type in TEXT_TYPES or template.field_type == FieldType.EMAIL:
            value = _text(value)
        values[template.id] = value
    return values


def record_cells(webhook: IncomingWebhook, payload: object) -> dict[str, object]:
    """The cells of the data set record for this payload, keyed by data set field id."""
    types = dict(webhook.data_set.fields.values_list("id", "field_type"))
    cells: dict[str, object] = {}
    for field_id, path in ((webhook.config or {}).get("columns") or {}).items():
        value = evaluate(path, payload, field_id)
        if value is MISSING:
            continue
        if types.get(field_id) == DataSetFieldType.TEXT:
            value = _text(value)
        cells[field_id] = value
    return cells


def apply_payload(webhook: IncomingWebhook, payload: object) -> tuple[str, str]:
    """Starts the run or writes the record; (outcome, object id). Call inside a transaction.
    The changes are by the organization's automation user (accounts/automation.py)."""
    actor = automation_user(webhook.organization)
    if webhook.workflow_id:
        run = workflow_services.start_run(webhook.workflow, actor=actor,
                                          **run_arguments(webhook, payload))
        return IncomingOutcome.CREATED, run.pk
    data_set = webhook.data_set
    cells = record_cells(webhook, payload)
    key_column = (webhook.config or {}).get("keyColumn")
    if key_column and cells.get(key_column) not in (None, ""):
        # One upsert per data set at a time, so two payloads with a new key make one record.
        DataSet.objects.select_for_update().filter(pk=data_set.pk).first()
        existing = dataset_services.find_record_by_key(data_set, key_column, cells[key_column])
        if existing is not None:
            record = dataset_services.update_record(existing, cells, actor=actor)
            return IncomingOutcome.UPDATED, record.pk
    record = dataset_services.create_record(data_set, cells, actor=actor)
    return IncomingOutcome.CREATED, record.pk
