"""Editing a workflow version in the admin in one save: tasks, their form fields, approval
subjects and conditional rules on the same page, linked by pickers instead of typed ids.

Rows not saved yet have no id, so the pickers (workflows/static/workflows/version_builder.js)
name every row by a reference: a saved row by its id, a new one by its inline form's prefix
(e.g. "task_templates-3"). The page posts those references in hidden inputs; the version admin
saves the tasks first, then resolves each reference to the row it names (RefMap) as it saves
the fields, the subjects and the rules.
"""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError

from kernel.ids import new_muid
from workflows.conditions import OPERATORS
from workflows.models import ConditionalRule, FormFieldTemplate, TaskTemplate


def saved(instance) -> bool:
    """Whether the row is in the database: a new row's id is made with the instance, so an id
    alone does not tell."""
    return bool(instance.pk) and type(instance).objects.filter(pk=instance.pk).exists()


class RefMap:
    """References (saved ids and new rows' form prefixes) -> saved rows, for one request."""

    def __init__(self) -> None:
        self.rows: dict[str, object] = {}

    def add_formset(self, formset) -> None:
        for form in formset.forms:
            if form.instance.pk and form not in formset.deleted_forms:
                self.rows[form.prefix] = form.instance
                self.rows[str(form.instance.pk)] = form.instance

    def resolve(self, ref: str, model, version):
        """The row; references were checked by the forms (check_ref), so one is found."""
        row = self.rows.get(ref)
        if isinstance(row, model):
            return row
        return model.objects.get(version=version, pk=ref)


# model -> (inline formset prefix, the field a new row must have filled in to be saved)
PREFIXES = {TaskTemplate: ("task_templates", "name"), FormFieldTemplate: ("field_templates",
                                                                          "label")}


def check_ref(form: forms.Form, ref: object, model) -> str:
    """A reference the page may post: a saved row of this version, or a filled-in row of the
    same page that is not being deleted. Checked here, so that a wrong one is a form error."""
    if not isinstance(ref, str) or not ref:
        raise ValidationError("Pick a row.")
    prefix, required = PREFIXES[model]
    data = form.data
    if ref.startswith(f"{prefix}-"):
        index = ref[len(prefix) + 1:]
        try:
            total = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
        except (TypeError, ValueError):
            total = 0
        if (index.isdigit() and int(index) < total and data.get(f"{ref}-{required}")
                and not data.get(f"{ref}-DELETE")):
            return ref
    else:
        version = getattr(form.instance, "version", None) if form.instance.version_id else None
        if version is not None and model.objects.filter(version=version, pk=ref).exists():
            deleted = any(data.get(f"{prefix}-{i}-id") == ref and data.get(f"{prefix}-{i}-DELETE")
                          for i in range(int(data.get(f"{prefix}-TOTAL_FORMS", 0) or 0)))
            if not deleted:
                return ref
    raise ValidationError(f"{ref!r} is not a {model._meta.verbose_name} of this version.")


def _refs(form: forms.Form, text: str, model) -> list[str]:
    try:
        refs = json.loads(text or "[]")
    except ValueError:
        raise ValidationError("Not a list of references.") from None
    if not isinstance(refs, list):
        raise ValidationError("Not a list of references.")
    return [check_ref(form, ref, model) for ref in refs]


class GroupIdMixin:
    """A new row's group id is made when it is saved: the model's default would be computed
    once for the page's blank row, so every row added from it would share one id."""

    def _init_group_id(self) -> None:
        self.fields["group_id"].required = False
        self.fields["group_id"].help_text = "Left empty: a new id."
        self.fields["group_id"].show_hidden_initial = False
        if not saved(self.instance):
            self.initial["group_id"] = ""
            self.fields["group_id"].initial = ""

    def clean_group_id(self):
        return self.cleaned_data.get("group_id") or new_muid()


