"""Operator actions on deliveries: redeliver one."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from delivery.dispatch import create_deliveries, enqueue_after_commit
from delivery.models import Delivery
from webhooks_project.errors import DomainConflict


@transaction.atomic
def redeliver(delivery: Delivery) -> Delivery:
    """A new delivery of the same event to the same webhook: same body and webhook-id,
    a fresh 3 tries."""
    webhook = delivery.webhook
    if webhook is None:
        raise DomainConflict("The webhook of this delivery was deleted.")
    if not webhook.is_active:
        raise DomainConflict("The webhook is disabled; enable it to redeliver.")
    (new,) = create_deliveries(
        [(delivery.event, webhook)], now=timezone.now(), redelivery_of=delivery
    )
    enqueue_after_commit([new])
    return new
