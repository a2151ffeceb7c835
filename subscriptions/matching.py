"""Which subscriptions want an event: one query for a whole batch of events."""

from __future__ import annotations

from collections import defaultdict

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


def match_subscriptions(events) -> dict[str, list[Webhook]]:
    """Maps event id -> the active webhooks that want it."""
    organizations = {e.organization_id for e in events}
    candidates = defaultdict(list)
    for webhook in Webhook.objects.filter(
        organization_id__in=organizations, status=WebhookStatus.ACTIVE
    ).only("id", "organization_id", "url", "triggers", "workflow_id", "task_group_id",
           "form_id", "data_set_id"):
        candidates[webhook.organization_id].append(webhook)
    return {
        event.id: [w for w in candidates[event.organization_id] if webhook_wants(w, event)]
        for event in events
    }
