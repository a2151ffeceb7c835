"""A small table-driven harness for readiness scenarios.

A scenario is a workflow definition (tasks and rules, as `workflows.builder.create_workflow`
takes them) and a list of steps. Each step is one action (start the run, check or uncheck a task,
set form fields, approve or reject, migrate to a new version defined inline) and the events that
action must write, read back from the Event rows the outbox stored during the step, in the order
they happened:

* `ready`: only TaskReady / TaskNotReady, as (event type, task name);
* `full` (optional): also the run, check/uncheck and approval events, to show the full order.

Tasks are referred to by name and form fields by label; a field's key is its label, so a version
built inline keeps the same keys (and group ids) as the one before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from events.models import Event
from tests.domain import factories as f
from tests.support import builders
from workflows import services
from workflows.builder import create_version
from workflows.models import FormFieldTemplate, Task, WorkflowRun

READY, NOT_READY = "TaskReady", "TaskNotReady"
CHECKED = "TaskCheckedUnchecked/checked"
UNCHECKED = "TaskCheckedUnchecked/unchecked"
APPROVED, REJECTED = "TaskApproved", "TaskRejected"
CREATED, COMPLETED = "ChecklistCreated", "ChecklistCompleted"
RUN = "(run)"  # the name run events are listed under

READINESS_TYPES = frozenset({READY, NOT_READY})
FULL_TYPES = frozenset({
    READY, NOT_READY, "TaskCheckedUnchecked", APPROVED, REJECTED, CREATED, COMPLETED,
})


# Definitions -------------------------------------------------------------------------------


def task(name: str, *fields: dict, **extra) -> dict:
    return {"key": name, "name": name, "formFields": list(fields), **extra}


def stop(name: str, *fields: dict, **extra) -> dict:
    return task(name, *fields, stopTask=True, **extra)


def hidden(name: str, *fields: dict, **extra) -> dict:
    return task(name, *fields, hiddenByDefault=True, **extra)


def approval(name: str, subjects: list[str], **extra) -> dict:
    return task(name, taskType="Approval", subjects=subjects, **extra)


def fld(label: str, field_type: str = "Text", **extra) -> dict:
    return {"key": label, "label": label, "type": field_type, **extra}


def when(label: str, operator: str, value: Any = None) -> dict:
    return f.clause(label, operator, value)


def show(tasks: list[str], *clauses: dict) -> dict:
    return f.rule("Show", list(clauses), tasks=tasks)


def hide(tasks: list[str], *clauses: dict) -> dict:
    return f.rule("Hide", list(clauses), tasks=tasks)


# Actions -----------------------------------------------------------------------------------


@dataclass
class Context:
    org: Any
    actor: Any
    reviewer: Any
    workflow: Any
    run: WorkflowRun | None = None
    names: dict[str, str] = field(default_factory=dict)  # subject id -> display name

    def task(self, name: str) -> Task:
        return Task.objects.select_related("template").get(run=self.run, name=name)

    def field_ids(self, values: Mapping[str, Any], version) -> dict[str, Any]:
        templates = {t.label: t.id for t in FormFieldTemplate.objects.filter(version=version)}
        return {templates[label]: value for label, value in values.items()}


Action = Callable[[Context], None]


def start(**values: Any) -> Action:
    def action(ctx: Context) -> None:
        version = ctx.workflow.latest_version()
        ctx.run = services.start_run(
            ctx.workflow, actor=ctx.actor, field_values=ctx.field_ids(values, version)
        )

    action.__name__ = f"start({values})"
    return action


def check(name: str) -> Action:
    def action(ctx: Context) -> None:
        services.check_task(ctx.task(name), actor=ctx.actor)

    action.__name__ = f"check({name})"
    return action


def uncheck(name: str) -> Action:
    def action(ctx: Context) -> None:
        services.uncheck_task(ctx.task(name), actor=ctx.actor)

    action.__name__ = f"uncheck({name})"
    return action


def set_fields(**values: Any) -> Action:
    def action(ctx: Context) -> None:
        ctx.run.refresh_from_db()
        services.set_form_fields(
            ctx.run, ctx.field_ids(values, ctx.run.version_id), actor=ctx.actor
        )

    action.__name__ = f"set_fields({values})"
    return action


def _review(service, approval_name: str, subject: str | None) -> Action:
    def action(ctx: Context) -> None:
        subject_task = ctx.task(subject) if subject else None
        service(ctx.task(approval_name), actor=ctx.reviewer, subject_task=subject_task)

    action.__name__ = f"{service.__name__}({approval_name}, {subject})"
    return action


def approve(approval_name: str, subject: str | None = None) -> Action:
    return _review(services.approve, approval_name, subject)


def reject(approval_name: str, subject: str | None = None) -> Action:
    return _review(services.reject, approval_name, subject)


def migrate(tasks: list[dict], rules: list[dict] = ()) -> Action:
    def action(ctx: Context) -> None:
        version = create_version(ctx.workflow, tasks=tasks, rules=list(rules))
        services.migrate_run_to_version(ctx.run, version, actor=ctx.actor)

    action.__name__ = f"migrate({[t['name'] for t in tasks]})"
    return action


# Steps and scenarios -----------------------------------------------------------------------


@dataclass
class Step:
    action: Action
    ready: list[tuple[str, str]]
    full: list[tuple[str, str]] | None = None
    # Stored readiness afterwards, for the tasks named: proves silent changes were saved.
    stored: dict[str, bool] | None = None
    raises: type[BaseException] | None = None


@dataclass
class Scenario:
    name: str
    tasks: list[dict]
    steps: list[Step]
    rules: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


def event_ids() -> set[str]:
    return set(Event.objects.values_list("pk", flat=True))


def new_events(before: set[str]) -> list[Event]:
    """Events written since `before`, in the order they happened."""
    rows = sorted(Event.objects.exclude(pk__in=before), key=lambda e: e.created_date)
    dates = [e.created_date for e in rows]
    assert len(set(dates)) == len(dates), "events with equal dates: their order is ambiguous"
    return rows


def _remember_names(ctx: Context) -> None:
    if ctx.run is None:
        return
    ctx.names[ctx.run.pk] = RUN
    ctx.names.update(Task.objects.filter(run=ctx.run).values_list("pk", "name"))


def _label(ctx: Context, event: Event) -> tuple[str, str]:
    kind = f"{event.type}/{event.direction}" if event.direction else event.type
    return kind, ctx.names.get(event.subject_id, event.subject_id)


def _check_readiness_body(ctx: Context, event: Event) -> None:
    """Every readiness event: the spec's task shape, about this run's task, still to be done."""
    body = json.loads(event.body)
    assert body["type"] == event.type and body["id"] == event.pk
    data = body["data"]
    assert data["id"] == event.subject_id
    assert data["checklist"]["id"] == ctx.run.pk == event.run_id
    assert data["name"] == ctx.names[event.subject_id]
    assert data["status"] == "NotCompleted"
    if event.type == READY:
        assert (data["hidden"], data["stopped"]) == (False, False)


def run_step(ctx: Context, step: Step) -> None:
    before = event_ids()
    _remember_names(ctx)
    if step.raises is not None:
        snapshot = _task_rows(ctx)
        try:
            step.action(ctx)
        except step.raises:
            pass
        else:
            raise AssertionError(f"{step.action.__name__} did not raise {step.raises}")
        assert _task_rows(ctx) == snapshot, "a failed change left task changes behind"
    else:
        step.action(ctx)
    _remember_names(ctx)
    events = new_events(before)
    where = step.action.__name__
    assert [_label(ctx, e) for e in events if e.type in READINESS_TYPES] == step.ready, where
    if step.full is not None:
        assert [_label(ctx, e) for e in events if e.type in FULL_TYPES] == step.full, where
    for event in events:
        if event.type in READINESS_TYPES:
            _check_readiness_body(ctx, event)
    if step.stored is not None:
        stored = {t.name: t.ready for t in Task.objects.filter(run=ctx.run)}
        assert {name: stored[name] for name in step.stored} == step.stored, where
    # The stored state is what the rules say it is: recomputing it changes and fires nothing.
    if ctx.run is not None:
        before = event_ids()
        services.refresh_run_state(ctx.run)
        assert new_events(before) == [], f"{where}: stored readiness was stale"


def _task_rows(ctx: Context) -> list[tuple]:
    if ctx.run is None:
        return []
    return list(
        Task.objects.filter(run=ctx.run).order_by("order")
        .values_list("name", "status", "hidden", "stopped", "ready")
    )


def play(scenario: Scenario) -> Context:
    org = builders.organization()
    ctx = Context(
        org=org, actor=builders.user(org), reviewer=builders.user(org),
        workflow=f.workflow(org, scenario.tasks, scenario.rules, name=scenario.name),
    )
    for step in scenario.steps:
        run_step(ctx, step)
    return ctx
