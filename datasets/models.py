"""Data sets: typed fields and records whose cells are validated against them."""

from django.db import models

from accounts.audit import Audited
from kernel.ids import MuidField


class DataSetFieldType(models.TextChoices):
    TEXT = "Text"
    DATE_TIME = "DateTime"
    NUMBER = "Number"


class DataSet(models.Model):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="data_sets"
    )
    name = models.CharField(max_length=255)
    created_date = models.DateTimeField(auto_now_add=True)
    updated_date = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class DataSetField(models.Model):
    id = MuidField()
    organization_path = "data_set__organization"
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=255)
    field_type = models.CharField(max_length=10, choices=DataSetFieldType.choices)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["data_set", "order"]
        constraints = [
            models.UniqueConstraint(fields=["data_set", "name"], name="unique_field_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.field_type})"


class DataSetRecord(Audited):
    """`cells` maps DataSetField id -> value (string, number, or ISO-8601 date-time string)."""

    id = MuidField()
    organization_path = "data_set__organization"
    data_set = models.ForeignKey(DataSet, on_delete=models.CASCADE, related_name="records")
    cells = models.JSONField(default=dict)

    class Meta:
        ordering = ["created_date"]

    def __str__(self) -> str:
        return f"record {self.id}"
