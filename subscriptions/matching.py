"""Which webhooks want an event: one query per organization for a whole batch of events."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from typing import NamedTuple

from django.db import connection
from django.db.models import Q

from kernel.catalog import TASK_EVENTS, triggers_match
from subscriptions.models import Webhook, WebhookStatus


def webhook_wants(webhook: Webhook | WebhookRow, event) -> bool:
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


class WebhookRow(NamedTuple):
    """What matching and a new Delivery need of a webhook: read as plain rows, since building
    model instances cost more than the query on this path (run by every change with events)."""

    id: str
    url: str
    triggers: list | tuple
    workflow_id: str | None
    task_group_id: str
    form_id: str | None
    data_set_id: str | None
    ordered_delivery: bool


# Placeholders in the once-compiled SQL, replaced by each call's values.
_ORGANIZATION, _WORKFLOW, _FORM, _DATA_SET = "-organization-", "-workflow-", "-form-", "-data-set-"
# Event attributes -> the placeholder of the column a scoped webhook must match.
_SCOPES = {"workflow_id": _WORKFLOW, "form_id": _FORM, "data_set_id": _DATA_SET}


@functools.cache
def _active_webhooks_query(vendor: str, scoped: bool) -> tuple[str, tuple]:
    """The SQL of "an organization's active webhooks" (`scoped`: leaving out those scoped to
    another workflow, form or data set than the events'), compiled by the ORM once per process:
    compiling it costs several times more than running it."""
    webhooks = Webhook.objects.filter(organization_id=_ORGANIZATION, status=WebhookStatus.ACTIVE)
    if scoped:
        for column, placeholder in _SCOPES.items():
            unscoped_or_same = Q(**{f"{column}__isnull": True}) | Q(**{column: placeholder})
            webhooks = webhooks.filter(unscoped_or_same)
    return webhooks.order_by().values_list(*WebhookRow._fields).query.sql_with_params()


@functools.lru_cache(maxsize=4096)
def _parsed_triggers(text: str) -> tuple[str, ...]:
    # Where the database hands JSON back as text (SQLite), an organization's few distinct
    # trigger lists are parsed once, not once per webhook and change.
    return tuple(json.loads(text))


def active_webhooks(organization_id: str, scope: dict[str, str] | None = None
                       ) -> list[WebhookRow]:
    """`scope` (workflow_id, form_id, data_set_id of the events, all alike) leaves out in SQL
    the webhooks webhook_wants would turn down for their scope: an organization's other
    data sets' webhooks cost a row each otherwise, on every change."""
    sql, params = _active_webhooks_query(connection.vendor, scope is not None)
    values = {_ORGANIZATION: organization_id}
    if scope is not None:
        values |= {placeholder: scope[name] for name, placeholder in _SCOPES.items()}
    params = [values.get(p, p) if isinstance(p, str) else p for p in params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    at = WebhookRow._fields.index("triggers")
    return [
        WebhookRow(*row[:at], _parsed_triggers(row[at]) if isinstance(row[at], str) else row[at],
                   *row[at + 1:])
        for row in rows
    ]


def _common_scope(events) -> dict[str, str] | None:
    scopes = {tuple(getattr(e, name) for name in _SCOPES) for e in events}
    return dict(zip(_SCOPES, scopes.pop(), strict=True)) if len(scopes) == 1 else None


def match_webhooks(events) -> dict[str, list[WebhookRow]]:
    """Maps event id -> the active webhooks that want it."""
    by_organization = defaultdict(list)
    for event in events:
        by_organization[event.organization_id].append(event)
    candidates = {
        organization_id: active_webhooks(organization_id, _common_scope(same))
        for organization_id, same in by_organization.items()
    }
    return {
        event.id: [w for w in candidates[event.organization_id] if webhook_wants(w, event)]
        for event in events
    }