class TaskTemplateForm(GroupIdMixin, forms.ModelForm):
    subjects = forms.CharField(
        required=False, label="approves",
        widget=forms.TextInput(attrs={"data-picker": "subjects"}),
        help_text="For an approval task: the tasks it approves (picked by name).",
    )

    class Meta:
        model = TaskTemplate
        fields = ["order", "name", "task_type", "stop_task", "hidden_by_default", "group_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_group_id()
        if saved(self.instance):
            self.initial["subjects"] = json.dumps(
                [str(pk) for pk in self.instance.subject_templates.values_list("pk", flat=True)])

    def clean_subjects(self):
        return _refs(self, self.cleaned_data.get("subjects"), TaskTemplate)


class FormFieldTemplateForm(GroupIdMixin, forms.ModelForm):
    task = forms.CharField(label="task", widget=forms.TextInput(attrs={"data-picker": "task"}))

    class Meta:
        model = FormFieldTemplate
        fields = ["order", "label", "field_type", "required", "hidden_by_default", "options",
                  "group_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_group_id()
        if saved(self.instance):
            self.initial["task"] = str(self.instance.task_template_id)

    def clean_task(self):
        return check_ref(self, self.cleaned_data.get("task"), TaskTemplate)


class ConditionalRuleForm(forms.ModelForm):
    condition = forms.CharField(
        widget=forms.TextInput(attrs={"data-picker": "condition"}),
        help_text="When the rule applies: any group of conditions all true.",
    )
    target_tasks_refs = forms.CharField(
        required=False, label="target tasks",
        widget=forms.TextInput(attrs={"data-picker": "tasks"}))
    target_fields_refs = forms.CharField(
        required=False, label="target fields",
        widget=forms.TextInput(attrs={"data-picker": "fields"}))

    class Meta:
        model = ConditionalRule
        fields = ["order", "action"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rule = self.instance
        if saved(rule):
            self.initial["condition"] = json.dumps(rule.condition)
            self.initial["target_tasks_refs"] = json.dumps(
                [str(pk) for pk in rule.target_tasks.values_list("pk", flat=True)])
            self.initial["target_fields_refs"] = json.dumps(
                [str(pk) for pk in rule.target_fields.values_list("pk", flat=True)])

    def clean_condition(self):
        """{"or": [{"and": [{"widgetId": ref, "operator": ..., "value": ...}]}]}, with refs."""
        try:
            condition = json.loads(self.cleaned_data["condition"])
        except ValueError:
            raise ValidationError("Not a condition.") from None
        groups = condition.get("or") if isinstance(condition, dict) else None
        if not isinstance(groups, list) or not groups:
            raise ValidationError("Give at least one condition.")
        for group in groups:
            clauses = group.get("and") if isinstance(group, dict) else None
            if not isinstance(clauses, list) or not clauses:
                raise ValidationError("Each group needs at least one condition.")
            for clause in clauses:
                if not isinstance(clause, dict) or not clause.get("widgetId"):
                    raise ValidationError("Pick the form field of each condition.")
                check_ref(self, clause["widgetId"], FormFieldTemplate)
                if clause.get("operator") not in OPERATORS:
                    raise ValidationError(f"Pick an operator: {', '.join(OPERATORS)}.")
        return condition

    def clean_target_tasks_refs(self):
        return _refs(self, self.cleaned_data.get("target_tasks_refs"), TaskTemplate)

    def clean_target_fields_refs(self):
        return _refs(self, self.cleaned_data.get("target_fields_refs"), FormFieldTemplate)


def save_version_formset(request, version, formset) -> None:
    """Saves one inline formset of the version page, resolving references to rows saved
    earlier in the same request (the inlines are saved in order: tasks, fields, rules)."""
    refs: RefMap = getattr(request, "_version_refs", None) or RefMap()
    request._version_refs = refs
    model = formset.model
    formset.save(commit=False)
    for obj in formset.deleted_objects:
        obj.delete()
    live = [form for form in formset.forms if form not in formset.deleted_forms
            and (saved(form.instance) or form.has_changed()) and form.cleaned_data]
    for form in live:
        if model is FormFieldTemplate:
            form.instance.task_template = refs.resolve(form.cleaned_data["task"], TaskTemplate,
                                                       version)
        elif model is ConditionalRule:
            condition = form.cleaned_data["condition"]
            for group in condition["or"]:
                for clause in group["and"]:
                    clause["widgetId"] = refs.resolve(clause["widgetId"], FormFieldTemplate,
                                                      version).pk
            form.instance.condition = condition
        form.instance.save()
    formset.save_m2m()
    refs.add_formset(formset)
    for form in live:
        if model is TaskTemplate:
            form.instance.subject_templates.set(
                [refs.resolve(r, TaskTemplate, version) for r in form.cleaned_data["subjects"]])
        elif model is ConditionalRule:
            form.instance.target_tasks.set(
                [refs.resolve(r, TaskTemplate, version)
                 for r in form.cleaned_data["target_tasks_refs"]])
            form.instance.target_fields.set(
                [refs.resolve(r, FormFieldTemplate, version)
                 for r in form.cleaned_data["target_fields_refs"]])
