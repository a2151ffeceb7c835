"""Outgoing webhooks and their signing secrets."""

from django.db import models

from accounts.audit import Audited
from kernel.ids import MuidField


class WebhookStatus(models.TextChoices):
    ACTIVE = "Active"
    DISABLED = "Disabled"


class Webhook(Audited):
    id = MuidField()
    organization_path = "organization"
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhooks"
    )
    # What it is for, in the admin and the API: several webhooks often share one receiver URL.
    name = models.CharField(max_length=100, blank=True)
    description = models.TextField(max_length=1000, blank=True)
    url = models.URLField(max_length=2048)
    triggers = models.JSONField(default=list)
    # Scope: at most one of these; none = every object of that kind in the organization.
    workflow = models.ForeignKey(
        "workflows.Workflow", null=True, blank=True, on_delete=models.CASCADE,
        related_name="webhooks",
    )
    task_group_id = models.CharField(
        max_length=22, blank=True, help_text="Process Street's taskId: one task template."
    )
    form = models.ForeignKey(
        "workflows.Form", null=True, blank=True, on_delete=models.CASCADE, related_name="webhooks"
    )
    data_set = models.ForeignKey(
        "datasets.DataSet", null=True, blank=True, on_delete=models.CASCADE,
        related_name="webhooks",
    )
    # Sent on every try (subscriptions/headers.py); write-only, like the signing secrets.
    headers = models.JSONField(default=dict, blank=True)
    # Deliveries per second at most, across every worker (delivery/flow.py); None: no limit.
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    # Deliveries about one subject (a run, a data set record, a form response) go one at a
    # time, in the order their events were committed (delivery/ordering.py).
    ordered_delivery = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.ACTIVE
    )
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_date"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})" if self.name else self.url

    @property
    def is_active(self) -> bool:
        return self.status == WebhookStatus.ACTIVE


class WebhookSecret(models.Model):
    """Several secrets can sign at once: after a rotation the old one keeps signing until
    `expires_date`, so receivers can switch without dropping a delivery."""

    organization_path = "webhook__organization"
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=100)
    created_date = models.DateTimeField(auto_now_add=True)
    expires_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_date"]

    def __str__(self) -> str:
        return f"secret of {self.webhook_id} from {self.created_date:%Y-%m-%d}"
