"""The only code that changes workflow runs, their tasks, form field values and approvals.

Every function is one domain change (one transaction, its events written at the end). Events
come from model signals reading what a save reports as changed (`update_fields`), so each
service loads the run as one aggregate, remembers the values it loaded, changes it in memory,
recomputes the derived state (workflows.readiness) and saves each row at most once, only when
one of its fields changed, and with exactly the fields that changed. Saves go run first, then
form field values, then tasks in order; a run that becomes Completed is saved last, so its
completion follows the task change that caused it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from kernel.catalog import EventType
from kernel.domain_errors import DomainConflict
from kernel.outbox import domain_change, suppressed
from workflows.conditions import Rule, load_rules
from workflows.models import (
    Approval,
    ApprovalStatus,
    FieldType,
    FormFieldTemplate,
    FormFieldValue,
    RunStatus,
    Task,
    TaskStatus,
    TaskTemplate,
    TaskType,
    VersionStatus,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from workflows.readiness import RunState, state_of_run
from workflows.values import (
    FieldValueError,
    check_values,
    is_empty,
    normalize_value,
    organization_member_emails,
    parse_due_date,
    resolve_members,
)

RUN_FIELDS = ("version_id", "status", "completed_date", "completed_by_id")
TASK_FIELDS = (
    "template_id", "name", "order", "task_type", "status", "completed_date", "completed_by_id",
    "stopped", "hidden", "ready",
)
VALUE_FIELDS = ("template_id", "value", "hidden")


def _baseline(obj, names: tuple[str, ...]) -> None:
    """The values `_save_if_changed` compares with: as loaded, then as last saved."""
    obj._service_baseline = {name: getattr(obj, name) for name in names}


def _save_if_changed(obj, names: tuple[str, ...], actor) -> None:
    """Insert a new row; update an existing one only with the fields that changed, so a save
    always means a change and its `update_fields` tell receivers exactly that change."""
    if obj._state.adding:
        obj.save()
    else:
        before = obj._service_baseline
        changed = [name.removesuffix("_id") for name in names if before[name] != getattr(obj, name)]
        if not changed:
            return
        if actor is not None:
            obj.updated_by = actor
            changed.append("updated_by")
        obj.save(update_fields=[*changed, "updated_date"])
    _baseline(obj, names)


class RunAggregate:
    """A run with its tasks (in order), form field values and its version's logic, in memory."""

    def __init__(self, run, tasks, values, subjects, rules) -> None:
        self.run: WorkflowRun = run
        self.tasks: list[Task] = tasks
        self.values: list[FormFieldValue] = values
        self.subjects: dict[str, tuple[str, ...]] = subjects
        self.rules: list[Rule] = rules
        for obj, names in ((run, RUN_FIELDS), *((t, TASK_FIELDS) for t in tasks),
                           *((v, VALUE_FIELDS) for v in values)):
            if not obj._state.adding:
                _baseline(obj, names)
        self.state: RunState = self.derive()

    def derive(self) -> RunState:
        self.state = state_of_run(self.tasks, self.values, self.subjects, self.rules)
        return self.state

    def subjects_of(self, approval_task: Task) -> list[Task]:
        """The visible tasks an approval task covers."""
        ids = self.subjects.get(approval_task.template_id, ())
        return [t for t in self.tasks if t.template_id in ids and not self.task_hidden(t)]

    def approvals_of(self, task: Task) -> list[Task]:
        return [t for t in self.tasks if task.template_id in self.subjects.get(t.template_id, ())]

    def task_hidden(self, task: Task) -> bool:
        return self.state.tasks[task.template_id].hidden


def load_version_logic(version_id: str) -> tuple[dict[str, tuple[str, ...]], list[Rule]]:
    """Approval subjects and rules of a version, in four queries whatever their number."""
    subjects: dict[str, tuple[str, ...]] = {}
    links = TaskTemplate.subject_templates.through.objects.filter(
        from_tasktemplate__version_id=version_id
    ).values_list("from_tasktemplate_id", "to_tasktemplate_id")
    for approval_id, subject_id in links:
        subjects[approval_id] = (*subjects.get(approval_id, ()), subject_id)
    return subjects, load_rules(version_id)


