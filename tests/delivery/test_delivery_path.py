"""The delivery contract over the real path: Redis, a worker process, an HTTP receiver."""

import json

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.services import send_test
from delivery.tries import LOST_TRY_ERROR
from events.models import Event
from subscriptions.models import WebhookStatus
from subscriptions.services import create_webhook, rotate_secret
from tests.delivery.helpers import wait_for_delivery
from tests.support.builders import organization_with_admin
from tests.support.receiver import Reply

pytestmark = pytest.mark.integration


@pytest.fixture
def webhook_and_secret(worker, receiver):
    organization, membership = organization_with_admin()
    webhook, secret = create_webhook(
        organization, {"url": receiver.url, "triggers": ["DataSetRecordCreated"]},
        actor=membership.user,
    )
    return webhook, secret


def test_first_try_delivers_signed_body_with_standard_headers(webhook_and_secret, receiver):
    webhook, secret = webhook_and_secret
    delivery = send_test(webhook)
    delivery = wait_for_delivery(delivery.id, DeliveryStatus.SUCCEEDED)
    (request,) = receiver.wait_for(1)
    event = Event.objects.get(pk=delivery.event_id)
    assert request.body == event.body.encode()
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-id"] == event.id
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("ps-webhooks/")
    # The receiver's own check, with the reference library: raises if the signature is wrong.
    payload = StandardWebhook(secret).verify(request.body, headers)
    assert payload["type"] == "Ping" and payload["data"]["webhookId"] == webhook.id
    (attempt,) = delivery.attempts.all()
    assert attempt.number == 1 and attempt.response_status == 200
    assert attempt.request_headers["webhook-signature"] == "<redacted>"
    assert secret not in json.dumps(attempt.request_headers)


def test_500_500_200_is_delivered_on_try_three_with_the_same_id_and_body(
    webhook_and_secret, receiver
):
    webhook, _ = webhook_and_secret
    receiver.reply_with(Reply(500), Reply(500), Reply(200))
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    requests = receiver.wait_for(3)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    assert delivery.tries == 3
    assert list(delivery.attempts.values_list("number", "response_status")) == [
        (1, 500), (2, 500), (3, 200)
    ]


def test_always_500_fails_after_exactly_three_tries(webhook_and_secret, receiver):
    webhook, _ = webhook_and_secret
    receiver.default = Reply(500, body=b"boom")
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.FAILED)
    assert delivery.tries == 3
    assert delivery.attempts.count() == 3
    assert delivery.attempts.last().response_excerpt == "boom"
    # Nothing comes after the third try.
    import time

    time.sleep(1.5)
    assert len(receiver.requests) == 3


def test_a_hanging_receiver_counts_a_timed_out_try(webhook_and_secret, receiver):
    webhook, _ = webhook_and_secret
    receiver.reply_with(Reply(200, delay=3.5))  # read timeout in tests is 2 s
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    first, second = delivery.attempts.order_by("number")
    assert first.response_status is None and "timeout" in first.error.lower()
    assert 1900 <= first.duration_ms < 3500
    assert second.response_status == 200


def test_410_disables_the_webhook(webhook_and_secret, receiver):
    webhook, _ = webhook_and_secret
    receiver.reply_with(Reply(410))
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.FAILED)
    assert delivery.tries == 1
    webhook.refresh_from_db()
    assert webhook.status == WebhookStatus.DISABLED
    assert "410" in webhook.disabled_reason


def test_redirects_are_not_followed(webhook_and_secret, receiver):
    webhook, _ = webhook_and_secret
    receiver.default = Reply(302, headers={"Location": receiver.url + "/elsewhere"})
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.FAILED)
    assert {r.path for r in receiver.requests} == {"/hook"}
    assert delivery.last_status_code == 302


def test_rotated_secret_signs_with_old_and_new(webhook_and_secret, receiver):
    webhook, old_secret = webhook_and_secret
    new_secret = rotate_secret(webhook)
    wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    (request,) = receiver.wait_for(1)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert len(headers["webhook-signature"].split(" ")) == 2
    StandardWebhook(old_secret).verify(request.body, headers)
    StandardWebhook(new_secret).verify(request.body, headers)


