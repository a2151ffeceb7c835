"""A webhook's stream of lone deliveries is coalesced: one drain task is published for
many changes, and it delivers them in batches, each delivery with its own try and record."""

import base64
import json
import math
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction

from delivery import drain
from delivery.dispatch import wake_now as wake
from delivery.models import Delivery, DeliveryStatus
from delivery.policy import RetryPolicy
from delivery.publisher import publisher
from delivery.services import send_test
from delivery.tries import claim_tries
from kernel.redis import redis_client
from subscriptions.services import create_webhook
from tests.delivery.helpers import wait_for_delivery
from tests.plugin import session_redis
from tests.support.builders import organization_with_admin

pytestmark = pytest.mark.integration


def _drains_queued_for(webhook_id: str) -> int:
    """drain_webhook messages for this webhook waiting in the first-try queue (no worker runs)."""
    count = 0
    for raw in redis_client().lrange("webhooks", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] != "delivery.tasks.drain_webhook":
            continue
        args = json.loads(base64.b64decode(message["body"]))[0]
        count += args == [webhook_id]
    return count


def _webhook(url: str):
    organization, membership = organization_with_admin()
    return create_webhook(organization, {"url": url, "triggers": ["TaskReady"]},
                          actor=membership.user)[0]


def test_one_drain_is_woken_until_it_starts(stack):
    webhook = _webhook("http://127.0.0.1:9/hook")
    assert wake({"d1": webhook.id}) == 1
    assert wake({"d2": webhook.id}) == 1
    assert _drains_queued_for(webhook.id) == 1
    # The drain lowers the flag when it starts: a change committed after that wakes another.
    drain.lower_wake_flag(webhook.id)
    wake({"d3": webhook.id})
    assert _drains_queued_for(webhook.id) == 2


def test_a_stream_of_lone_deliveries_goes_out_in_batches(stack, receiver):
    webhook = _webhook(receiver.url)
    count = drain.batch_size() + 10  # a full batch and part of another
    ids = [send_test(webhook).id for _ in range(count)]
    publisher.flush()
    assert _drains_queued_for(webhook.id) == 1
    worker = stack.worker(concurrency=4)
    received = receiver.wait_for(count, timeout=30)
    assert len({r.headers["webhook-id"] for r in received}) == count
    deliveries = [wait_for_delivery(d, DeliveryStatus.SUCCEEDED) for d in ids]
    assert all(d.tries == 1 for d in deliveries)
    assert all(d.attempts.count() == 1 for d in deliveries)
    # One drain task per batch (the last one finds nothing left), and no task of their own.
    log = worker.log_path.read_text()
    batches = math.ceil(count / drain.batch_size())
    assert batches <= log.count("delivery.tasks.drain_webhook[") // 2 <= batches + 1
    assert "delivery.tasks.deliver[" not in log


def test_without_redis_a_lone_delivery_waits_for_the_sweeper(stack, receiver):
    webhook = _webhook(receiver.url)
    session_redis().stop()
    try:
        delivery = send_test(webhook)
        publisher.flush()
    finally:
        session_redis().start()
    assert Delivery.objects.get(pk=delivery.id).status == DeliveryStatus.PENDING
    stack.worker()
    stack.beat()
    (request,) = receiver.wait_for(1, timeout=30)
    assert request.headers["webhook-id"] == delivery.event_id


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED: PostgreSQL")
def test_a_claim_passes_over_a_delivery_another_transaction_holds(stack):
    """Overlapping drains of one webhook must not queue behind (or deadlock with) each
    other's row locks: a held delivery is left to its holder."""
    delivery = send_test(_webhook("http://127.0.0.1:9/hook"))
    publisher.flush()
    policy = RetryPolicy.from_settings(settings)
    held, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                list(Delivery.objects.select_for_update().filter(pk=delivery.id))
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    # Had it waited for the lock, the holder would have let go after 10 s and this would claim.
    assert claim_tries([delivery.id], policy) == []
    release.set()
    thread.join(10)
    assert [c.delivery_id for c in claim_tries([delivery.id], policy)] == [delivery.id]
