"""What a change to a webhook means for its deliveries (subscriptions/signals.py): received
inside the change's transaction."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from delivery import dispatch, ordering
from delivery.models import Delivery, DeliveryStatus
from subscriptions.models import Webhook
from subscriptions.signals import ordered_delivery_turned_off, webhook_deleting


@receiver(webhook_deleting)
def cancel_pending_deliveries(sender: type, webhook: Webhook, **kwargs) -> None:
    Delivery.objects.filter(webhook=webhook, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, completed_date=timezone.now(), next_try_at=None,
        last_error="The webhook was deleted before this delivery went out.",
    )


@receiver(ordered_delivery_turned_off)
def release_held_deliveries(sender: type, webhook: Webhook, **kwargs) -> None:
    """The deliveries held for their turn go now, as any other."""
    released = ordering.release(webhook.id, timezone.now())
    transaction.on_commit(lambda: dispatch.wake_in_turn(released))
