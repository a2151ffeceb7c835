"""An Event row from a pending event: its body rendered once, the exact bytes every try POSTs
and signs. delivery.writer stores these rows with their deliveries."""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from events.models import Event
from kernel.ids import new_muid
from kernel.outbox import PendingEvent
from kernel.timefmt import iso_ms


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
