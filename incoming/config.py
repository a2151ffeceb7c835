"""Checking an incoming webhook's config (its mapping) when it is saved, from the API or the admin.

A workflow's config: {"properties": {"Name", "DueDate", "Shared", "Assignees", "Runner"} ->
JSONPath, "formFields": {form field id -> JSONPath}}. A data set's: {"columns": {field id ->
JSONPath}, "keyColumn": field id}. Checking at save time, rather than when a payload arrives,
lets the sender of a bad mapping be told at once, and bounds what a payload can cost: every path
must be of the subset in incoming/jsonpath_subset.py (docs/incoming.md) and there are at most
MAX_PATHS of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError

from datasets.models import DataSet
from incoming import jsonpath_subset
from workflows.models import FormFieldTemplate, Workflow

PROPERTIES = ("Name", "DueDate", "Shared", "Assignees", "Runner")


def _check_paths(mapping: object, where: str, errors: dict[str, str]) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        errors[where] = "Must be an object mapping names to JSONPaths."
        return {}
    cleaned: dict[str, str] = {}
    for name, path in mapping.items():
        if path is None or path == "":
            continue
        if not isinstance(path, str):
            errors[f"{where}.{name}"] = "Must be a JSONPath string, e.g. $.customer.email."
            continue
        try:
            jsonpath_subset.compile_path(path.strip())
        except jsonpath_subset.PathNotAllowed as exc:
            errors[f"{where}.{name}"] = f"Not a supported JSONPath: {exc}"
            continue
        cleaned[str(name)] = path.strip()
    return cleaned


def _workflow_field_ids(workflow: Workflow) -> set[str]:
    """Form field ids that may be mapped: any version's template id, or a field's group id."""
    rows = FormFieldTemplate.objects.filter(version__workflow=workflow).values_list(
        "id", "group_id"
    )
    return {value for row in rows for value in row}


def validate_config(config: object, *, workflow: Workflow | None = None,
                    data_set: DataSet | None = None) -> dict:
    """The normalised config, or ValidationError keyed by dotted paths into it."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ValidationError({"config": "Must be an object."})
    errors: dict[str, str] = {}
    if workflow is not None:
        allowed = {"properties", "formFields"}
        properties = _check_paths(config.get("properties"), "properties", errors)
        for name in properties:
            if name not in PROPERTIES:
                errors[f"properties.{name}"] = (
                    f"Unknown property; known: {', '.join(PROPERTIES)}."
                )
        form_fields = _check_paths(config.get("formFields"), "formFields", errors)
        if form_fields:
            known = _workflow_field_ids(workflow)
            for field_id in form_fields:
                if field_id not in known:
                    errors[f"formFields.{field_id}"] = "Not a form field of this workflow."
        cleaned = {"properties": properties, "formFields": form_fields}
    elif data_set is not None:
        allowed = {"columns", "keyColumn"}
        columns = _check_paths(config.get("columns"), "columns", errors)
        known = set(data_set.fields.values_list("id", flat=True))
        for field_id in columns:
            if field_id not in known:
                errors[f"columns.{field_id}"] = "Not a field of this data set."
        key_column = config.get("keyColumn") or None
        if key_column is not None:
            if not isinstance(key_column, str) or key_column not in known:
                errors["keyColumn"] = "Not a field of this data set."
            elif key_column not in columns:
                errors["keyColumn"] = "The key column must also be mapped in columns."
        cleaned = {"columns": columns, "keyColumn": key_column}
    else:
        raise ValidationError({"config": "An incoming webhook needs a workflow or a data set."})
    for extra in set(config) - allowed:
        errors[str(extra)] = f"Unknown key; known: {', '.join(sorted(allowed))}."
    mapped = sum(len(value) for value in cleaned.values() if isinstance(value, dict))
    if mapped > jsonpath_subset.MAX_PATHS:
        errors["config"] = (f"At most {jsonpath_subset.MAX_PATHS} JSONPaths per incoming "
                            f"webhook; this config has {mapped}.")
    if errors:
        raise ValidationError(errors)
    return cleaned
