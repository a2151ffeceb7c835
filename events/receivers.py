"""Model signals -> events. Each receiver compares the saved values with those the instance
was loaded with, so only real transitions fire, and an unrelated save fires nothing."""

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
def run_saved(sender, instance: WorkflowRun, created: bool, raw: bool = False, **kwargs):
    if raw:
        return
    if created:
        emit(_run_event(instance, EventType.CHECKLIST_CREATED))
    elif (
        instance.status == RunStatus.COMPLETED
        and instance.loaded_value("status") != RunStatus.COMPLETED
    ):
        emit(_run_event(instance, EventType.CHECKLIST_COMPLETED))
    instance.remember_loaded_values()


@receiver(post_save, sender=Task, dispatch_uid="events.task_saved")
def task_saved(sender, instance: Task, created: bool, raw: bool = False, **kwargs):
    if raw:
        return
    was_ready = False if created else instance.loaded_value("ready", instance.ready)
    was_status = TaskStatus.NOT_COMPLETED if created else instance.loaded_value(
        "status", instance.status
    )
    if instance.status != was_status:
        direction = "checked" if instance.status == TaskStatus.COMPLETED else "unchecked"
        emit(_task_event(instance, EventType.TASK_CHECKED_UNCHECKED, direction))
    # Readiness events are about tasks still to be done: none for a completed task.
    if instance.ready != was_ready and instance.status == TaskStatus.NOT_COMPLETED:
        kind = EventType.TASK_READY if instance.ready else EventType.TASK_NOT_READY
        emit(_task_event(instance, kind))
    instance.remember_loaded_values()


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
def record_saved(sender, instance: DataSetRecord, created: bool, raw: bool = False, **kwargs):
    if raw:
        return
    if created:
        emit(_record_event(instance, EventType.DATA_SET_RECORD_CREATED))
    elif instance.cells != instance.loaded_value("cells", instance.cells):
        emit(_record_event(instance, EventType.DATA_SET_RECORD_UPDATED))
    instance.remember_loaded_values()


@receiver(post_delete, sender=DataSetRecord, dispatch_uid="events.record_deleted")
def record_deleted(sender, instance: DataSetRecord, **kwargs):
    # The instance still holds its last cells: the deleted event carries them.
    emit(_record_event(instance, EventType.DATA_SET_RECORD_DELETED))


@receiver(post_save, sender=FormResponse, dispatch_uid="events.form_response_saved")
def form_response_saved(sender, instance: FormResponse, created: bool, raw: bool = False,
                        **kwargs):
    if raw:
        return
    was = None if created else instance.loaded_value("status", instance.status)
    if instance.status == FormResponseStatus.COMPLETED and was != FormResponseStatus.COMPLETED:
        emit(
            PendingEvent(
                organization_id=instance.form.organization_id,
                type=EventType.FORM_RESPONSE_COMPLETED,
                data=payloads.render_form_response(instance),
                form_id=instance.form_id,
                subject_id=instance.id,
            )
        )
    instance.remember_loaded_values()