def load_run(run: WorkflowRun | str) -> RunAggregate:
    """The run (locked against concurrent changes where the database can), in seven queries."""
    pk = run.pk if isinstance(run, WorkflowRun) else run
    run = (
        WorkflowRun.objects.select_for_update(of=("self",))
        .select_related("organization", "version").get(pk=pk)
    )
    tasks = list(Task.objects.filter(run=run).select_related("template").order_by("order"))
    values = list(FormFieldValue.objects.filter(run=run).select_related("template"))
    for row in (*tasks, *values):
        row.run = run
    subjects, rules = load_version_logic(run.version_id)
    return RunAggregate(run, tasks, values, subjects, rules)


def missing_required(agg: RunAggregate) -> dict[str, str]:
    state = agg.derive()
    return {
        v.template_id: "This field is required."
        for v in agg.values
        if v.template.required and not state.fields_hidden[v.template_id] and is_empty(v.value)
    }


def _all_visible_done(agg: RunAggregate) -> bool:
    visible = [t for t in agg.tasks if not agg.state.tasks[t.template_id].hidden]
    return bool(visible) and all(t.completed for t in visible)


def settle(agg: RunAggregate, actor, *, auto_complete: bool = False, after_run_insert=None) -> None:
    """Recomputes the derived state and saves what changed, in event order."""
    state = agg.derive()
    if (auto_complete and agg.run.status == RunStatus.ACTIVE and _all_visible_done(agg)
            and not missing_required(agg)):
        _complete(agg.run, actor)
    for task in agg.tasks:
        derived = state.tasks[task.template_id]
        task.hidden, task.stopped, task.ready = derived.hidden, derived.stopped, derived.ready
    for value in agg.values:
        value.hidden = state.fields_hidden[value.template_id]
    before = getattr(agg.run, "_service_baseline", {}).get("status")
    completing = agg.run.status == RunStatus.COMPLETED and before != RunStatus.COMPLETED
    if not completing:
        inserting = agg.run._state.adding
        _save_if_changed(agg.run, RUN_FIELDS, actor)
        if inserting and after_run_insert:
            after_run_insert()
    for value in agg.values:
        _save_if_changed(value, VALUE_FIELDS, actor)
    for task in agg.tasks:
        _save_if_changed(task, TASK_FIELDS, actor)
    if completing:
        _save_if_changed(agg.run, RUN_FIELDS, actor)


def _migrate(agg: RunAggregate, version: WorkflowVersion, actor) -> None:
    run = agg.run
    run.version = version
    _save_if_changed(run, RUN_FIELDS, actor)
    tasks_by_group = {t.template.group_id: t for t in agg.tasks}
    tasks = []
    for template in TaskTemplate.objects.filter(version=version).order_by("order"):
        task = tasks_by_group.pop(template.group_id, None) or Task(run=run, updated_by=actor)
        task.template, task.name, task.order = template, template.name, template.order
        task.task_type = template.task_type
        tasks.append(task)
    values_by_group = {v.template.group_id: v for v in agg.values}
    field_templates = list(
        FormFieldTemplate.objects.filter(version=version).select_related("task_template")
    )
    members = None
    if any(ft.field_type == FieldType.MEMBERS for ft in field_templates):
        members = organization_member_emails(run.organization)
    values = []
    for template in field_templates:
        value = values_by_group.pop(template.group_id, None)
        value = value or FormFieldValue(run=run, updated_by=actor)
        try:
            value.value = normalize_value(
                template.field_type, value.value, options=template.options, member_emails=members
            )
        except FieldValueError:
            value.value = None  # the field changed type or options: the old value does not fit
        value.template = template
        values.append(value)
    for dropped in (*tasks_by_group.values(), *values_by_group.values()):
        dropped.delete()
    agg.tasks, agg.values = tasks, values
    agg.subjects, agg.rules = load_version_logic(version.pk)


def _writable(agg: RunAggregate) -> None:
    if agg.run.status == RunStatus.ARCHIVED:
        raise DomainConflict("The workflow run is archived.", field="run", code="run_archived")


def _complete(obj: Task | WorkflowRun, actor) -> None:
    obj.status = TaskStatus.COMPLETED if isinstance(obj, Task) else RunStatus.COMPLETED
    obj.completed_date = timezone.now()
    obj.completed_by = actor


def _reopen(agg: RunAggregate, task: Task) -> None:
    """A task back to NotCompleted. Approvals covering it no longer hold, and a completed run
    that has an open task again is active."""
    task.status, task.completed_date, task.completed_by = TaskStatus.NOT_COMPLETED, None, None
    for approval_task in agg.approvals_of(task):
        if approval_task.completed:
            _reopen(agg, approval_task)
    if agg.run.status == RunStatus.COMPLETED:
        agg.run.status, agg.run.completed_date, agg.run.completed_by = RunStatus.ACTIVE, None, None


