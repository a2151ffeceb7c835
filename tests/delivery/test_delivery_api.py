"""Events and deliveries over the API: filters, attempts, redeliver, test ping."""

import pytest
from rest_framework.test import APIClient

from delivery.models import DeliveryStatus
from subscriptions.services import create_webhook
from tests.delivery.helpers import wait_for_delivery
from tests.support.builders import api_key, organization_with_admin
from tests.support.receiver import Reply

pytestmark = pytest.mark.integration


@pytest.fixture
def setup(worker, receiver):
    organization, admin = organization_with_admin()
    webhook, _ = create_webhook(
        organization, {"url": receiver.url, "triggers": ["DataSetRecordCreated"]}
    )
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key(admin))
    return webhook, client


def test_test_ping_then_list_filter_and_redeliver(setup, receiver):
    webhook, client = setup
    receiver.default = Reply(500)
    response = client.post(f"/api/v1/webhooks/{webhook.id}/test")
    assert response.status_code == 202, response.json()
    first = wait_for_delivery(response.json()["id"], DeliveryStatus.FAILED)
    assert first.tries == 3

    listed = client.get("/api/v1/deliveries", {"status": "failed", "webhookId": webhook.id})
    assert [d["id"] for d in listed.json()["data"]] == [first.id]
    assert client.get("/api/v1/deliveries", {"status": "succeeded"}).json()["total"] == 0
    detail = client.get(f"/api/v1/deliveries/{first.id}").json()
    assert [a["number"] for a in detail["attempts"]] == [1, 2, 3]
    assert {a["responseStatus"] for a in detail["attempts"]} == {500}
    assert detail["payload"]["type"] == "Ping"

    receiver.default = Reply(200)
    again = client.post(f"/api/v1/deliveries/{first.id}/redeliver")
    assert again.status_code == 202
    second = wait_for_delivery(again.json()["id"], DeliveryStatus.SUCCEEDED)
    assert second.tries == 1 and second.redelivery_of_id == first.id
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {first.event_id}, "a redelivery carries the same webhook-id"

    events = client.get("/api/v1/events", {"type": "Ping"}).json()
    assert events["total"] == 1
    assert {d["id"] for d in events["data"][0]["deliveries"]} == {first.id, second.id}


def test_redeliver_to_a_disabled_webhook_is_409(setup):
    webhook, client = setup
    response = client.post(f"/api/v1/webhooks/{webhook.id}/test")
    delivery_id = response.json()["id"]
    wait_for_delivery(delivery_id, DeliveryStatus.SUCCEEDED)
    client.post(f"/api/v1/webhooks/{webhook.id}/disable")
    conflict = client.post(f"/api/v1/deliveries/{delivery_id}/redeliver")
    assert conflict.status_code == 409
    assert conflict.json()["errorCode"] == "Conflict"
    assert client.post(f"/api/v1/webhooks/{webhook.id}/test").status_code == 409
