"""Which subscriptions want an event: one query per organization for a whole batch of events."""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

from django.db import connection

from events.catalog import TASK_EVENTS, triggers_match
from subscriptions.models import Webhook, WebhookStatus


def webhook_wants(webhook: Webhook | Subscriber, event) -> bool:
    if not triggers_match(webhook.triggers, event.type, event.direction):
        return False
    if webhook.workflow_id and webhook.workflow_id != event.workflow_id:
        return False
    if webhook.task_group_id and event.type in TASK_EVENTS:
        if webhook.task_group_id != event.task_group_id:
            return False
    if webhook.form_id and webhook.form_id != event.form_id:
        return False
    if webhook.data_set_id and webhook.data_set_id != event.data_set_id:
        return False
    return True


class Subscriber(NamedTuple):
    """What matching and a new Delivery need of a webhook: read as plain rows, since building
    model instances cost more than the query on this path (run by every change with events)."""

    id: str
    url: str
    triggers: list | tuple
    workflow_id: str | None
    task_group_id: str
    form_id: str | None
    data_set_id: str | None


_ORGANIZATION = "-organization-"


@functools.cache
def _active_webhooks_query(vendor: str) -> tuple[str, tuple]:
    """The SQL of "an organization's active webhooks", compiled by the ORM once per process:
    compiling it costs several times more than running it (see bench/README.md)."""
    query = (Webhook.objects.filter(organization_id=_ORGANIZATION, status=WebhookStatus.ACTIVE)
             .order_by().values_list(*Subscriber._fields).query)
    return query.sql_with_params()


@functools.lru_cache(maxsize=4096)
def _parsed_triggers(text: str) -> tuple[str, ...]:
    # Where the database hands JSON back as text (SQLite), an organization's few distinct
    # trigger lists are parsed once, not once per subscription and change.
    return tuple(json.loads(text))


def active_subscribers(organization_id: str) -> list[Subscriber]:
    sql, params = _active_webhooks_query(connection.vendor)
    params = [organization_id if p == _ORGANIZATION else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    at = Subscriber._fields.index("triggers")
    return [
        Subscriber(*row[:at], _parsed_triggers(row[at]) if isinstance(row[at], str) else row[at],
                   *row[at + 1:])
        for row in rows
    ]


def match_subscriptions(events) -> dict[str, list[Subscriber]]:
    """Maps event id -> the active webhooks that want it."""
    candidates = {
        organization_id: active_subscribers(organization_id)
        for organization_id in {e.organization_id for e in events}
    }
    return {
        event.id: [w for w in candidates[event.organization_id] if webhook_wants(w, event)]
        for event in events
    }
