"""Ordered delivery per subject, claimed and recorded directly (no worker): which deliveries
get a place, which are held, which one goes next, and what a redelivery does."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datasets.services import create_data_set, create_record, update_record
from delivery import dispatch, ordering
from delivery.http import SendResult
from delivery.models import Delivery, DeliveryStatus
from delivery.policy import RetryPolicy
from delivery.services import redeliver
from delivery.tries import SentTry, claim_tries, record_tries
from kernel.catalog import EventType
from subscriptions.services import create_webhook, replace_webhook
from tests.domain import factories as f
from tests.support import builders
from tests.support.builders import organization_with_admin
from workflows import services as runs

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hook"
RECORD_TRIGGERS = ["DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordDeleted"]


@pytest.fixture
def woken(monkeypatch) -> list[str]:
    """The deliveries whose turn came, as handed to the wake-up (not published here)."""
    calls: list[str] = []

    def wake(delivery_ids, countdown=None):
        calls.extend(delivery_ids)

    monkeypatch.setattr(dispatch, "wake_in_turn", wake)
    return calls


@pytest.fixture
def records():
    organization, membership = organization_with_admin()
    data_set = create_data_set(organization, "Leads", [{"name": "Name", "fieldType": "Text"}])
    field_id = data_set.fields.get().id
    ordered, _ = create_webhook(organization, {"url": URL, "triggers": RECORD_TRIGGERS,
                                               "ordered_delivery": True})
    unordered, _ = create_webhook(organization, {"url": URL + "/2", "triggers": RECORD_TRIGGERS})

    def write(record=None, value="x"):
        if record is None:
            return create_record(data_set, {field_id: value}, actor=membership.user)
        return update_record(record, {field_id: value}, actor=membership.user)

    return ordered, unordered, write


def _line(webhook, subject: str) -> list[Delivery]:
    return list(Delivery.objects.filter(webhook=webhook, subject=subject).order_by("sequence"))


def _answered(claims, status_code: int):
    return [SentTry(claim, SendResult(status_code=status_code, duration_ms=3), {},
                    timezone.now()) for claim in claims]


def test_places_follow_the_events_of_each_subject_and_only_for_an_ordered_webhook(records):
    ordered, unordered, write = records
    a = write(value="a1")
    b = write(value="b1")
    write(a, "a2")
    write(a, "a3")
    line = _line(ordered, a.id)
    assert [d.sequence for d in line] == [1, 2, 3]
    assert [d.event.type for d in line] == [EventType.DATA_SET_RECORD_CREATED,
                                            EventType.DATA_SET_RECORD_UPDATED,
                                            EventType.DATA_SET_RECORD_UPDATED]
    assert [d.sequence for d in _line(ordered, b.id)] == [1]
    # Off by default: no subject, no place, nothing held.
    assert set(Delivery.objects.filter(webhook=unordered).values_list("subject", "sequence")) \
        == {("", None)}


def test_a_runs_events_share_one_line_whatever_task_they_are_about():
    org = builders.organization()
    actor = builders.user(org)
    webhook, _ = create_webhook(org, {"url": URL, "ordered_delivery": True, "triggers": [
        "ChecklistCreated", "TaskCheckedUnchecked", "TaskReady", "ChecklistCompleted"]})
    workflow = f.workflow(org, [f.task("a"), f.task("b")])
    run = runs.start_run(workflow, actor=actor)
    tasks = f.tasks_of(run)
    runs.check_task(tasks["A"], actor=actor)
    runs.check_task(f.tasks_of(run)["B"], actor=actor)
    line = _line(webhook, run.id)
    assert [d.sequence for d in line] == list(range(1, len(line) + 1))
    assert line[0].event.type == EventType.CHECKLIST_CREATED
    assert line[-1].event.type == EventType.CHECKLIST_COMPLETED
    assert {d.event.run_id for d in line} == {run.id}
    assert Delivery.objects.filter(webhook=webhook).count() == len(line)


def test_a_later_delivery_is_held_until_the_earlier_one_ends_and_other_subjects_go(
        records, woken):
    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    a = write(value="a1")
    write(a, "a2")
    write(a, "a3")
    b = write(value="b1")
    a1, a2, a3 = _line(ordered, a.id)
    (b1,) = _line(ordered, b.id)
    claims = claim_tries([a1.id, a2.id, a3.id, b1.id], policy)
    assert sorted(c.delivery_id for c in claims) == sorted([a1.id, b1.id])
    for held in (a2, a3):
        held.refresh_from_db()
        assert held.tries == 0 and held.next_try_at > timezone.now() + timedelta(minutes=5)
    # a1 fails and is retried: a2 still waits, however often it is woken.
    a1_first = [c for c in claims if c.delivery_id == a1.id]
    assert record_tries(_answered(a1_first, 500), policy)[a1.id].status == DeliveryStatus.PENDING
    assert woken == []
    assert claim_tries([a2.id, a3.id], policy) == []
    # Its last try fails: the delivery has ended, and a2 (only a2) is due at once.
    Delivery.objects.filter(pk=a1.id).update(next_try_at=timezone.now())
    (second,) = claim_tries([a1.id], policy)
    Delivery.objects.filter(pk=a1.id).update(next_try_at=timezone.now())
    record_tries(_answered([second], 500), policy)
    Delivery.objects.filter(pk=a1.id).update(next_try_at=timezone.now())
    (third,) = claim_tries([a1.id], policy)
    assert third.number == policy.max_tries
    assert record_tries(_answered([third], 500), policy)[a1.id].status == DeliveryStatus.FAILED
    assert woken == [a2.id]
    a2.refresh_from_db()
    assert a2.next_try_at <= timezone.now()
    (claim_a2,) = claim_tries([a2.id, a3.id], policy)
    assert claim_a2.delivery_id == a2.id
    record_tries(_answered([claim_a2], 200), policy)
    assert woken == [a2.id, a3.id]
    assert [c.delivery_id for c in claim_tries([a3.id], policy)] == [a3.id]


def test_a_delivery_that_ends_in_its_claim_lets_the_next_go(records, woken):
    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    a = write(value="a1")
    write(a, "a2")
    a1, a2 = _line(ordered, a.id)
    assert a2.next_try_at > timezone.now() + timedelta(minutes=5)  # written held
    # a1's last try was lost with its worker: the claim ends it as failed.
    Delivery.objects.filter(pk=a1.id).update(tries=policy.max_tries, last_try_at=timezone.now())
    assert claim_tries([a1.id, a2.id], policy) == []
    a1.refresh_from_db()
    assert a1.status == DeliveryStatus.FAILED and woken == [a2.id]
    assert [c.delivery_id for c in claim_tries([a2.id], policy)] == [a2.id]


def test_a_delivery_written_due_behind_a_pending_one_is_held_at_its_claim(records, woken):
    """Written while the one before it was being claimed or recorded elsewhere, a delivery is
    written due; its claim finds the one before it pending and holds it."""
    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    a = write(value="a1")
    write(a, "a2")
    a1, a2 = _line(ordered, a.id)
    Delivery.objects.filter(pk=a2.id).update(next_try_at=timezone.now())
    assert [c.delivery_id for c in claim_tries([a2.id, a1.id], policy)] == [a1.id]
    a2.refresh_from_db()
    assert a2.next_try_at > timezone.now() + timedelta(minutes=5)


def test_a_redelivery_goes_outside_the_order(records, woken):
    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    a = write(value="a1")
    write(a, "a2")
    a1, a2 = _line(ordered, a.id)
    Delivery.objects.filter(pk=a1.id).update(status=DeliveryStatus.FAILED, tries=3,
                                             completed_date=timezone.now(), next_try_at=None)
    Delivery.objects.filter(pk=a2.id).update(next_try_at=timezone.now())  # its turn came
    (claim_a2,) = claim_tries([a2.id], policy)  # a2 is under way
    copy = redeliver(Delivery.objects.get(pk=a1.id))
    assert (copy.subject, copy.sequence) == ("", None)
    assert [c.delivery_id for c in claim_tries([copy.id], policy)] == [copy.id]
    # And it holds nothing: a3 waits for a2 only.
    a3 = _line(ordered, write(a, "a3").id)[-1]
    assert claim_tries([a3.id], policy) == []
    record_tries(_answered([claim_a2], 200), policy)
    assert woken == [a3.id]


def test_turning_ordering_off_lets_the_held_deliveries_go(records, woken):
    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    a = write(value="a1")
    write(a, "a2")
    a1, a2 = _line(ordered, a.id)
    assert [c.delivery_id for c in claim_tries([a1.id, a2.id], policy)] == [a1.id]
    replace_webhook(ordered, {"url": URL, "triggers": RECORD_TRIGGERS})
    ordered.refresh_from_db()
    assert not ordered.ordered_delivery
    assert [c.delivery_id for c in claim_tries([a2.id], policy)] == [a2.id]


def test_a_change_costs_two_queries_more_with_an_ordered_webhook_and_none_without(records):
    ordered, unordered, write = records
    a = write(value="a1")
    with CaptureQueriesContext(connection) as with_ordered:
        write(a, "a2")
    replace_webhook(ordered, {"url": URL, "triggers": RECORD_TRIGGERS})
    with CaptureQueriesContext(connection) as without:
        write(a, "a3")
    # The subject's last place, and its state (under its row lock).
    assert len(with_ordered) == len(without) + 2
    assert not any("MAX(" in q["sql"] for q in without.captured_queries)
    assert any("MAX(" in q["sql"] for q in with_ordered.captured_queries)


def test_a_subjects_places_are_read_with_one_index_seek():
    """However long a subject's history, finding its last place, the one before a delivery
    and the one after it reads the unique index of places (SQLite, which keeps no statistics
    unless asked, is where a plan goes wrong first)."""
    if connection.vendor != "sqlite":
        pytest.skip("the plan is SQLite's")
    from django.db.models import Exists, Subquery

    queries = {
        "before": Delivery.objects.filter(pk__in=["x"]).filter(
            Exists(ordering._neighbour(-1).filter(status=DeliveryStatus.PENDING)),
        ).values_list("id"),
        "after": Delivery.objects.filter(pk__in=["x"]).annotate(
            following=Subquery(ordering._neighbour(+1).values("id")[:1]),
        ).values_list("following"),
    }
    for name, queryset in queries.items():
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " | ".join(row[-1] for row in cursor.fetchall())
        assert "delivery_subject_sequence (webhook_id=? AND subject=? AND sequence=?)" in plan, (
            name, plan)


def test_a_lost_wake_up_leaves_the_next_one_due_for_the_sweeper(records, woken, monkeypatch,
                                                                   settings):
    """The next delivery is made due in the transaction that ends the one before it, so a
    worker killed before its wake-up is published strands nothing: the sweeper finds it.
    A held delivery is not swept meanwhile (it is not due)."""
    from delivery import tasks

    ordered, _, write = records
    policy = RetryPolicy.from_settings(settings)
    settings.WEBHOOK_SWEEP_GRACE = 0
    swept: list[list[str]] = []
    mine = set()
    monkeypatch.setattr(tasks, "enqueue",
                        lambda ids: swept.append(sorted(set(ids) & mine)) or len(ids))
    a = write(value="a1")
    write(a, "a2")
    a1, a2 = _line(ordered, a.id)
    mine.update([a1.id, a2.id])
    (claim,) = claim_tries([a1.id, a2.id], policy)
    tasks.sweep_deliveries()
    assert swept == [[]]  # a1 is leased, a2 held
    record_tries(_answered([claim], 200), policy)  # its wake-up (`woken`) goes nowhere
    assert woken == [a2.id]
    tasks.sweep_deliveries()
    assert swept[-1] == [a2.id]
