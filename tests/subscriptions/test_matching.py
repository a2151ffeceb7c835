"""Matching: the webhooks query leaves out, in SQL, webhooks scoped to another data set,
form or workflow when a change's events share one scope, and reads them all when they do not;
either way one query per organization, and each event gets exactly the webhooks that want
it."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from datasets.services import create_data_set
from delivery.models import Delivery
from delivery.writer import write_events
from events.models import Event
from events.rendering import build_event
from kernel.outbox import PendingEvent
from subscriptions.matching import (
    active_webhooks,
    match_webhooks,
)
from subscriptions.services import create_webhook
from tests.support.builders import organization_with_admin

pytestmark = pytest.mark.django_db


def _record_event(organization, data_set) -> object:
    return build_event(PendingEvent(organization.id, "DataSetRecordCreated", data={},
                                    data_set_id=data_set.id))


@pytest.fixture
def webhooks():
    organization, membership = organization_with_admin()
    sets = [create_data_set(organization, name, [{"name": "Name", "fieldType": "Text"}])
            for name in ("A", "B")]

    def hook(name, **scope):
        webhook, _ = create_webhook(organization, {
            "url": f"http://127.0.0.1:9/{name}", "triggers": ["DataSetRecordCreated"], **scope,
        }, actor=membership.user)
        return webhook.id

    hooks = {"any": hook("any"), "a": hook("a", data_set=sets[0]),
             "b": hook("b", data_set=sets[1])}
    return organization, sets, hooks


def test_one_scope_reads_only_the_webhooks_in_it(webhooks):
    organization, (set_a, _), hooks = webhooks
    event = _record_event(organization, set_a)
    scope = {"workflow_id": "", "form_id": "", "data_set_id": set_a.id}
    assert {s.id for s in active_webhooks(organization.id, scope)} == {hooks["any"], hooks["a"]}
    assert {s.id for s in active_webhooks(organization.id)} == set(hooks.values())
    with CaptureQueriesContext(connection) as queries:
        matches = match_webhooks([event])
    assert len(queries.captured_queries) == 1
    assert {s.id for s in matches[event.id]} == {hooks["any"], hooks["a"]}


def test_events_of_several_scopes_each_get_their_own(webhooks):
    organization, (set_a, set_b), hooks = webhooks
    in_a, in_b = _record_event(organization, set_a), _record_event(organization, set_b)
    with CaptureQueriesContext(connection) as queries:
        matches = match_webhooks([in_a, in_b])
    assert len(queries.captured_queries) == 1
    assert {s.id for s in matches[in_a.id]} == {hooks["any"], hooks["a"]}
    assert {s.id for s in matches[in_b.id]} == {hooks["any"], hooks["b"]}


def test_events_and_their_deliveries_are_written_with_one_insert_each(webhooks):
    organization, (set_a, _), hooks = webhooks
    pending = [PendingEvent(organization.id, "DataSetRecordCreated", data={"n": n},
                            data_set_id=set_a.id) for n in range(2)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        events = write_events(pending)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert len(queries.captured_queries) == 1 + len(inserts)  # the webhooks, then the rows
    stored = Delivery.objects.filter(event__in=[e.id for e in events])
    assert sorted(stored.values_list("event_id", "webhook_id")) == sorted(
        (event.id, hook) for event in events for hook in (hooks["any"], hooks["a"])
    )
    assert Event.objects.filter(pk__in=[e.id for e in events]).count() == 2
