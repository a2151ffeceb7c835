"""JSON Schemas of the outgoing events, one per type: what a receiver can rely on, with each
field's type and allowed values.

The one description of the bodies: the OpenAPI schema's webhooks section, GET
/api/v1/event-types and docs/events.md are all made from these, and a test validates every
example body (events/example_bodies.json, rendered by the real payload code) against its
schema, so the schemas cannot drift from what is sent.
"""

from __future__ import annotations

from typing import Any

from datasets.models import DataSetFieldType
from kernel.catalog import DESCRIPTIONS, PING, EventType
from workflows.models.forms import FormResponseStatus
from workflows.models.runs import ApprovalStatus, TaskStatus
from workflows.models.templates import FieldType, TaskType

Schema = dict[str, Any]

ID: Schema = {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$",
              "description": "A 22-character URL-safe base64 id."}
DATE: Schema = {"type": "string", "format": "date-time",
                "description": "ISO-8601 in UTC with milliseconds, e.g. 2025-03-04T09:30:00.000Z."}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Schema], optional: tuple[str, ...] = (),
            description: str = "") -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _enum(choices, description: str) -> Schema:
    return {"type": "string", "enum": [value for value, _ in choices.choices],
            "description": description}


USER: Schema = _nullable({"title": "User", **_object(
    {"id": ID, "email": {"type": "string", "format": "email"},
     "username": {"type": "string", "description": "Full name, else the username."}},
    description="A user; null when unknown (e.g. a change made by an incoming webhook).",
)})
COMPLETION = {"completedDate": DATE, "completedBy": USER}
FIELD_VALUE: Schema = {
    "anyOf": [{"type": "string"}, {"type": "null"}],
    "description": "The value as text (dates ISO-8601, several choices comma-separated); null "
                   "when empty.",
}
FORM_FIELD: Schema = _object({
    "id": ID,
    "hidden": {"type": "boolean", "description": "Hidden by a conditional rule."},
    "updatedDate": DATE, "updatedBy": USER,
    "label": {"type": "string"},
    "type": _enum(FieldType, "The form field's type."),
    "value": FIELD_VALUE,
})
TASK_FIELDS: dict[str, Schema] = {
    "id": ID, "updatedDate": DATE, "updatedBy": USER, **COMPLETION,
    "taskTemplateGroupId": {**ID, "description": "The task template's id across versions "
                                                 "(a webhook's taskId)."},
    "taskType": _enum(TaskType, "Standard, or Approval for a task that approves others."),
    "status": _enum(TaskStatus, "Completed when checked."),
    "stopped": {"type": "boolean", "description": "Waiting for a stop task before it."},
    "hidden": {"type": "boolean", "description": "Hidden by a conditional rule."},
    "name": {"type": "string"},
    "formFields": {"type": "array", "items": FORM_FIELD},
    "checklist": _object({"id": ID, "name": {"type": "string"}},
                         description="The workflow run the task belongs to."),
}
TASK: Schema = _object(TASK_FIELDS, optional=("completedDate", "completedBy"))
RUN_TASK: Schema = _object(
    {name: TASK_FIELDS[name] for name in ("id", "updatedDate", "updatedBy", "completedDate",
                                          "completedBy", "status", "stopped", "hidden", "name",
                                          "taskTemplateGroupId")},
    optional=("completedDate", "completedBy"),
)
AUDIT: Schema = _object({"createdDate": DATE, "createdBy": USER, "updatedDate": DATE,
                         "updatedBy": USER})
