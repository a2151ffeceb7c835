"""Which subscriptions want an event: one query per organization for a whole batch of events."""

from __future__ import annotations

import functools

from django.db import connection

from events.catalog import TASK_EVENTS, triggers_match
from subscriptions.models import Webhook, WebhookStatus


def webhook_wants(webhook: Webhook, event) -> bool:
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


_ORGANIZATION = "-organization-"
_FIELDS = ("id", "organization_id", "url", "triggers", "workflow_id", "task_group_id", "form_id",
           "data_set_id")


@functools.cache
def _active_webhooks_query(vendor: str) -> tuple[str, tuple]:
    """The SQL of "an organization's active webhooks", compiled by the ORM once per process:
    it runs in every change that emits events, and compiling it costs several times more than
    running it (see bench/README.md)."""
    query = (Webhook.objects.filter(organization_id=_ORGANIZATION, status=WebhookStatus.ACTIVE)
             .order_by().only(*_FIELDS).query)
    return query.sql_with_params()


def active_webhooks(organization_id: str) -> list[Webhook]:
    sql, params = _active_webhooks_query(connection.vendor)
    params = [organization_id if p == _ORGANIZATION else p for p in params]
    return list(Webhook.objects.raw(sql, params))


def match_subscriptions(events) -> dict[str, list[Webhook]]:
    """Maps event id -> the active webhooks that want it."""
    candidates = {
        organization_id: active_webhooks(organization_id)
        for organization_id in {e.organization_id for e in events}
    }
    return {
        event.id: [w for w in candidates[event.organization_id] if webhook_wants(w, event)]
        for event in events
    }
