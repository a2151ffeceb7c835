"""The outbox: one Event per thing that happened, with the exact body every try will send."""

from django.db import models

from kernel.ids import MuidField


class Event(models.Model):
    id = MuidField()  # also the `webhook-id` header, the same on every try and redelivery
    organization_path = "organization"
    # No index of its own: (organization, created_date) below serves every lookup by
    # organization, and each index is paid for by every change that emits an event.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=40, db_index=True)
    created_date = models.DateTimeField(db_index=True)
    # Rendered once, when the event happened; these are the bytes that are POSTed and signed.
    body = models.TextField()
    # What the event is about, for scope matching, filtering and the admin.
    workflow_id = models.CharField(max_length=22, blank=True, db_index=True)
    run_id = models.CharField(max_length=22, blank=True, db_index=True)
    task_group_id = models.CharField(max_length=22, blank=True)
    form_id = models.CharField(max_length=22, blank=True)
    data_set_id = models.CharField(max_length=22, blank=True)
    subject_id = models.CharField(max_length=22, blank=True)
    direction = models.CharField(max_length=10, blank=True)  # checked | unchecked

    class Meta:
        ordering = ["-created_date"]
        indexes = [models.Index(fields=["organization", "created_date"])]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"
