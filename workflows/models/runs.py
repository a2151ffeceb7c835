"""Workflow runs (Process Street's checklists), their tasks, form field values and approvals.

`stopped`, `hidden` and `ready` on Task, and `hidden` on FormFieldValue, are derived state kept
right by workflows.services; they are stored so events can fire on their transitions.
"""

from django.conf import settings
from django.db import models

from accounts.audit import Audited
from kernel.ids import MuidField
from workflows.models.templates import FormFieldTemplate, TaskTemplate, TaskType


class RunStatus(models.TextChoices):
    ACTIVE = "Active"
    COMPLETED = "Completed"
    ARCHIVED = "Archived"


class TaskStatus(models.TextChoices):
    NOT_COMPLETED = "NotCompleted"
    COMPLETED = "Completed"


class ApprovalStatus(models.TextChoices):
    APPROVED = "Approved"
    REJECTED = "Rejected"


def _user_fk(related_name: str = "+"):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name=related_name,
    )


class WorkflowRun(Audited):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="runs"
    )
    workflow = models.ForeignKey(
        "workflows.Workflow", on_delete=models.CASCADE, related_name="runs"
    )
    version = models.ForeignKey(
        "workflows.WorkflowVersion", on_delete=models.PROTECT, related_name="runs"
    )
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    due_date = models.DateTimeField(null=True, blank=True)
    shared = models.BooleanField(default=False)
    assignees = models.ManyToManyField(
        "accounts.Membership", blank=True, related_name="assigned_runs"
    )
    runner = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="started_runs",
    )
    completed_date = models.DateTimeField(null=True, blank=True)
    completed_by = _user_fk()

    class Meta:
        ordering = ["-created_date"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    id = MuidField()
    organization_path = "run__organization"
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="tasks")
    template = models.ForeignKey(TaskTemplate, on_delete=models.PROTECT, related_name="tasks")
    name = models.CharField(max_length=255)
    order = models.PositiveIntegerField()
    task_type = models.CharField(max_length=10, choices=TaskType.choices)
    status = models.CharField(
        max_length=12, choices=TaskStatus.choices, default=TaskStatus.NOT_COMPLETED
    )
    stopped = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    ready = models.BooleanField(default=False)
    updated_date = models.DateTimeField(auto_now=True)
    updated_by = _user_fk()
    completed_date = models.DateTimeField(null=True, blank=True)
    completed_by = _user_fk()

    class Meta:
        ordering = ["run", "order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "template"], name="one_task_per_template")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def completed(self) -> bool:
        return self.status == TaskStatus.COMPLETED


class FormFieldValue(models.Model):
    """`value` holds the typed value (string, number, list for multi-choice, emails for
    Members); payloads render it as Process Street's string form."""

    id = MuidField()
    organization_path = "run__organization"
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="field_values")
    template = models.ForeignKey(FormFieldTemplate, on_delete=models.PROTECT, related_name="+")
    value = models.JSONField(null=True, blank=True)
    hidden = models.BooleanField(default=False)
    updated_date = models.DateTimeField(auto_now=True)
    updated_by = _user_fk()

    class Meta:
        ordering = ["run", "template__task_template__order", "template__order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "template"], name="one_value_per_field")
        ]

    def __str__(self) -> str:
        return f"{self.template.label} = {self.value!r}"


class Approval(models.Model):
    id = MuidField()
    organization_path = "run__organization"
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="approvals")
    approval_task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approvals")
    subject_task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="subject_approvals"
    )
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices)
    reviewed_by = _user_fk()
    comment = models.TextField(blank=True)
    created_date = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_date"]

    def __str__(self) -> str:
        return f"{self.subject_task} {self.status}"