def test_a_lost_try_is_recorded_and_counted(webhook_and_secret, receiver, settings):
    """A claimed try whose worker died is kept as a try: the 3-try limit holds across crashes."""
    webhook, _ = webhook_and_secret
    delivery = send_test(webhook)
    wait_for_delivery(delivery.id, DeliveryStatus.SUCCEEDED)
    # Simulate the state a SIGKILL leaves: tries claimed, no attempt recorded.
    ghost = Delivery.objects.create(
        event_id=delivery.event_id, webhook=webhook, organization_id=webhook.organization_id,
        url=webhook.url, tries=2,
    )
    from delivery.tasks import deliver

    deliver.delay([ghost.id])
    ghost = wait_for_delivery(ghost.id, DeliveryStatus.SUCCEEDED)
    assert ghost.tries == 3
    lost = Attempt.objects.get(delivery=ghost, number=2)
    assert lost.error == LOST_TRY_ERROR


def test_a_fan_out_batch_keeps_each_deliverys_own_tries_and_record(worker):
    """One event to six webhooks goes out as one batch task; each delivery still ends on
    its own terms, with its own tries and attempts."""
    from datasets.services import create_data_set, create_record
    from tests.support.receiver import Receiver

    organization, membership = organization_with_admin()
    data_set = create_data_set(organization, "D", [{"name": "N", "fieldType": "Text"}])
    with Receiver() as ok, Receiver() as flaky, Receiver() as gone, Receiver() as down:
        flaky.reply_with(Reply(500))
        gone.default = Reply(410)
        down.default = Reply(503)
        hooks = {}
        for name, receiver in [("ok1", ok), ("ok2", ok), ("ok3", ok), ("flaky", flaky),
                               ("gone", gone), ("down", down)]:
            hooks[name], _ = create_webhook(organization, {
                "url": f"{receiver.url}/{name}", "triggers": ["DataSetRecordCreated"]})
        create_record(data_set, {data_set.fields.get().id: "x"}, actor=membership.user)
        deliveries = {d.webhook_id: d for d in Delivery.objects.all()}
        assert len(deliveries) == 6
        expected = {"ok1": ("succeeded", 1), "ok2": ("succeeded", 1), "ok3": ("succeeded", 1),
                    "flaky": ("succeeded", 2), "gone": ("failed", 1), "down": ("failed", 3)}
        for name, (status, tries) in expected.items():
            delivery = wait_for_delivery(deliveries[hooks[name].id].id, status)
            assert delivery.tries == tries, name
            assert list(delivery.attempts.values_list("number", flat=True)) == list(
                range(1, tries + 1)), name
        hooks["gone"].refresh_from_db()
        assert hooks["gone"].status == WebhookStatus.DISABLED
        ids = {r.headers["webhook-id"] for rec in (ok, flaky, gone, down) for r in rec.requests}
        assert len(ids) == 1
        assert len(ok.requests) == 3 and len(down.requests) == 3


def test_a_slow_answer_marks_the_endpoint_slow_and_a_fast_one_does_not(
    webhook_and_secret, receiver
):
    from delivery.throttle import endpoint_is_slow

    webhook, _ = webhook_and_secret
    wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    assert not endpoint_is_slow(webhook.url)
    receiver.reply_with(Reply(200, delay=1.3))  # WEBHOOK_SLOW_RESPONSE_SECONDS is 1
    wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    assert endpoint_is_slow(webhook.url)


def test_custom_headers_are_sent_on_every_try_and_kept_out_of_the_record(worker, receiver):
    organization, membership = organization_with_admin()
    webhook, secret = create_webhook(organization, {
        "url": receiver.url, "triggers": ["DataSetRecordCreated"],
        "headers": {"X-Api-Key": "gateway-key-123", "X-Route": "eu"}}, actor=membership.user)
    receiver.reply_with(Reply(500))
    delivery = wait_for_delivery(send_test(webhook).id, DeliveryStatus.SUCCEEDED)
    requests = receiver.wait_for(2)
    for request in requests:
        assert request.headers["X-Api-Key"] == "gateway-key-123"
        assert request.headers["X-Route"] == "eu"
        StandardWebhook(secret).verify(request.body, {k.lower(): v
                                                      for k, v in request.headers.items()})
    for attempt in delivery.attempts.all():
        assert attempt.request_headers["X-Api-Key"] == "<redacted>"
        assert "gateway-key-123" not in json.dumps(attempt.request_headers)
