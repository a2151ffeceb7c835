"""Forms (stand-alone, outside any workflow) and their responses."""

from django.conf import settings
from django.db import models

from kernel.ids import MuidField
from workflows.models.templates import FieldType


class FormResponseStatus(models.TextChoices):
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"


class Form(models.Model):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="forms"
    )
    name = models.CharField(max_length=255)
    created_date = models.DateTimeField(auto_now_add=True)
    updated_date = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class FormField(models.Model):
    id = MuidField()
    organization_path = "form__organization"
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    order = models.PositiveIntegerField(default=0)
    label = models.CharField(max_length=255)
    field_type = models.CharField(max_length=12, choices=FieldType.choices)
    required = models.BooleanField(default=False)
    options = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["form", "order"]

    def __str__(self) -> str:
        return f"{self.label} ({self.field_type})"


class FormResponse(models.Model):
    """`answers` maps FormField id -> typed value. Completed once, when submitted."""

    id = MuidField()
    organization_path = "form__organization"
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="responses")
    status = models.CharField(
        max_length=10, choices=FormResponseStatus.choices, default=FormResponseStatus.IN_PROGRESS
    )
    answers = models.JSONField(default=dict, blank=True)
    created_date = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_date = models.DateTimeField(auto_now=True)
    completed_date = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_date"]

    def __str__(self) -> str:
        return f"{self.form} response {self.id}"