RUN: Schema = _object({
    "id": ID, "name": {"type": "string"}, "audit": AUDIT, **COMPLETION,
    "template": _object({"id": ID, "name": {"type": "string"}}, description="The workflow."),
    "formFields": {"type": "array", "items": FORM_FIELD},
    "tasks": {"type": "array", "items": RUN_TASK},
}, optional=("completedDate", "completedBy"))
APPROVAL: Schema = _object({
    "reviewedBy": USER,
    "status": _enum(ApprovalStatus, "The decision."),
    "comment": {"type": "string"},
    "task": {**TASK, "description": "The task that was approved or rejected."},
})
RECORD: Schema = _object({
    "recordId": ID, "audit": AUDIT, "organizationId": ID, "dataSetId": ID,
    "dataSetName": {"type": "string"},
    "dataSetUrl": {"type": "string", "format": "uri",
                   "description": "The data set in this API."},
    "cells": {
        "type": "object", "propertyNames": {"pattern": ID["pattern"]},
        "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"},
                                           {"type": "null"}]},
        "description": "Values by data set field id: text, a number, or an ISO-8601 date-time "
                       f"(field types: {', '.join(v for v, _ in DataSetFieldType.choices)}).",
    },
})
FORM_RESPONSE: Schema = _object({
    "id": ID, "status": _enum(FormResponseStatus, "Completed for a completed response."),
    "form": _object({"id": ID, "name": {"type": "string"}}),
    "audit": AUDIT, **COMPLETION,
    "formFields": {"type": "array", "items": _object({
        "id": ID, "label": {"type": "string"}, "type": _enum(FieldType, "The field's type."),
        "value": FIELD_VALUE,
    })},
}, optional=("completedDate", "completedBy"))
PING_DATA: Schema = _object({
    "webhookId": ID, "url": {"type": "string", "format": "uri"},
    "message": {"type": "string"},
})

DATA: dict[str, Schema] = {
    EventType.TASK_CHECKED_UNCHECKED: TASK,
    EventType.TASK_READY: TASK,
    EventType.TASK_NOT_READY: TASK,
    EventType.TASK_APPROVED: APPROVAL,
    EventType.TASK_REJECTED: APPROVAL,
    EventType.CHECKLIST_CREATED: RUN,
    EventType.CHECKLIST_COMPLETED: RUN,
    EventType.DATA_SET_RECORD_CREATED: RECORD,
    EventType.DATA_SET_RECORD_UPDATED: RECORD,
    EventType.DATA_SET_RECORD_DELETED: RECORD,
    EventType.FORM_RESPONSE_COMPLETED: FORM_RESPONSE,
    PING: PING_DATA,
}


def event_schema(event_type: str) -> Schema:
    """The whole body of an event of this type: the envelope with its `data`."""
    description = DESCRIPTIONS.get(event_type, "A test delivery to one webhook.")  # type: ignore
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{event_type} event",
        "description": description,
        **_object({
            "id": {**ID, "description": "The event id, also the webhook-id header: the same "
                                        "on every try and redelivery."},
            "createdDate": {**DATE, "description": "When the change happened."},
            "data": DATA[event_type],
            "type": {"const": event_type},
            "test": {"const": True, "description": "Present only on a test sent from the "
                                                   "admin or POST /webhooks/{id}/test."},
        }, optional=("test",)),
    }


def all_event_schemas() -> dict[str, Schema]:
    return {event_type: event_schema(event_type) for event_type in DATA}


def _type_text(schema: Schema) -> str:
    if "const" in schema:
        return f"`{str(schema['const']).lower() if schema['const'] is True else schema['const']}`"
    if "anyOf" in schema:
        return " or ".join(_type_text(branch) for branch in schema["anyOf"])
    if schema.get("title") == "User":
        return "user"
    text = schema.get("type", "any")
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text


def field_rows(schema: Schema, path: str = "") -> list[tuple[str, str, str, str]]:
    """The schema as table rows: (path, type, allowed values, description), depth first, for
    docs/events.md. A nullable object's fields are listed under it."""
    rows: list[tuple[str, str, str, str]] = []
    inner = schema
    if "anyOf" in schema:  # X or null: describe X's fields
        inner = next((b for b in schema["anyOf"] if b.get("type") != "null"), schema)
    allowed = ", ".join(f"`{v}`" for v in schema.get("enum", []))
    if path:
        rows.append((path, _type_text(schema), allowed, schema.get("description", "")
                     or inner.get("description", "")))
    if inner.get("title") == "User":
        return rows  # described once, at the top of docs/events.md
    if inner.get("type") == "object":
        required = set(inner.get("required", []))
        for name, sub in inner.get("properties", {}).items():
            child = f"{path}.{name}" if path else name
            sub_rows = field_rows(sub, child)
            if name not in required and sub_rows:
                first = sub_rows[0]
                sub_rows[0] = (first[0], first[1] + " (optional)", first[2], first[3])
            rows += sub_rows
        extra = inner.get("additionalProperties")
        if isinstance(extra, dict):
            rows += field_rows(extra, f"{path}.<field id>")
    elif inner.get("type") == "array":
        rows += field_rows(inner["items"], f"{path}[]")
    return rows
