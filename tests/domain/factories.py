"""Small builders for domain tests: workflows from task lists, and views of a run's state.
Organizations and their members come from tests/support/builders.py."""

from __future__ import annotations

from workflows.builder import create_workflow
from workflows.models import FormFieldValue, Task, WorkflowRun


def task(key: str, **extra) -> dict:
    return {"key": key, "name": extra.pop("name", key.title()), **extra}


def approval(key: str, subjects: list[str], **extra) -> dict:
    return task(key, taskType="Approval", subjects=subjects, **extra)


def field(key: str, field_type: str = "Text", **extra) -> dict:
    return {"key": key, "label": extra.pop("label", key.title()), "type": field_type, **extra}


def rule(action: str, clauses: list[dict], *, tasks=(), fields=(), any_of=None) -> dict:
    """One rule; `clauses` are and-ed; `any_of` (a list of clause lists) gives several groups."""
    groups = any_of if any_of is not None else [clauses]
    return {
        "condition": {"or": [{"and": group} for group in groups]},
        "action": action,
        "targets": {"tasks": list(tasks), "fields": list(fields)},
    }


def clause(field_key: str, operator: str, value=None) -> dict:
    return {"field": field_key, "operator": operator, "value": value}


def workflow(org, tasks: list[dict], rules: list[dict] = (), name: str = "Onboarding"):
    return create_workflow(org, name, tasks=tasks, rules=list(rules))


def tasks_of(run: WorkflowRun) -> dict[str, Task]:
    """The run's tasks by task template name, fresh from the database."""
    return {t.name: t for t in Task.objects.filter(run=run).select_related("template")}


def values_of(run: WorkflowRun) -> dict[str, FormFieldValue]:
    """The run's form field values by label, fresh from the database."""
    rows = FormFieldValue.objects.filter(run=run).select_related("template")
    return {v.template.label: v for v in rows}


def field_id(run: WorkflowRun, label: str) -> str:
    return values_of(run)[label].template_id


def states(run: WorkflowRun) -> dict[str, tuple]:
    """name -> (status, hidden, stopped, ready): one exact picture to assert against."""
    return {
        name: (t.status, t.hidden, t.stopped, t.ready) for name, t in tasks_of(run).items()
    }


def writes(captured) -> list[str]:
    """The INSERT/UPDATE/DELETE statements among queries captured by CaptureQueriesContext."""
    return [
        q["sql"] for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
