"""Nothing is lost when workers, Redis or receivers fail."""

import json
import os
import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from datasets.services import create_data_set, create_record
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.services import send_test
from delivery.tries import LOST_TRY_ERROR
from events.models import Event
from subscriptions.models import WebhookStatus
from subscriptions.services import create_webhook, enable_webhook, replace_webhook
from tests.delivery.helpers import wait_for_delivery
from tests.support.builders import api_key, organization_with_admin
from tests.support.receiver import Receiver, Reply

pytestmark = pytest.mark.integration


def _webhook(receiver_url: str, triggers=("DataSetRecordCreated",)):
    organization, admin = organization_with_admin()
    webhook, secret = create_webhook(
        organization, {"url": receiver_url, "triggers": list(triggers)}
    )
    return organization, admin, webhook


def _wait(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_killed_mid_try_completes_after_restart_without_a_fourth_try(stack, receiver):
    _, _, webhook = _webhook(receiver.url)
    worker = stack.worker()
    stack.beat()
    receiver.reply_with(Reply(200, delay=1.5))
    delivery = send_test(webhook)
    receiver.wait_for(1)
    worker.kill()  # SIGKILL while the receiver is still answering
    stack.worker()
    delivery = wait_for_delivery(delivery.id, DeliveryStatus.SUCCEEDED, timeout=45)
    requests = receiver.wait_for(2)
    assert {r.headers["webhook-id"] for r in requests} == {delivery.event_id}
    assert 2 <= delivery.tries <= 3
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert attempts[0].error == LOST_TRY_ERROR
    assert attempts[-1].response_status == 200
    assert len(attempts) == delivery.tries


def test_redis_down_at_commit_then_the_sweeper_delivers(stack, receiver):
    organization, admin, webhook = _webhook(receiver.url)
    data_set = create_data_set(organization, "D", [{"name": "Name", "fieldType": "Text"}])
    field_id = data_set.fields.get().id
    stack.worker()
    stack.beat()
    stack.redis.stop()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key(admin))
    response = client.post(
        f"/api/v1/data-sets/{data_set.id}/records", {"cells": [{"fieldId": field_id,
                                                                "value": "Offline"}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and Event.objects.count() == 1
    stack.redis.start()
    wait_for_delivery(delivery.id, DeliveryStatus.SUCCEEDED, timeout=45)
    (request,) = receiver.wait_for(1)
    assert json.loads(request.body)["data"]["cells"] == {field_id: "Offline"}


def test_retries_survive_a_redis_restart_that_loses_its_data(stack, receiver):
    _, _, webhook = _webhook(receiver.url)
    receiver.reply_with(Reply(500))
    worker = stack.worker(WEBHOOK_RETRY_DELAYS="4,4")
    stack.beat(WEBHOOK_RETRY_DELAYS="4,4")
    delivery = send_test(webhook)
    _wait(lambda: Attempt.objects.filter(delivery=delivery).exists(), what="first try")
    # The retry lives in Redis and in the worker's memory: lose both.
    worker.kill()
    stack.restart_redis()
    stack.worker(WEBHOOK_RETRY_DELAYS="4,4")
    delivery = wait_for_delivery(delivery.id, DeliveryStatus.SUCCEEDED, timeout=45)
    assert delivery.tries == 2
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.event_id] * 2


def test_receiver_down_past_the_retry_window_then_recover_in_event_order(stack):
    with Receiver() as down:
        dead_url = down.url
    organization, admin, webhook = _webhook(dead_url)
    data_set = create_data_set(organization, "D", [{"name": "N", "fieldType": "Text"}])
    field_id = data_set.fields.get().id
    since = timezone.now() - timedelta(seconds=1)
    stack.worker()
    for n in range(5):
        create_record(data_set, {field_id: f"r{n}"}, actor=admin.user)
    _wait(lambda: Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 5,
          what="5 failed deliveries")
    assert set(Delivery.objects.values_list("tries", flat=True)) == {3}
    with Receiver() as receiver:
        replace_webhook(webhook, {"url": receiver.url, "triggers": webhook.triggers})
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=api_key(admin))
        response = client.post(f"/api/v1/webhooks/{webhook.id}/recover",
                               {"since": since.isoformat()}, format="json")
        assert response.status_code == 202 and response.json() == {"count": 5}
        received = receiver.wait_for(5)
        values = sorted(json.loads(r.body)["data"]["cells"][field_id] for r in received)
        assert values == [f"r{n}" for n in range(5)]
        redeliveries = Delivery.objects.filter(redelivery_of__isnull=False).order_by(
            "created_date", "id")
        _wait(lambda: all(d.status == "succeeded" for d in redeliveries.all()), what="recovery")
        # Created in event order (in batches of WEBHOOK_BATCH_SIZE=2).
        created_order = [json.loads(d.event.body)["data"]["cells"][field_id]
                         for d in redeliveries.select_related("event")]
        assert created_order == [f"r{n}" for n in range(5)]
        # A second recover finds nothing left to redeliver.
        again = client.post(f"/api/v1/webhooks/{webhook.id}/recover",
                            {"since": since.isoformat()}, format="json")
        assert again.json() == {"count": 0}


def test_a_failing_webhook_is_auto_disabled_and_admins_emailed(stack, receiver, tmp_path):
    _, admin, webhook = _webhook(receiver.url)
    receiver.default = Reply(500)
    stack.worker(WEBHOOK_AUTO_DISABLE_AFTER=1, WEBHOOK_AUTO_DISABLE_MIN_FAILURES=2,
                 EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                 EMAIL_FILE_PATH=tmp_path)
    first = send_test(webhook)
    wait_for_delivery(first.id, DeliveryStatus.FAILED)
    time.sleep(1.1)
    second = send_test(webhook)
    wait_for_delivery(second.id, DeliveryStatus.FAILED)
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED
    assert "2 deliveries in a row failed" in webhook.disabled_reason
    # The file backend creates the file before it writes the message: wait for its content.
    mail = _wait(lambda: [p for p in tmp_path.iterdir() if p.stat().st_size], what="an email")
    text = mail[0].read_text()
    assert admin.user.email in text and "Webhook disabled" in text
    # Deliveries to a disabled webhook are cancelled, not sent.
    cancelled = send_test(webhook)
    wait_for_delivery(cancelled.id, DeliveryStatus.CANCELLED)
    # Enabling it again resumes delivery.
    enable_webhook(webhook)
    receiver.default = Reply(200)
    wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)


