"""Ordered delivery per subject with real worker processes, Redis, the sweeper (beat) and a
real HTTP receiver: the receiver sees each subject's events one at a time, in the order they
were committed, whatever the other subjects, failures and killed workers do.

The receiver's list of requests is in the order they arrived (appended under its lock), and
one subject's requests never overlap: the next is sent only once the previous one's answer
is recorded. So "in order" is checked on that list, with no clock involved."""

import json
import random
import signal
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from datasets.models import DataSetRecord
from datasets.services import create_data_set, create_record, update_record
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.tries import LOST_TRY_ERROR
from delivery.writer import write_events
from kernel.outbox import PendingEvent, collecting_events
from subscriptions.services import create_webhook
from tests.reliability.test_backlog import SLOW_MARK_OFF, _task_errors, _wait_until_final
from tests.support.builders import organization_with_admin
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.integration


def _records_webhook(receiver_url: str, records: int):
    """An ordered webhook for record updates, and `records` records (their creation is not
    delivered: the webhook wants updates only)."""
    organization, membership = organization_with_admin()
    data_set = create_data_set(organization, "Counters", [{"name": "N", "fieldType": "Text"}])
    field_id = data_set.fields.get().id
    ids = [create_record(data_set, {field_id: "0"}, actor=membership.user).id
           for _ in range(records)]
    webhook, _ = create_webhook(organization, {"url": receiver_url, "ordered_delivery": True,
                                               "triggers": ["DataSetRecordUpdated"]})
    return webhook, membership.user, field_id, ids


def _body(request) -> dict:
    return json.loads(request.body)


def _values_by_record(requests, field_id: str) -> dict[str, list[int]]:
    """Each record's counter values, in the order the receiver got them (tries included)."""
    seen = defaultdict(list)
    for request in requests:
        data = _body(request)["data"]
        seen[data["recordId"]].append(int(data["cells"][field_id]))
    return seen


def _assert_records_consistent(ids) -> None:
    deliveries = list(Delivery.objects.filter(pk__in=ids))
    assert max(d.tries for d in deliveries) <= 3
    attempts = Counter(Attempt.objects.filter(delivery__in=ids).values_list("delivery_id",
                                                                             flat=True))
    assert {d.id: d.tries for d in deliveries} == dict(attempts)


def test_events_committed_by_concurrent_threads_arrive_in_commit_order(stack):
    """Four threads increment three records' counters, each read and written under the
    record's lock in one domain change: the values 1, 2, 3... of a record are its commit
    order. A receiver answering 500 to about one try in five (retried within a second) must
    still see each record's values one at a time, rising, none missing."""
    chance = random.Random(27)

    def reply(_request) -> Reply:
        return Reply(500 if chance.random() < 0.2 else 200, delay=chance.uniform(0, 0.02))

    with Receiver(reply_to=reply) as receiver:
        webhook, user, field_id, record_ids = _records_webhook(receiver.url, 3)
        stack.worker()
        stack.worker()
        stack.beat()
        committed = Counter()
        lock = threading.Lock()
        errors = []

        def increment(record_id: str) -> None:
            with collecting_events():
                current = DataSetRecord.objects.select_for_update().get(pk=record_id)
                value = int(current.cells[field_id]) + 1
                update_record(current, {field_id: str(value)}, actor=user)

        def writer(number: int) -> None:
            pick = random.Random(number)
            try:
                for _ in range(15):
                    record_id = pick.choice(record_ids)
                    increment(record_id)
                    with lock:
                        committed[record_id] += 1
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == [] and sum(committed.values()) == 60
        ids = list(Delivery.objects.filter(webhook=webhook).values_list("id", flat=True))
        assert len(ids) == 60
        _wait_until_final(ids, timeout=120)
        time.sleep(1)  # time for a request out of turn to arrive, were one under way
        seen = _values_by_record(receiver.requests, field_id)
    for record_id in record_ids:
        values = seen[record_id]
        assert values == sorted(values), (record_id, values)
        assert sorted(set(values)) == list(range(1, committed[record_id] + 1)), record_id
    # Each delivery's place is its event's commit order among its record's.
    for record_id in record_ids:
        line = Delivery.objects.filter(webhook=webhook, subject=record_id).order_by("sequence")
        assert [int(json.loads(d.event.body)["data"]["cells"][field_id]) for d in line] == \
            list(range(1, committed[record_id] + 1))
    _assert_records_consistent(ids)


