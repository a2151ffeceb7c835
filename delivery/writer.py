"""Writes pending events: the Event rows with their rendered bodies, one Delivery per matching
webhook, and, once the transaction commits, the delivery tasks. Registered as the outbox's
writer (delivery.apps), since the outbox sits below the apps whose rows it stores."""

from __future__ import annotations

from django.utils import timezone

from delivery.dispatch import build_deliveries, enqueue_after_commit
from delivery.models import Delivery
from events.models import Event
from events.rendering import build_event
from kernel.outbox import PendingEvent
from subscriptions.matching import match_webhooks


def write_events(pending: list[PendingEvent]) -> list[Event]:
    events = [build_event(p) for p in pending]
    matches = match_webhooks(events)
    deliveries = build_deliveries(
        [(event, webhook) for event in events for webhook in matches.get(event.id, [])],
        now=timezone.now(), in_order=True,
    )
    Event.objects.bulk_create(events)
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        enqueue_after_commit(deliveries)
    return events
