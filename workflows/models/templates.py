"""Workflows (Process Street's templates) and their versions: tasks, form fields, rules."""

from django.conf import settings
from django.db import models

from kernel.ids import MuidField, new_muid


class VersionStatus(models.TextChoices):
    DRAFT = "Draft"
    FINISHED = "Finished"
    REVISED = "Revised"


class TaskType(models.TextChoices):
    STANDARD = "Standard"
    APPROVAL = "Approval"


class FieldType(models.TextChoices):
    TEXT = "Text"
    TEXTAREA = "Textarea"
    EMAIL = "Email"
    URL = "Url"
    FILE = "File"
    DATE = "Date"
    NUMBER = "Number"
    SELECT = "Select"
    MULTI_CHOICE = "MultiChoice"
    MULTI_SELECT = "MultiSelect"
    MEMBERS = "Members"
    HIDDEN = "Hidden"


class RuleAction(models.TextChoices):
    SHOW = "Show"
    HIDE = "Hide"


class Workflow(models.Model):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="workflows"
    )
    name = models.CharField(max_length=255)
    created_date = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_date = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> "WorkflowVersion | None":
        return self.versions.filter(status=VersionStatus.FINISHED).order_by("-number").first()


class WorkflowVersion(models.Model):
    """A run belongs to the version it was started from; a new version never changes old runs
    except through an explicit migration."""

    id = MuidField()
    organization_path = "workflow__organization"
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.FINISHED
    )
    created_date = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number} ({self.status})"


class TaskTemplate(models.Model):
    id = MuidField()
    organization_path = "version__workflow__organization"
    version = models.ForeignKey(
        WorkflowVersion, on_delete=models.CASCADE, related_name="task_templates"
    )
    # The same task across versions shares a group id: it maps tasks when a run is migrated and
    # is what a webhook's `taskId` scope matches (Process Street's taskTemplateGroupId).
    group_id = models.CharField(max_length=22, default=new_muid, db_index=True)
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=255)
    task_type = models.CharField(max_length=10, choices=TaskType.choices, default=TaskType.STANDARD)
    stop_task = models.BooleanField(default=False)
    hidden_by_default = models.BooleanField(default=False)
    subject_templates = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="approval_templates",
        help_text="For an approval task: the tasks it approves.",
    )

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "group_id"], name="one_task_per_group"),
        ]

    def __str__(self) -> str:
        return self.name


class FormFieldTemplate(models.Model):
    id = MuidField()
    organization_path = "version__workflow__organization"
    version = models.ForeignKey(
        WorkflowVersion, on_delete=models.CASCADE, related_name="field_templates"
    )
    task_template = models.ForeignKey(
        TaskTemplate, on_delete=models.CASCADE, related_name="field_templates"
    )
    group_id = models.CharField(max_length=22, default=new_muid, db_index=True)
    order = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=255)
    field_type = models.CharField(max_length=12, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    hidden_by_default = models.BooleanField(default=False)
    options = models.JSONField(
        default=list, blank=True, help_text="Choices for Select, MultiChoice and MultiSelect."
    )

    class Meta:
        ordering = ["version", "task_template__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "group_id"], name="one_field_per_group"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.field_type})"


class ConditionalRule(models.Model):
    """Process Street's shape: `condition` is {"or": [{"and": [{widgetId, operator, value}]}]}
    where widgetId is a FormFieldTemplate id of the same version."""

    id = MuidField()
    organization_path = "version__workflow__organization"
    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="rules")
    order = models.PositiveIntegerField(default=0)
    condition = models.JSONField()
    action = models.CharField(max_length=4, choices=RuleAction.choices)
    target_tasks = models.ManyToManyField(TaskTemplate, blank=True, related_name="rules")
    target_fields = models.ManyToManyField(FormFieldTemplate, blank=True, related_name="rules")

    class Meta:
        ordering = ["version", "order"]

    def __str__(self) -> str:
        return f"{self.action} rule {self.id}"
