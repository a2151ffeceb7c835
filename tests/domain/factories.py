"""Small builders for domain tests: an organization with members, workflows from task lists."""

from __future__ import annotations

from itertools import count

from accounts.models import Role
from accounts.services import add_member, create_organization
from workflows.builder import create_workflow
from workflows.models import FormFieldValue, Task, WorkflowRun

_numbers = count(1)


def organization(name: str = "Acme"):
    return create_organization(f"{name} {next(_numbers)}")


def member(org, email: str | None = None, role: str = Role.MEMBER):
    email = email or f"user{next(_numbers)}@example.com"
    return add_member(org, email, role)


def user(org, email: str | None = None):
    return member(org, email).user


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
