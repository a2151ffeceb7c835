"""A webhook's custom headers (write-only, refused names), rate limit and ordered delivery,
through the API."""

import pytest

from subscriptions.models import Webhook

URL = "http://127.0.0.1:9/hook"
pytestmark = pytest.mark.django_db


def create(caller, **overrides):
    body = {"url": URL, "triggers": ["TaskCheckedUnchecked"], **overrides}
    return caller.post("/api/v1/webhooks", body)


def test_header_values_are_write_only_and_kept_until_replaced(admin):
    created = create(admin, headers={"X-Api-Key": "k-123 secret", "X-Route": "eu"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["headerNames"] == ["X-Api-Key", "X-Route"] and "headers" not in body
    one = admin.get(f"/api/v1/webhooks/{body['id']}")
    listed = admin.get("/api/v1/webhooks")
    for response in (created, one, listed):
        assert "k-123 secret" not in response.content.decode()
    # A PUT that leaves headers out keeps them; {} removes them.
    kept = admin.put(f"/api/v1/webhooks/{body['id']}", {"url": URL, "triggers": ["TaskReady"]})
    assert kept.json()["headerNames"] == ["X-Api-Key", "X-Route"]
    assert Webhook.objects.get().headers == {"X-Api-Key": "k-123 secret", "X-Route": "eu"}
    cleared = admin.put(f"/api/v1/webhooks/{body['id']}",
                        {"url": URL, "triggers": ["TaskReady"], "headers": {}})
    assert cleared.json()["headerNames"] == [] and Webhook.objects.get().headers == {}


@pytest.mark.parametrize(("headers", "field"), [
    ({"Host": "evil.example"}, "headers.Host"),
    ({"content-length": "5"}, "headers.content-length"),
    ({"Content-Type": "text/plain"}, "headers.Content-Type"),
    ({"webhook-signature": "v1,x"}, "headers.webhook-signature"),
    ({"Transfer-Encoding": "chunked"}, "headers.Transfer-Encoding"),
    ({"Connection": "close"}, "headers.Connection"),
    ({"X-Bad Name": "v"}, "headers.X-Bad Name"),
    ({"X-Split": "a\r\nInjected: yes"}, "headers.X-Split"),
    ({"X-Long": "v" * 1025}, "headers.X-Long"),
    ({"X-Empty": ""}, "headers.X-Empty"),
    ({"X-A": "1", "x-a": "2"}, "headers.x-a"),
    ({f"X-H{n}": "v" for n in range(21)}, "headers"),
])
def test_refused_headers_are_400_naming_the_header_and_nothing_is_written(admin, headers, field):
    response = create(admin, headers=headers)
    assert response.status_code == 400, response.json()
    assert field in response.json()["details"], response.json()
    assert not Webhook.objects.exists()


def test_rate_limit_is_shown_and_checked(admin):
    created = create(admin, rateLimit=20).json()
    assert created["rateLimit"] == 20
    assert admin.get(f"/api/v1/webhooks/{created['id']}").json()["rateLimit"] == 20
    for bad in (0, -1, 10_001, "fast", 2.5):
        response = create(admin, rateLimit=bad)
        assert response.status_code == 400 and "rateLimit" in response.json()["details"], bad
    assert Webhook.objects.count() == 1
    unlimited = admin.put(f"/api/v1/webhooks/{created['id']}",
                          {"url": URL, "triggers": ["TaskReady"], "rateLimit": None})
    assert unlimited.json()["rateLimit"] is None


def test_ordered_delivery_is_shown_checked_and_off_by_default(admin):
    body = {"url": URL, "triggers": ["TaskReady"]}
    created = admin.post("/api/v1/webhooks", {**body, "orderedDelivery": True})
    assert created.status_code == 201, created.json()
    webhook_id = created.json()["id"]
    assert created.json()["orderedDelivery"] is True
    assert admin.get(f"/api/v1/webhooks/{webhook_id}").json()["orderedDelivery"] is True
    assert admin.post("/api/v1/webhooks", body).json()["orderedDelivery"] is False
    for bad in ("yes", 1, None, []):
        response = admin.post("/api/v1/webhooks", {**body, "orderedDelivery": bad})
        assert response.status_code == 400, bad
        assert "orderedDelivery" in response.json()["details"], response.json()
    replaced = admin.put(f"/api/v1/webhooks/{webhook_id}", body)
    assert replaced.json()["orderedDelivery"] is False