def _task_in(agg: RunAggregate, task: Task) -> Task:
    for candidate in agg.tasks:
        if candidate.pk == task.pk:
            return candidate
    raise ValidationError({"task": "The task does not belong to this run."})


def _require_workable(agg: RunAggregate, task: Task, verb: str) -> None:
    state = agg.state.tasks[task.template_id]
    if state.hidden:
        raise DomainConflict(f"A hidden task cannot be {verb}.", field="task", code="task_hidden")
    if state.stopped:
        raise DomainConflict(
            f"The task is stopped by an earlier stop task and cannot be {verb}.",
            field="task", code="task_stopped",
        )


@domain_change
def start_run(
    workflow: Workflow, *, actor, name: str | None = None, due_date: datetime | str | None = None,
    shared: bool = False, assignee_emails: Iterable[str] = (), runner=None,
    field_values: Mapping[str, object] | None = None, version: WorkflowVersion | None = None,
) -> WorkflowRun:
    if version is None:
        version = workflow.latest_version()
    if version is None or version.workflow_id != workflow.pk:
        raise ValidationError({"version": "The workflow has no such finished version."})
    if version.status == VersionStatus.DRAFT:
        raise ValidationError({"version": "A draft version cannot be run."})
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 255):
        raise ValidationError({"name": "Enter a non-empty name of at most 255 characters."})
    organization = workflow.organization
    assignees = resolve_members(organization, assignee_emails, "assignees")
    if runner is not None:
        runner = resolve_members(organization, [runner], "runner")[0]
    field_templates = list(
        FormFieldTemplate.objects.filter(version=version).select_related("task_template")
    )
    normalized = check_values(
        {ft.id: ft for ft in field_templates}, field_values or {}, organization
    )
    run = WorkflowRun(
        organization=organization, workflow=workflow, version=version,
        name=(name or workflow.name).strip(), due_date=parse_due_date(due_date), shared=shared,
        runner=runner, created_by=actor, updated_by=actor,
    )
    tasks = [
        Task(
            run=run, template=tt, name=tt.name, order=tt.order, task_type=tt.task_type,
            updated_by=actor,
        )
        for tt in TaskTemplate.objects.filter(version=version).order_by("order")
    ]
    values = [
        FormFieldValue(run=run, template=ft, value=normalized.get(ft.id), updated_by=actor)
        for ft in field_templates
    ]
    subjects, rules = load_version_logic(version)
    agg = RunAggregate(run, tasks, values, subjects, rules)
    # Assignees are set before the tasks exist, so anything rendered from a task sees them.
    settle(agg, actor, after_run_insert=lambda: run.assignees.set(assignees))
    return run


@domain_change
def refresh_run_state(run: WorkflowRun, actor=None) -> WorkflowRun:
    """Recomputes hidden/stopped/ready for the whole run and saves only what changed."""
    agg = load_run(run)
    settle(agg, actor)
    return agg.run


@domain_change
def check_task(task: Task, *, actor) -> Task:
    agg = load_run(task.run_id)
    _writable(agg)
    task = _task_in(agg, task)
    if task.task_type == TaskType.APPROVAL:
        raise DomainConflict(
            "An approval task is completed by approving its tasks.", field="task",
            code="approval_task",
        )
    if task.completed:
        return task
    _require_workable(agg, task, "checked")
    _complete(task, actor)
    settle(agg, actor, auto_complete=True)
    return task


@domain_change
def uncheck_task(task: Task, *, actor) -> Task:
    agg = load_run(task.run_id)
    _writable(agg)
    task = _task_in(agg, task)
    if task.task_type == TaskType.APPROVAL:
        raise DomainConflict(
            "An approval task is reopened by rejecting its tasks.", field="task",
            code="approval_task",
        )
    if not task.completed:
        return task
    _reopen(agg, task)
    settle(agg, actor)
    return task


@domain_change
def set_form_fields(
    run: WorkflowRun, values: Mapping[str, object], *, actor
) -> list[FormFieldValue]:
    """`values` is keyed by form field template id (or FormFieldValue id); all or nothing."""
    agg = load_run(run)
    _writable(agg)
    rows = {v.template_id: v for v in agg.values} | {v.pk: v for v in agg.values}
    normalized = check_values(
        {key: row.template for key, row in rows.items()}, values, agg.run.organization
    )
    for key, value in normalized.items():
        rows[key].value = value
    settle(agg, actor)
    return [rows[key] for key in normalized]