def test_slow_receivers_do_not_starve_healthy_ones(stack):
    """5 receivers hang past the read timeout (5 s here) on every request; once a try to each
    has timed out they hold at most 2 of the worker's 16 threads each, and a healthy receiver
    gets its deliveries at once, not after hanging tries time out."""
    slow = [Receiver(default=Reply(200, delay=6.0)) for _ in range(5)]
    healthy = Receiver()
    for receiver in [*slow, healthy]:
        receiver.__enter__()
    try:
        stack.worker(concurrency=16, WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT=2, WEBHOOK_READ_TIMEOUT=5)
        organization, _ = organization_with_admin()
        slow_hooks = [create_webhook(organization, {"url": r.url, "triggers": ["TaskReady"]})[0]
                      for r in slow]
        healthy_hook = create_webhook(organization, {"url": healthy.url,
                                                     "triggers": ["TaskReady"]})[0]
        for webhook in slow_hooks:
            for _ in range(8):
                send_test(webhook)
        # A host is limited once one of its tries has timed out (until then a burst to it can
        # hold threads for one timeout): wait for that steady state on all five.
        _wait(lambda: all(
            Attempt.objects.filter(delivery__webhook=h, error__icontains="timeout").exists()
            for h in slow_hooks), timeout=60, what="every slow receiver timing out")
        healthy_ids, sent_at = [], []
        for _ in range(10):
            healthy_ids.append(send_test(healthy_hook).id)
            sent_at.append(time.time())
        received = healthy.wait_for(10, timeout=20)
        arrived = sorted(r.arrived for r in received)
        latest = max(a - s for a, s in zip(arrived, sent_at, strict=True))
        # Starved, they would wait for hanging tries to time out: 5 s or more.
        assert latest < 2.5, f"healthy deliveries took up to {latest:.2f} s"
        for delivery_id in healthy_ids:
            wait_for_delivery(delivery_id, DeliveryStatus.SUCCEEDED)
    finally:
        for receiver in [*slow, healthy]:
            receiver.__exit__(None, None, None)


def test_sigterm_lets_the_try_in_flight_finish_and_counts_it_once(stack, receiver):
    _, _, webhook = _webhook(receiver.url)
    worker = stack.worker()
    receiver.reply_with(Reply(200, delay=1.5))
    delivery = send_test(webhook)
    receiver.wait_for(1)
    worker.process.send_signal(signal.SIGTERM)
    worker.process.wait(timeout=30)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.tries == 1
    assert delivery.attempts.count() == 1
    stack.worker()
    time.sleep(1.0)
    assert len(receiver.requests) == 1
    assert os.environ.get("TEST_REDIS_URL")