def test_a_subject_held_by_failures_does_not_hold_the_others(stack):
    """Record A's first update is answered 500 with a Retry-After of an hour: A is held for
    as long as that try waits, and record B's five updates all go meanwhile, in order. Once
    A's first delivery fails its 3rd try, A's second goes."""
    failing = {"retry_after": "3600"}

    def reply(request) -> Reply:
        data = _body(request)["data"]
        if data["cells"][field_id] == "a1":
            return Reply(500, headers={"Retry-After": failing["retry_after"]}
                         if failing["retry_after"] else {})
        return Reply(200)

    with Receiver(reply_to=reply) as receiver:
        webhook, user, field_id, (a, b) = _records_webhook(receiver.url, 2)
        record_a, record_b = DataSetRecord.objects.get(pk=a), DataSetRecord.objects.get(pk=b)
        update_record(record_a, {field_id: "a1"}, actor=user)
        update_record(record_a, {field_id: "a2"}, actor=user)
        for n in range(1, 6):
            update_record(record_b, {field_id: f"b{n}"}, actor=user)
        stack.worker()
        stack.beat()
        receiver.wait_for(6, timeout=60)  # a1's first try, and b1..b5
        a1, a2 = Delivery.objects.filter(webhook=webhook, subject=a).order_by("sequence")
        b_line = list(Delivery.objects.filter(webhook=webhook, subject=b).order_by("sequence"))
        assert _wait_for_status([d.id for d in b_line], DeliveryStatus.SUCCEEDED)
        a1.refresh_from_db()
        a2.refresh_from_db()
        assert (a1.status, a1.tries) == (DeliveryStatus.PENDING, 1)
        assert (a2.status, a2.tries) == (DeliveryStatus.PENDING, 0)
        # An hour later, as far as A's first delivery knows: its next tries fail at once.
        failing["retry_after"] = ""
        Delivery.objects.filter(pk=a1.id).update(next_try_at=timezone.now())
        _wait_until_final([a1.id, a2.id], timeout=60)
        time.sleep(0.5)
        order = [_body(r)["data"]["cells"][field_id] for r in receiver.requests]
    assert [v for v in order if v.startswith("b")] == ["b1", "b2", "b3", "b4", "b5"]
    assert [v for v in order if v.startswith("a")] == ["a1", "a1", "a1", "a2"]
    a1.refresh_from_db()
    a2.refresh_from_db()
    assert (a1.status, a1.tries) == (DeliveryStatus.FAILED, 3)
    assert list(a1.attempts.values_list("response_status", flat=True)) == [500, 500, 500]
    assert (a2.status, a2.tries) == (DeliveryStatus.SUCCEEDED, 1)
    _assert_records_consistent([a1.id, a2.id, *(d.id for d in b_line)])


def _wait_for_status(ids: list[str], status: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Delivery.objects.filter(pk__in=ids).exclude(status=status).exists():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_killed_with_ordered_subjects_loses_nothing_and_keeps_the_order(stack):
    """100 subjects x 5 events, two workers, one SIGKILLed while they work: every delivery
    succeeds, each subject's events arrive in order (a try in flight at the kill may arrive
    twice, before the next event of its subject), at most 3 tries each."""
    subjects = [f"record{n:03d}" for n in range(100)]
    with Receiver(default=Reply(200, delay=0.1)) as receiver:
        organization, _ = organization_with_admin()
        webhook, _ = create_webhook(organization, {"url": receiver.url, "ordered_delivery": True,
                                                   "triggers": ["DataSetRecordUpdated"]})
        with transaction.atomic():
            write_events([PendingEvent(organization.id, "DataSetRecordUpdated",
                                       data={"subject": subject, "n": n}, subject_id=subject)
                          for n in range(5) for subject in subjects])
        ids = list(Delivery.objects.filter(webhook=webhook).values_list("id", flat=True))
        assert len(ids) == 500
        doomed = stack.worker(**SLOW_MARK_OFF)
        survivor = stack.worker(**SLOW_MARK_OFF)
        stack.beat()
        receiver.wait_for(150, timeout=60)
        doomed.kill()
        _wait_until_final(ids, timeout=180)
        time.sleep(2)
        requests = list(receiver.requests)
    seen = defaultdict(list)
    for request in requests:
        data = _body(request)["data"]
        seen[data["subject"]].append(data["n"])
    for subject in subjects:
        assert seen[subject] == sorted(seen[subject]), (subject, seen[subject])
        assert sorted(set(seen[subject])) == [0, 1, 2, 3, 4], subject
    duplicates = len(requests) - 500
    assert duplicates <= settings.WEBHOOK_MAX_POSTS_IN_FLIGHT
    deliveries = list(Delivery.objects.filter(pk__in=ids))
    assert {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    _assert_records_consistent(ids)
    lost = Attempt.objects.filter(delivery__in=ids, error=LOST_TRY_ERROR).count()
    assert lost == sum(d.tries - 1 for d in deliveries) and lost >= duplicates
    assert _task_errors(survivor) == []


def test_a_warm_shutdown_waits_for_the_next_try_sent_from_inside_the_worker(stack):
    """The next delivery of a subject is sent by the process that recorded the one before it,
    outside any Celery task. SIGTERM while its POST is out: the worker waits for its answer and
    records it before it exits, as it does for a task's tries; so it is neither left claimed
    and unrecorded nor sent again."""
    with Receiver(reply_to=lambda _request: Reply(200, delay=1.5)) as receiver:
        webhook, user, field_id, (record_id,) = _records_webhook(receiver.url, 1)
        for value in ("1", "2"):
            update_record(DataSetRecord.objects.get(pk=record_id), {field_id: value},
                          actor=user)
        worker = stack.worker()
        receiver.wait_for(2, timeout=30)  # the second is out, sent from inside the worker
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=30)
        deliveries = list(Delivery.objects.filter(webhook=webhook).order_by("sequence"))
        assert [(d.status, d.tries) for d in deliveries] == [(DeliveryStatus.SUCCEEDED, 1)] * 2
        _assert_records_consistent([d.id for d in deliveries])
        stack.worker()
        time.sleep(2.0)
        assert [_body(r)["data"]["cells"][field_id] for r in receiver.requests] == ["1", "2"]
