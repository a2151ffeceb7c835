"""Three levels of record: the Event (events app) is the payload, a Delivery is that payload
going to one webhook, an Attempt is one try of it."""

from django.db import models
from django.db.models import Q

from kernel.ids import MuidField


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(models.Model):
    id = MuidField()
    organization_path = "organization"
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="deliveries")
    # Kept when the webhook is deleted, so its history stays readable. Indexed by
    # (webhook, status, created_date) below only: a second index would cost every insert.
    webhook = models.ForeignKey(
        "subscriptions.Webhook", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deliveries", db_index=False,
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="deliveries"
    )
    url = models.URLField(max_length=2048)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Tries claimed so far (a try is claimed, under a row lock, before its request is sent).
    tries = models.PositiveSmallIntegerField(default=0)
    # When the next try is due; the sweeper re-enqueues pending deliveries past it.
    next_try_at = models.DateTimeField(null=True, blank=True)
    last_try_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_date = models.DateTimeField(auto_now_add=True)
    completed_date = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redeliveries"
    )
    # Set only for a webhook with ordered delivery (delivery/ordering.py): what the event is
    # about (a run, a data set record, a form response) and its place among that subject's
    # deliveries to the webhook, 1, 2, 3... in the order the events were committed. Left empty
    # otherwise, so that unordered deliveries cost no index entry.
    subject = models.CharField(max_length=22, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_date"]
        verbose_name_plural = "deliveries"
        indexes = [
            # Not (status, next_try_at): without statistics (SQLite keeps none until ANALYZE
            # runs) the planner takes an equality on status for ~10 rows and prefers such an
            # index over the primary key and the webhook's, so every claim and drain read
            # every pending row. Finished deliveries have no next_try_at.
            models.Index(fields=["next_try_at"], name="delivery_next_try_at"),
            models.Index(fields=["webhook", "status", "created_date"]),
        ]
        constraints = [
            # Also the index of every look-up by place (delivery/ordering.py): the subject's
            # last place, the one before a delivery and the one after it, each one seek.
            models.UniqueConstraint(fields=["webhook", "subject", "sequence"],
                                    name="delivery_subject_sequence",
                                    condition=Q(sequence__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.url} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status != DeliveryStatus.PENDING


class Attempt(models.Model):
    organization_path = "delivery__organization"
    # No index of its own: the unique (delivery, number) index below serves every lookup by
    # delivery. Delivery ids are random, so each index on them costs a recorded batch of 100
    # tries about 100 scattered pages written.
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts",
                                 db_index=False)
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_headers = models.JSONField(default=dict)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    connected_address = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="one_attempt_per_number")
        ]

    def __str__(self) -> str:
        return f"try {self.number} of {self.delivery_id}"


class WorkerHeartbeat(models.Model):
    """The last time each worker ran the heartbeat task that beat sends."""

    organization_path = None  # about a worker process, owned by no organization
    hostname = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.hostname} at {self.last_seen:%Y-%m-%d %H:%M:%S}"


class WebhookHealth(models.Model):
    """How a webhook's deliveries have been ending, for auto-disable and the admin."""

    organization_path = "webhook__organization"
    webhook = models.OneToOneField(
        "subscriptions.Webhook", on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_date = models.DateTimeField(null=True, blank=True)
    last_failure_date = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.webhook_id}: {self.consecutive_failures} failures in a row"
