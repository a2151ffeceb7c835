"""Derived state of a run: hidden, stopped, approvable and ready for each task, hidden for each
form field value. Pure: it reads plain data and returns plain data, so it is cheap to test and
the services decide what to save.

* hidden (task): its default, flipped by conditional rules (see workflows.conditions).
* hidden (field): its own default flipped by rules, or the task it belongs to is hidden (a field
  on a hidden task cannot be seen or filled in).
* stopped: some earlier task is a visible, not completed stop task. A hidden stop task stops
  nothing. A stop task is not stopped by itself, only by an earlier one, so with several stop
  tasks in a row each one waits for the ones before it.
* approvable (approval tasks only): it has at least one visible subject task and every visible
  subject task is completed (submitted for approval). Hidden subject tasks cannot be completed,
  so waiting for them would block the approval forever; they are left out.
* ready: not hidden, not stopped, and approvable if it is an approval task. Completion does not
  enter into it: readiness says whether the task may be worked on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workflows.conditions import FieldReading, Rule, evaluate_rules
from workflows.models.templates import TaskType


@dataclass(frozen=True)
class TaskInput:
    id: str  # the task template id: rules and approval subjects refer to templates
    order: int
    is_stop_task: bool = False
    hidden_by_default: bool = False
    completed: bool = False
    is_approval: bool = False
    subject_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldInput:
    id: str  # the form field template id, the rules' widgetId
    task_id: str
    field_type: str
    value: object = None
    hidden_by_default: bool = False


@dataclass(frozen=True)
class TaskState:
    hidden: bool
    stopped: bool
    approvable: bool
    ready: bool


@dataclass(frozen=True)
class RunState:
    tasks: dict[str, TaskState]
    fields_hidden: dict[str, bool]


def compute_run_state(
    tasks: Sequence[TaskInput], fields: Iterable[FieldInput], rules: Iterable[Rule]
) -> RunState:
    fields = list(fields)
    readings = {f.id: FieldReading(f.field_type, f.value) for f in fields}
    visibility = evaluate_rules(rules, readings)

    ordered = sorted(tasks, key=lambda t: t.order)
    hidden = {t.id: visibility.task_hidden(t.id, t.hidden_by_default) for t in ordered}
    completed = {t.id: t.completed for t in ordered}

    states: dict[str, TaskState] = {}
    blocked = False
    for task in ordered:
        stopped = blocked
        if task.is_stop_task and not hidden[task.id] and not task.completed:
            blocked = True
        approvable = False
        if task.is_approval:
            visible_subjects = [s for s in task.subject_ids if s in hidden and not hidden[s]]
            approvable = bool(visible_subjects) and all(completed[s] for s in visible_subjects)
        ready = not hidden[task.id] and not stopped and (approvable or not task.is_approval)
        states[task.id] = TaskState(hidden[task.id], stopped, approvable, ready)

    fields_hidden = {
        f.id: hidden.get(f.task_id, False) or visibility.field_hidden(f.id, f.hidden_by_default)
        for f in fields
    }
    return RunState(tasks=states, fields_hidden=fields_hidden)


def state_of_run(
    tasks: Iterable, values: Iterable, subjects: dict[str, tuple[str, ...]], rules: Iterable[Rule]
) -> RunState:
    """The same, read from a run's Task and FormFieldValue instances (templates loaded)."""
    return compute_run_state(
        [
            TaskInput(
                id=t.template_id, order=t.order, is_stop_task=t.template.stop_task,
                hidden_by_default=t.template.hidden_by_default, completed=t.completed,
                is_approval=t.task_type == TaskType.APPROVAL,
                subject_ids=subjects.get(t.template_id, ()),
            )
            for t in tasks
        ],
        [
            FieldInput(
                id=v.template_id, task_id=v.template.task_template_id,
                field_type=v.template.field_type, value=v.value,
                hidden_by_default=v.template.hidden_by_default,
            )
            for v in values
        ],
        rules,
    )
