"""Payload builders: the `data` of each event, key for key as in Process Street's examples.

Kept apart from transport: these functions turn domain objects into plain dicts; the writer
wraps them in the envelope and serialises them once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from accounts.users import user_ref
from kernel.timefmt import iso_ms
from workflows.values import value_as_text


def render_form_field(field_value) -> dict[str, Any]:
    template = field_value.template
    return {
        "id": field_value.id,
        "hidden": field_value.hidden,
        "updatedDate": iso_ms(field_value.updated_date),
        "updatedBy": user_ref(field_value.updated_by),
        "label": template.label,
        "type": template.field_type,
        "value": value_as_text(template.field_type, field_value.value),
    }


def _completion(obj) -> dict[str, Any]:
    if not obj.completed_date:
        return {}
    return {
        "completedDate": iso_ms(obj.completed_date),
        "completedBy": user_ref(obj.completed_by),
    }


def render_run_task(task) -> dict[str, Any]:
    """A task as listed inside a run (the captured ChecklistCreated shape)."""
    return {
        "id": task.id,
        "updatedDate": iso_ms(task.updated_date),
        "updatedBy": user_ref(task.updated_by),
        **_completion(task),
        "status": task.status,
        "stopped": task.stopped,
        "hidden": task.hidden,
        "name": task.name,
        "taskTemplateGroupId": task.template.group_id,
    }


def render_task(task, field_values=None) -> dict[str, Any]:
    """A task event's data: the spec's approval example's task, whose `checklist` names the
    run it belongs to; TaskCheckedUnchecked, TaskReady and TaskNotReady share it."""
    if field_values is None:
        field_values = (
            task.run.field_values.filter(template__task_template_id=task.template_id)
            .select_related("template", "updated_by")
        )
    return {
        "id": task.id,
        "updatedDate": iso_ms(task.updated_date),
        "updatedBy": user_ref(task.updated_by),
        **_completion(task),
        "taskTemplateGroupId": task.template.group_id,
        "taskType": task.task_type,
        "status": task.status,
        "stopped": task.stopped,
        "hidden": task.hidden,
        "name": task.name,
        "formFields": [render_form_field(v) for v in field_values],
        "checklist": {"id": task.run_id, "name": task.run.name},
    }


def render_run(run) -> dict[str, Any]:
    tasks = run.tasks.select_related("template", "updated_by", "completed_by").order_by("order")
    values = run.field_values.select_related("template", "updated_by").order_by(
        "template__task_template__order", "template__order"
    )
    return {
        "id": run.id,
        "name": run.name,
        "audit": {
            "createdDate": iso_ms(run.created_date),
            "createdBy": user_ref(run.created_by),
            "updatedDate": iso_ms(run.updated_date),
            "updatedBy": user_ref(run.updated_by),
        },
        **_completion(run),
        "template": {"id": run.workflow_id, "name": run.workflow.name},
        "formFields": [render_form_field(v) for v in values],
        "tasks": [render_run_task(t) for t in tasks],
    }


def render_approval(approval) -> dict[str, Any]:
    return {
        "reviewedBy": user_ref(approval.reviewed_by),
        "status": approval.status,
        "comment": approval.comment,
        "task": render_task(approval.subject_task),
    }


def data_set_url(data_set_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/api/v1/data-sets/{data_set_id}"


def ordered_cells(cells: dict, data_set) -> dict:
    """Cells in the data set's field order: PostgreSQL's jsonb does not keep key order."""
    # Reads the fields through `data_set.fields.all()`, so a data set whose fields the operation
    # already loaded (datasets.services.data_set_fields) costs no query here.
    order = [f.id for f in sorted(data_set.fields.all(), key=lambda f: (f.order, f.id))]
    ordered = {field_id: cells[field_id] for field_id in order if field_id in cells}
    ordered.update((key, value) for key, value in cells.items() if key not in ordered)
    return ordered


def render_record(record, data_set) -> dict[str, Any]:
    return {
        "recordId": record.id,
        "audit": {
            "createdDate": iso_ms(record.created_date),
            "createdBy": user_ref(record.created_by),
            "updatedDate": iso_ms(record.updated_date),
            "updatedBy": user_ref(record.updated_by),
        },
        "organizationId": data_set.organization_id,
        "dataSetId": data_set.id,
        "dataSetName": data_set.name,
        "dataSetUrl": data_set_url(data_set.id),
        "cells": ordered_cells(record.cells, data_set),
    }


def render_form_response(response) -> dict[str, Any]:
    form = response.form
    fields = list(form.fields.order_by("order"))
    return {
        "id": response.id,
        "status": response.status,
        "form": {"id": form.id, "name": form.name},
        "audit": {
            "createdDate": iso_ms(response.created_date),
            "createdBy": user_ref(response.created_by),
            "updatedDate": iso_ms(response.updated_date),
            "updatedBy": user_ref(response.completed_by or response.created_by),
        },
        **_completion(response),
        "formFields": [
            {
                "id": field.id,
                "label": field.label,
                "type": field.field_type,
                "value": value_as_text(field.field_type, response.answers.get(field.id)),
            }
            for field in fields
        ],
    }


def render_ping(webhook_id: str, url: str) -> dict[str, Any]:
    return {
        "webhookId": webhook_id,
        "url": url,
        "message": "This is a test delivery. Answer with any 2xx status to acknowledge it.",
    }
