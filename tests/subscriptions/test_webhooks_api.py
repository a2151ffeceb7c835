"""/api/v1/webhooks: shape, validation, secrets shown once, Admins only, the 50 limit."""

import threading

import pytest
from django.db import close_old_connections

from subscriptions.models import Webhook, WebhookSecret

URL = "http://127.0.0.1:9/hook"
pytestmark = pytest.mark.django_db


def create(caller, **overrides):
    body = {"url": URL, "triggers": ["TaskCheckedUnchecked"], **overrides}
    return caller.post("/api/v1/webhooks", body)


def test_create_returns_201_with_the_secret_once(admin):
    response = create(admin, triggers=["TaskChecked", "WorkflowRunCreated"])
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["triggers"] == ["TaskChecked", "WorkflowRunCreated"]
    assert body["status"] == "Active" and len(body["id"]) == 22
    assert body["createdBy"]["email"] == "admin@acme.test"
    listed = admin.get("/api/v1/webhooks").json()
    assert listed["total"] == 1 and "secret" not in listed["data"][0]
    one = admin.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in one and body["secret"] not in str(one)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://user:pw@example.com/x"}, "url"),
        ({"url": "http://10.0.0.1/x"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"triggers": []}, "triggers"),
        ({"triggers": ["Nope"]}, "triggers"),
        ({"triggers": ["TaskReady", "DataSetRecordCreated"]}, "triggers"),
        ({"workflowId": "AAAAAAAAAAAAAAAAAAAAAA"}, "workflowId"),
        ({"taskId": "AAAAAAAAAAAAAAAAAAAAAA"}, "taskId"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(admin, overrides, field):
    response = create(admin, **overrides)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["errorCode"] == "BadRequest"
    assert field in body["details"], body
    assert not Webhook.objects.exists() and not WebhookSecret.objects.exists()


def test_put_replaces_and_rotate_shows_a_new_secret(admin):
    created = create(admin).json()
    replaced = admin.put(
        f"/api/v1/webhooks/{created['id']}",
        {"url": URL + "2", "triggers": ["TaskReady"]},
    )
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["triggers"] == ["TaskReady"] and replaced.json()["url"] == URL + "2"
    rotated = admin.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previousSecretsExpire"]
    webhook = Webhook.objects.get()
    assert webhook.secrets.count() == 2


def test_delete(admin):
    created = create(admin).json()
    assert admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("role", ["member", "guest"])
def test_members_and_guests_get_403(request, admin, role):
    created = create(admin).json()
    caller = request.getfixturevalue(role)
    assert caller.get("/api/v1/webhooks").status_code == 403
    assert create(caller).status_code == 403
    assert caller.get(f"/api/v1/webhooks/{created['id']}").status_code == 403
    assert caller.get("/api/v1/deliveries").status_code == 403


def test_another_organizations_webhook_is_404(admin, other_admin):
    created = create(admin).json()
    assert other_admin.get(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert other_admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert other_admin.get("/api/v1/webhooks").json()["total"] == 0


def test_the_51st_webhook_is_refused(admin, settings):
    settings.WEBHOOK_MAX_PER_ORGANIZATION = 3
    for _ in range(3):
        assert create(admin).status_code == 201
    response = create(admin)
    assert response.status_code == 409
    assert response.json()["errorCode"] == "Conflict"
    assert "at most 3" in response.json()["details"]["webhooks"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_cannot_pass_the_limit(admin, settings):
    settings.WEBHOOK_MAX_PER_ORGANIZATION = 5
    statuses = []

    def post():
        try:
            statuses.append(create(admin).status_code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=post) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Webhook.objects.count() == 5
    assert sorted(statuses) == [201] * 5 + [409] * 7
