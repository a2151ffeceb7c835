"""Incoming webhooks: public URLs that start a workflow run or write a data set record per payload.

The token in the URL is stored as is (192 random bits), because the URL is shown to Admins in
the admin and the API, as Process Street does. Each request is kept (capped body) so an Admin can
see what arrived and pick JSONPaths from it. Idempotency keys live in their own table with a
unique (webhook, key) constraint: two concurrent duplicates cannot both create.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.audit import Audited
from kernel.ids import MuidField

TOKEN_BYTES = 24  # 192 bits
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def new_incoming_token() -> str:
    """A fresh token for a public URL; the URL is the credential, so it must not be guessable."""
    return secrets.token_urlsafe(TOKEN_BYTES)


class IncomingStatus(models.TextChoices):
    ACTIVE = "Active"
    DISABLED = "Disabled"


class IncomingOutcome(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DROPPED = "dropped"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class IncomingWebhook(Audited):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="incoming_webhooks"
    )
    # Exactly one target: each payload starts a run of the workflow, or writes a data set record.
    workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.CASCADE,
        related_name="incoming_webhooks",
    )
    data_set = models.ForeignKey(
        "datasets.DataSet", null=True, blank=True, on_delete=models.CASCADE,
        related_name="incoming_webhooks",
    )
    name = models.CharField(max_length=255)
    automation_app = models.CharField(
        max_length=100, blank=True, help_text="What sends to it (e.g. Zapier), for people."
    )
    config = models.JSONField(
        default=dict, blank=True,
        help_text="Workflow: {properties: {Name, DueDate, Shared, Assignees, Runner}, "
                  "formFields: {fieldId: JSONPath}}. Data set: {columns: {fieldId: JSONPath}, "
                  "keyColumn}.",
    )
    status = models.CharField(
        max_length=10, choices=IncomingStatus.choices, default=IncomingStatus.ACTIVE
    )
    token = models.CharField(max_length=64, unique=True, default=new_incoming_token, editable=False)
    signing_secret = models.CharField(
        max_length=100, blank=True,
        help_text="When set, requests must carry a valid Standard Webhooks signature.",
    )

    class Meta:
        ordering = ["created_date"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(workflow__isnull=False, data_set__isnull=True)
                           | Q(workflow__isnull=True, data_set__isnull=False)),
                name="incoming_webhook_one_target",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == IncomingStatus.ACTIVE

    @property
    def public_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/incoming/{self.token}"


class IncomingRequest(models.Model):
    """One request to an incoming webhook's URL, whatever became of it."""

    id = MuidField()
    organization_path = "incoming_webhook__organization"
    incoming_webhook = models.ForeignKey(
        IncomingWebhook, on_delete=models.CASCADE, related_name="requests"
    )
    received_date = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=10, choices=IncomingOutcome.choices)
    status_code = models.PositiveSmallIntegerField()
    created_object_id = models.CharField(
        max_length=22, blank=True, help_text="The run or record created or updated."
    )
    error = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="The request body, capped.")
    body_truncated = models.BooleanField(default=False)
    content_type = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["-received_date"]
        indexes = [models.Index(fields=["incoming_webhook", "received_date"])]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.received_date:%Y-%m-%d %H:%M:%S}"


class IncomingIdempotencyKey(models.Model):
    """The first answer given for an idempotency key. Inserted in the same transaction as what
    the request creates, so a concurrent duplicate waits on (or fails against) the unique
    constraint and then answers with what is stored here."""

    organization_path = "incoming_webhook__organization"
    incoming_webhook = models.ForeignKey(
        IncomingWebhook, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    created_date = models.DateTimeField(db_index=True)
    request = models.ForeignKey(
        IncomingRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_code = models.PositiveSmallIntegerField(default=202)
    response = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incoming_webhook", "key"], name="unique_incoming_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return self.key