def _pending(agg: RunAggregate, approval_task: Task, approvals: list[Approval]) -> list[Task]:
    """Visible subjects completed and not approved since they were last completed."""
    pending = []
    for subject in agg.subjects_of(approval_task):
        if not subject.completed:
            continue
        approved = any(
            a.subject_task_id == subject.pk and a.status == ApprovalStatus.APPROVED
            and a.created_date >= subject.completed_date for a in approvals
        )
        if not approved:
            pending.append(subject)
    return pending


def _review(approval_task, status, actor, subject_task, comment) -> list[Approval]:
    agg = load_run(approval_task.run_id)
    _writable(agg)
    approval_task = _task_in(agg, approval_task)
    if approval_task.task_type != TaskType.APPROVAL:
        raise ValidationError({"approvalTask": "This is not an approval task."})
    _require_workable(agg, approval_task, "reviewed")
    if not agg.state.tasks[approval_task.template_id].approvable:
        raise DomainConflict(
            "Not every task this approval covers has been submitted.", field="approvalTask",
            code="not_approvable",
        )
    approvals = list(Approval.objects.filter(approval_task=approval_task))
    pending = _pending(agg, approval_task, approvals)
    if subject_task is None:
        subjects = pending
    else:
        subjects = [s for s in agg.subjects_of(approval_task) if s.pk == subject_task.pk]
        if not subjects:
            raise ValidationError({"subjectTask": "This approval task does not cover that task."})
        # Rejecting work that was already approved is allowed; approving it twice is not.
        if status == ApprovalStatus.APPROVED and subjects[0] not in pending:
            subjects = []
    if not subjects:
        raise DomainConflict(
            "No task is waiting for this review.", field="subjectTask", code="nothing_pending"
        )
    reviews = [
        Approval(
            run=agg.run, approval_task=approval_task, subject_task=subject, status=status,
            reviewed_by=actor, comment=comment or "",
        )
        for subject in subjects
    ]
    if status == ApprovalStatus.REJECTED:
        for subject in subjects:
            _reopen(agg, subject)
        # The subject goes back for rework before the rejection is recorded, so the rejection
        # is seen with the task NotCompleted.
        settle(agg, actor)
        for review in reviews:
            review.save()
        return reviews
    for review in reviews:
        review.save()
    if set(pending) <= set(subjects):
        _complete(approval_task, actor)
    settle(agg, actor, auto_complete=True)
    return reviews


@domain_change
def approve(
    approval_task: Task, *, actor, subject_task: Task | None = None, comment: str = ""
) -> list[Approval]:
    return _review(approval_task, ApprovalStatus.APPROVED, actor, subject_task, comment)


@domain_change
def reject(
    approval_task: Task, *, actor, subject_task: Task | None = None, comment: str = ""
) -> list[Approval]:
    return _review(approval_task, ApprovalStatus.REJECTED, actor, subject_task, comment)


@domain_change
def complete_run(run: WorkflowRun, *, actor) -> WorkflowRun:
    agg = load_run(run)
    _writable(agg)
    if agg.run.status == RunStatus.COMPLETED:
        return agg.run
    missing = missing_required(agg)
    if missing:
        raise ValidationError(missing)
    _complete(agg.run, actor)
    settle(agg, actor)
    return agg.run


@domain_change
def archive_run(run: WorkflowRun, *, actor) -> WorkflowRun:
    agg = load_run(run)
    if agg.run.status != RunStatus.ARCHIVED:
        agg.run.status = RunStatus.ARCHIVED
        settle(agg, actor)
    return agg.run


@domain_change
def migrate_run_to_version(
    run: WorkflowRun, version: WorkflowVersion, *, actor
) -> WorkflowRun:
    """Tasks and values follow their template group id into `version`; statuses and values are
    kept (a value that no longer fits its field is cleared), new tasks are created, tasks absent
    from the version are dropped. Readiness changes from this are silent."""
    with suppressed(EventType.TASK_READY, EventType.TASK_NOT_READY):
        agg = load_run(run)
        _writable(agg)
        if version.workflow_id != agg.run.workflow_id or version.status == VersionStatus.DRAFT:
            raise ValidationError({"version": "Not a finished version of this run's workflow."})
        if agg.run.version_id == version.pk:
            return agg.run
        _migrate(agg, version, actor)
        settle(agg, actor)
        return agg.run
