"""Model signals -> events, fired on transitions only.

The services are the only code that changes these rows, and they report what changed: a new row
is inserted, an existing one is saved with `update_fields` naming exactly the fields whose value
changed (and its audit fields). So post_save's `update_fields` is the change, and a save that
names no changed field (such as a plain `save()` of a row as loaded) fires nothing.
"""

from __future__ import annotations

import copy

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from datasets.models import DataSetRecord
from events import payloads
from kernel.catalog import EventType
from kernel.outbox import PendingEvent, emit
from workflows.models import (
    Approval,
    ApprovalStatus,
    FormResponse,
    FormResponseStatus,
    RunStatus,
    Task,
    TaskStatus,
    WorkflowRun,
)


def _changed(field: str, update_fields: frozenset[str] | None) -> bool:
    """Whether the service saving an existing row reported `field` as changed."""
    return update_fields is not None and field in update_fields


def _run_event(run: WorkflowRun, event_type: EventType) -> PendingEvent:
    return PendingEvent(
        organization_id=run.organization_id,
        type=event_type,
        # The run's payload lists its tasks and fields, saved after the run: render at the end.
        render=lambda: payloads.render_run(WorkflowRun.objects.get(pk=run.pk)),
        workflow_id=run.workflow_id,
        run_id=run.id,
        subject_id=run.id,
    )


def _task_event(task: Task, event_type: EventType, direction: str = "") -> PendingEvent:
    # The task's own state as of this save; its form fields as of the end of the change (a
    # run's values are saved after its tasks).
    snapshot = copy.copy(task)
    return PendingEvent(
        organization_id=task.run.organization_id,
        type=event_type,
        render=lambda: payloads.render_task(snapshot),
        workflow_id=task.run.workflow_id,
        run_id=task.run_id,
        task_group_id=task.template.group_id,
        subject_id=task.id,
        direction=direction,
    )


@receiver(post_save, sender=WorkflowRun, dispatch_uid="events.run_saved")
def run_saved(sender, instance: WorkflowRun, created: bool, raw: bool = False,
              update_fields=None, **kwargs):
    if raw:
        return
    if created:
        emit(_run_event(instance, EventType.CHECKLIST_CREATED))
    elif instance.status == RunStatus.COMPLETED and _changed("status", update_fields):
        emit(_run_event(instance, EventType.CHECKLIST_COMPLETED))


@receiver(post_save, sender=Task, dispatch_uid="events.task_saved")
def task_saved(sender, instance: Task, created: bool, raw: bool = False, update_fields=None,
               **kwargs):
    if raw:
        return
    if created:  # a new task counts as changed from NotCompleted and not ready
        status_changed = instance.status != TaskStatus.NOT_COMPLETED
        ready_changed = instance.ready
    else:
        status_changed = _changed("status", update_fields)
        ready_changed = _changed("ready", update_fields)
    if status_changed:
        direction = "checked" if instance.status == TaskStatus.COMPLETED else "unchecked"
        emit(_task_event(instance, EventType.TASK_CHECKED_UNCHECKED, direction))
    # Readiness events are about tasks still to be done: none for a completed task.
    if ready_changed and instance.status == TaskStatus.NOT_COMPLETED:
        kind = EventType.TASK_READY if instance.ready else EventType.TASK_NOT_READY
        emit(_task_event(instance, kind))


@receiver(post_save, sender=Approval, dispatch_uid="events.approval_saved")
def approval_saved(sender, instance: Approval, created: bool, raw: bool = False, **kwargs):
    if raw or not created:
        return
    kind = (
        EventType.TASK_APPROVED
        if instance.status == ApprovalStatus.APPROVED
        else EventType.TASK_REJECTED
    )
    subject = instance.subject_task
    emit(
        PendingEvent(
            organization_id=instance.run.organization_id,
            type=kind,
            # Rendered at the end of the change: a rejected task shows as reopened.
            render=lambda: payloads.render_approval(Approval.objects.get(pk=instance.pk)),
            workflow_id=instance.run.workflow_id,
            run_id=instance.run_id,
            task_group_id=subject.template.group_id,
            subject_id=subject.id,
        )
    )


def _record_event(record: DataSetRecord, event_type: EventType) -> PendingEvent:
    data_set = record.data_set
    return PendingEvent(
        organization_id=data_set.organization_id,
        type=event_type,
        data=payloads.render_record(record, data_set),
        data_set_id=data_set.id,
        subject_id=record.id,
    )


@receiver(post_save, sender=DataSetRecord, dispatch_uid="events.record_saved")
def record_saved(sender, instance: DataSetRecord, created: bool, raw: bool = False,
                 update_fields=None, **kwargs):
    if raw:
        return
    if created:
        emit(_record_event(instance, EventType.DATA_SET_RECORD_CREATED))
    elif _changed("cells", update_fields):
        emit(_record_event(instance, EventType.DATA_SET_RECORD_UPDATED))


@receiver(post_delete, sender=DataSetRecord, dispatch_uid="events.record_deleted")
def record_deleted(sender, instance: DataSetRecord, **kwargs):
    # The instance still holds its last cells: the deleted event carries them.
    emit(_record_event(instance, EventType.DATA_SET_RECORD_DELETED))


@receiver(post_save, sender=FormResponse, dispatch_uid="events.form_response_saved")
def form_response_saved(sender, instance: FormResponse, created: bool, raw: bool = False,
                        update_fields=None, **kwargs):
    if raw:
        return
    if instance.status == FormResponseStatus.COMPLETED and (
        created or _changed("status", update_fields)
    ):
        emit(
            PendingEvent(
                organization_id=instance.form.organization_id,
                type=EventType.FORM_RESPONSE_COMPLETED,
                data=payloads.render_form_response(instance),
                form_id=instance.form_id,
                subject_id=instance.id,
            )
        )
