"""The delivery pipeline keeps its promises when work piles up: real Redis, real worker
processes, a real HTTP receiver, a short lease and a sweeper running every second.

Each test waits for the receiver, then reads what the database recorded, so that a duplicate
POST, a try taken for lost although it was answered, or a result thrown away shows up."""

import random
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import transaction

from datasets.services import create_data_set, create_record
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.tries import LOST_TRY_ERROR
from delivery.writer import write_events
from kernel.outbox import PendingEvent
from subscriptions.services import create_webhook
from tests.delivery.helpers import wait_for_delivery
from tests.support.builders import organization_with_admin
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.integration

# The tests' environment (tests/plugin.py) gives a try a lease of 5 s: 2 s to connect, 2 s to
# read, 1 s of margin; the sweeper runs every second with a grace of one second.
SLOW_MARK_OFF = {"WEBHOOK_SLOW_RESPONSE_SECONDS": 3}


def _backlog(receiver_url: str, count: int) -> list[str]:
    """`count` events for one webhook, written by the outbox in one transaction: on commit
    their deliveries go to the workers as `deliver` tasks of 100."""
    organization, _ = organization_with_admin()
    webhook, _ = create_webhook(organization, {"url": receiver_url,
                                               "triggers": ["DataSetRecordCreated"]})
    with transaction.atomic():
        write_events([PendingEvent(organization.id, "DataSetRecordCreated", data={"n": n})
                      for n in range(count)])
    return list(Delivery.objects.filter(webhook=webhook).values_list("id", flat=True))


def _wait_until_final(ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).exists():
            return
        time.sleep(0.5)
    left = Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PENDING).count()
    raise AssertionError(f"{left} of {len(ids)} deliveries still pending after {timeout} s")


def _task_errors(*workers) -> list[str]:
    lines = []
    for worker in workers:
        log = worker.log_path.read_text(errors="replace")
        lines += [line for line in log.splitlines()
                  if " ERROR " in line or "Traceback" in line or "raised unexpected" in line]
    return lines


def test_a_backlog_to_a_slow_healthy_receiver_is_sent_once_each(stack):
    """1,000 deliveries, a receiver answering 200 after 0.5-1 s: far more waiting than the
    workers can have in flight, for longer than a lease. Each goes out once and is recorded
    as the one successful try it was."""
    with Receiver(choose=lambda: Reply(200, delay=random.uniform(0.5, 1.0))) as receiver:
        ids = _backlog(receiver.url, 1000)
        assert len(ids) == 1000
        workers = [stack.worker(**SLOW_MARK_OFF), stack.worker(**SLOW_MARK_OFF)]
        stack.beat()
        _wait_until_final(ids, timeout=240)
        time.sleep(2)  # time for a duplicate to arrive, were one under way
        seen = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(seen) == 1000
    assert [event for event, n in seen.items() if n > 1] == []
    statuses = Counter(Delivery.objects.filter(pk__in=ids).values_list("status", "tries"))
    assert statuses == {(DeliveryStatus.SUCCEEDED, 1): 1000}
    assert Attempt.objects.filter(delivery__in=ids).count() == 1000
    assert not Attempt.objects.filter(delivery__in=ids).exclude(response_status=200).exists()
    assert _task_errors(*workers) == []


def test_a_fan_out_batch_records_each_try_when_it_answers(stack):
    """One event to six webhooks, one of which hangs past the read timeout and one answers
    500 once: the 200s are recorded within a second of their answers, and the 500's second
    try comes within its retry delay (0.2 s here) plus a second, not after the hanging one."""
    organization, membership = organization_with_admin()
    data_set = create_data_set(organization, "D", [{"name": "N", "fieldType": "Text"}])
    receivers = {"hang": Receiver(default=Reply(200, delay=4.0)),
                 "flaky": Receiver(), "ok": Receiver()}
    for receiver in receivers.values():
        receiver.__enter__()
    try:
        receivers["flaky"].reply_with(Reply(500))
        hooks = {}
        for name, receiver in [("hang", receivers["hang"]), ("flaky", receivers["flaky"]),
                               *[(f"ok{n}", receivers["ok"]) for n in range(4)]]:
            hooks[name], _ = create_webhook(organization, {
                "url": f"{receiver.url}/{name}", "triggers": ["DataSetRecordCreated"]})
        stack.worker(WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT=0)
        create_record(data_set, {data_set.fields.get().id: "x"}, actor=membership.user)
        deliveries = {d.webhook_id: d.id for d in Delivery.objects.all()}
        ok_requests = receivers["ok"].wait_for(4, timeout=20)
        flaky_requests = receivers["flaky"].wait_for(2, timeout=20)
        for name in ("ok0", "ok1", "ok2", "ok3"):
            delivery = wait_for_delivery(deliveries[hooks[name].id], DeliveryStatus.SUCCEEDED)
            (request,) = [r for r in ok_requests if r.path.endswith(name)]
            # Recorded about when it answered: not held until the hanging try timed out (2 s).
            assert delivery.completed_date.timestamp() - request.arrived < 1.0, name
        first, second = sorted(r.arrived for r in flaky_requests)
        assert second - first < 0.2 + 1.0
        wait_for_delivery(deliveries[hooks["flaky"].id], DeliveryStatus.SUCCEEDED)
    finally:
        for receiver in receivers.values():
            receiver.__exit__(None, None, None)


def test_a_worker_killed_in_a_backlog_loses_nothing(stack):
    """SIGKILL one of two workers while hundreds of deliveries wait: the other worker and the
    sweeper finish them. Only the tries in flight at the kill can reach the receiver twice,
    each recorded as a lost try and counted."""
    with Receiver(default=Reply(200, delay=0.3)) as receiver:
        ids = _backlog(receiver.url, 500)
        doomed = stack.worker(**SLOW_MARK_OFF)
        survivor = stack.worker(**SLOW_MARK_OFF)
        stack.beat()
        receiver.wait_for(120, timeout=60)
        doomed.kill()
        _wait_until_final(ids, timeout=180)
        time.sleep(2)
        seen = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(seen) == 500
    duplicates = sum(n - 1 for n in seen.values())
    # At most the tries the killed process held claimed and unrecorded: its POST places (a
    # place is given back once its try is recorded).
    assert duplicates <= settings.WEBHOOK_MAX_POSTS_IN_FLIGHT
    deliveries = list(Delivery.objects.filter(pk__in=ids))
    assert {d.status for d in deliveries} == {DeliveryStatus.SUCCEEDED}
    assert max(d.tries for d in deliveries) <= 3
    attempts = Attempt.objects.filter(delivery__in=ids)
    assert attempts.count() == sum(d.tries for d in deliveries)
    # Every try beyond the first is one the killed worker claimed and never recorded.
    assert attempts.filter(error=LOST_TRY_ERROR).count() == sum(d.tries - 1 for d in deliveries)
    assert attempts.filter(error=LOST_TRY_ERROR).count() >= duplicates
    assert _task_errors(survivor) == []
