"""Operator actions on deliveries: redeliver one, send a test event to a webhook."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from delivery.dispatch import create_deliveries, enqueue_after_commit
from delivery.models import Delivery
from events.examples import build_test_event
from kernel.catalog import PING, EventType
from kernel.domain_errors import DomainConflict
from subscriptions.models import Webhook


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


def test_event_types() -> list[str]:
    """What "Send test" can send: a Ping, or the example body of any event type."""
    return [PING, *(t.value for t in EventType)]


@transaction.atomic
def send_test(webhook: Webhook, event_type: str = PING) -> Delivery:
    """A signed test event delivered to this webhook only, through the real delivery path (an
    Event and a Delivery row, then the workers); events.examples.build_test_event makes it."""
    if event_type not in test_event_types():
        raise ValidationError({"type": f"Unknown event type {event_type!r}. Known: "
                                       f"{', '.join(test_event_types())}."})
    event = build_test_event(webhook.organization_id, webhook.id, webhook.url, event_type)
    event.save()
    (delivery,) = create_deliveries([(event, webhook)], now=timezone.now())
    enqueue_after_commit([delivery])
    return delivery
