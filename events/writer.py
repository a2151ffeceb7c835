"""Writes pending events: the Event rows with their rendered bodies, one Delivery per matching
webhook, and, once the transaction commits, the delivery tasks."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from events.models import Event
from events.outbox import PendingEvent
from webhooks_project.ids import new_muid
from webhooks_project.timefmt import iso_ms


def render_body(event_id: str, created_date, event_type: str, data: dict) -> str:
    envelope = {"id": event_id, "createdDate": iso_ms(created_date), "data": data,
                "type": event_type}
    return json.dumps(envelope, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def build_event(pending: PendingEvent) -> Event:
    event_id = new_muid()
    return Event(
        id=event_id,
        organization_id=pending.organization_id,
        type=pending.type,
        created_date=pending.created_date,
        body=render_body(event_id, pending.created_date, pending.type, pending.rendered_data()),
        workflow_id=pending.workflow_id,
        run_id=pending.run_id,
        task_group_id=pending.task_group_id,
        form_id=pending.form_id,
        data_set_id=pending.data_set_id,
        subject_id=pending.subject_id,
        direction=pending.direction,
    )


def write_events(pending: list[PendingEvent]) -> list[Event]:
    from delivery.dispatch import build_deliveries, enqueue_after_commit
    from delivery.models import Delivery
    from subscriptions.matching import match_webhooks

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
