"""The only code that changes data sets and their records.

Cells are {DataSetField id: value}: Text holds a string, Number a number (numeric strings are
accepted), DateTime an ISO-8601 string written in UTC with milliseconds. None or "" clears a
cell (the key is removed), so a record holds only cells with a value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.db.models.fields.json import KeyTransform

from datasets.models import DataSet, DataSetField, DataSetFieldType, DataSetRecord
from kernel.outbox import domain_change
from kernel.timefmt import iso_ms
from workflows.values import FieldValueError, parse_datetime_value, parse_number


@transaction.atomic
def create_data_set(organization, name: str, fields: Iterable[Mapping] = ()) -> DataSet:
    """fields: [{"name", "fieldType": Text | DateTime | Number}], in column order."""
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ValidationError({"name": "Enter a non-empty name of at most 255 characters."})
    data_set = DataSet.objects.create(organization=organization, name=name.strip())
    seen: set[str] = set()
    for index, field in enumerate(fields):
        where = f"fields[{index}]"
        field_name = field.get("name") if isinstance(field, Mapping) else None
        if not isinstance(field_name, str) or not field_name.strip():
            raise ValidationError({f"{where}.name": "Enter a field name."})
        if field_name.strip().casefold() in seen:
            raise ValidationError({f"{where}.name": f"Duplicate field name '{field_name}'."})
        seen.add(field_name.strip().casefold())
        field_type = field.get("fieldType", DataSetFieldType.TEXT)
        if field_type not in DataSetFieldType.values:
            raise ValidationError({f"{where}.fieldType": f"Unknown field type '{field_type}'."})
        DataSetField.objects.create(
            data_set=data_set, name=field_name.strip(), field_type=field_type, order=index
        )
    return data_set


def normalize_cell(field_type: str, value: object) -> object:
    """The stored form of a cell value, or FieldValueError."""
    if value is None or value == "":
        return None
    if field_type == DataSetFieldType.TEXT:
        if not isinstance(value, str):
            raise FieldValueError("Enter a text value.")
        return value
    if field_type == DataSetFieldType.NUMBER:
        return parse_number(value)
    if field_type == DataSetFieldType.DATE_TIME:
        return iso_ms(parse_datetime_value(value))
    raise FieldValueError(f"Unknown field type '{field_type}'.")


def data_set_fields(data_set: DataSet) -> list[DataSetField]:
    """The data set's fields, loaded once per instance: the checks and the event payload that
    follow in the same operation read them from there."""
    prefetch_related_objects([data_set], "fields")
    return list(data_set.fields.all())


def _check_cells(data_set: DataSet, cells: Mapping[str, object]) -> dict[str, object]:
    """Every unknown field and bad value reported at once, keyed by the field id given."""
    if not isinstance(cells, Mapping):
        raise ValidationError({"cells": "Must be an object keyed by field id."})
    fields = {f.id: f for f in data_set_fields(data_set)}
    errors: dict[str, str] = {}
    normalized: dict[str, object] = {}
    for field_id, value in cells.items():
        field = fields.get(field_id)
        if field is None:
            errors[str(field_id)] = "Unknown data set field."
            continue
        try:
            normalized[field_id] = normalize_cell(field.field_type, value)
        except FieldValueError as error:
            errors[str(field_id)] = str(error)
    if errors:
        raise ValidationError(errors)
    return normalized


def _merge(current: Mapping[str, object], changes: Mapping[str, object]) -> dict[str, object]:
    merged = dict(current)
    for field_id, value in changes.items():
        if value is None:
            merged.pop(field_id, None)
        else:
            merged[field_id] = value
    return merged


@domain_change
def create_record(data_set: DataSet, cells: Mapping[str, object], *, actor) -> DataSetRecord:
    record = DataSetRecord(
        data_set=data_set, cells=_merge({}, _check_cells(data_set, cells)),
        created_by=actor, updated_by=actor,
    )
    record.save()
    return record


@domain_change
def update_record(record: DataSetRecord, cells: Mapping[str, object], *, actor) -> DataSetRecord:
    """Merges the given cells into the record; saves (and fires an update) only on a change."""
    changes = _check_cells(record.data_set, cells)
    # The row as stored now, so the change is judged against what is really there; with
    # what its payload shows, so rendering it reads nothing more.
    current = (DataSetRecord.objects.select_for_update(of=("self",))
               .select_related("created_by").get(pk=record.pk))
    current.data_set = record.data_set
    merged = _merge(current.cells, changes)
    if merged == current.cells:
        return current
    current.cells = merged
    current.updated_by = actor
    current.save(update_fields=["cells", "updated_by", "updated_date"])
    record.cells, record.updated_by, record.updated_date = merged, actor, current.updated_date
    return current


@domain_change
def delete_record(record: DataSetRecord, *, actor) -> None:
    # `actor` is accepted for symmetry with the other services; a deleted row keeps no audit.
    record.delete()


def find_record_by_key(data_set: DataSet, field_id: str, value: object) -> DataSetRecord | None:
    """The oldest record whose cell `field_id` equals `value` (normalised as that field's type),
    for incoming webhooks with a key column; None when the value is empty or invalid."""
    field = data_set.fields.filter(pk=field_id).first()
    if field is None:
        raise ValidationError({"keyColumn": "Unknown data set field."})
    try:
        key = normalize_cell(field.field_type, value)
    except FieldValueError:
        return None
    if key is None:
        return None
    # KeyTransform, not a `cells__<id>` lookup: ids may contain "__".
    return (
        DataSetRecord.objects.filter(data_set=data_set)
        .annotate(key=KeyTransform(field_id, "cells"))
        .filter(key=key)
        .order_by("created_date", "id")
        .first()
    )
