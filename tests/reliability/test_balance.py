"""A worker node with a POST pool's worth of tries waiting hands further batches to a live node
holding fewer (delivery/balance.py); each delivery still goes out once, with one record."""

import time

import pytest

from delivery import balance
from delivery.models import DeliveryStatus
from delivery.publisher import publisher
from delivery.throttle import redis_client
from subscriptions.services import create_webhook, send_test
from tests.delivery.helpers import org_with_admin, wait_for_delivery
from tests.support.receiver import Receiver, Reply
from tests.support.worker import IDLE_QUEUE

pytestmark = pytest.mark.integration


def _held(node: str) -> int:
    return int(redis_client().hget(balance.LOADS_KEY, node) or 0)


def test_batches_taken_by_a_busy_node_go_out_from_an_idle_one(stack):
    organization, membership = org_with_admin()
    subscriptions, per_subscription = 6, 10
    with Receiver(default=Reply(delay=0.3)) as receiver:
        webhooks = [
            create_webhook(organization, {"url": f"{receiver.url}/{n}", "triggers": ["TaskReady"]},
                           actor=membership.user)[0]
            for n in range(subscriptions)
        ]
        ids = [send_test(w).id for w in webhooks for _ in range(per_subscription)]
        publisher.flush()  # one drain queued per subscription; no worker takes them yet
        # The idle node consumes only its own queue: whatever it sends was handed to it.
        idle = stack.worker(queues=IDLE_QUEUE, WEBHOOK_BATCH_CONCURRENCY=4)
        busy = stack.worker(concurrency=8, WEBHOOK_BATCH_CONCURRENCY=4)
        received = receiver.wait_for(len(ids), timeout=60)
        deliveries = [wait_for_delivery(d, DeliveryStatus.SUCCEEDED) for d in ids]

    assert sorted(r.headers["webhook-id"] for r in received) == sorted(
        d.event_id for d in deliveries)
    assert all(d.tries == 1 and d.attempts.count() == 1 for d in deliveries)
    handed = idle.log().count("delivery.tasks.drain_webhook[")
    assert handed >= 2, idle.log()  # received and succeeded lines: at least one batch
    assert busy.log().count("delivery.tasks.drain_webhook[") >= 2
    # What each node held is given back once its batches are recorded.
    deadline = time.monotonic() + 5
    while (_held(idle.name), _held(busy.name)) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (_held(idle.name), _held(busy.name)) == (0, 0)
