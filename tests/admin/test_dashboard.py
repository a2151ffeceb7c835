"""The admin as a delivery dashboard: webhooks with a name and their health in the list, the
delivery log filtered, searched, to the second and read-only, the grouped trigger picker, a
test of a chosen type and the recover preview."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.utils import timezone

from delivery.models import Attempt, Delivery, DeliveryStatus
from events.examples import stored_examples
from events.models import Event
from subscriptions.models import Webhook, WebhookSecret
from tests.support import builders
from tests.support.builders import PASSWORD

SECOND = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


@pytest.fixture
def org(db):
    organization = builders.organization("Dash Org")
    builders.staff_admin(organization, "dash", email="dash@example.com")
    return organization


@pytest.fixture
def admin_client(client, org):
    assert client.login(username="dash", password=PASSWORD)
    return client


def webhook(org, name="", url="https://receiver.example/hook", triggers=("TaskReady",)):
    hook = Webhook.objects.create(organization=org, name=name, url=url, triggers=list(triggers))
    WebhookSecret.objects.create(webhook=hook, secret="whsec_" + "A" * 44)
    return hook


def delivery(hook, status, code=None, error="", event_type="TaskReady", ago=timedelta(0)):
    event = Event.objects.create(organization=hook.organization, type=event_type,
                                 created_date=timezone.now() - ago, body='{"type":"x"}')
    row = Delivery.objects.create(event=event, webhook=hook, organization=hook.organization,
                                  url=hook.url, status=status, tries=1, last_status_code=code,
                                  last_error=error, last_try_at=timezone.now())
    Attempt.objects.create(
        delivery=row, number=1, started_at=timezone.now() - ago, duration_ms=12,
        request_headers={"webhook-id": event.id, "webhook-signature": "v1,abc"},
        response_status=code, response_headers={"x-receiver": "yes"},
        response_excerpt='{"ok": false}' if status == "failed" else '{"ok": true}', error=error,
    )
    if ago:
        Delivery.objects.filter(pk=row.pk).update(created_date=timezone.now() - ago)
    return row


def test_webhook_list_shows_name_status_success_rate_and_last_error(admin_client, org):
    crm = webhook(org, name="CRM sync")
    webhook(org, name="Quiet one", url="https://quiet.example/")
    for _ in range(3):
        delivery(crm, DeliveryStatus.SUCCEEDED, 200)
    delivery(crm, DeliveryStatus.FAILED, 503)
    delivery(crm, DeliveryStatus.SUCCEEDED, 200, ago=timedelta(days=8))  # outside the 7 days

    page = admin_client.get("/admin/subscriptions/webhook/").content.decode()
    row = page[page.index("CRM sync"):page.index("Quiet one")]
    assert "https://receiver.example/hook" in row and "Active" in row
    assert 'data-rate="75.0"' in row and "of 4" in row
    assert "HTTP 503" in row and SECOND.search(row)
    assert f"webhook__id__exact={crm.pk}" in row  # the link to its deliveries
    quiet = page[page.index("Quiet one"):]
    assert "no deliveries" in quiet


def test_webhook_form_has_name_description_and_grouped_trigger_picker(admin_client, org):
    page = admin_client.get("/admin/subscriptions/webhook/add/").content.decode()
    assert 'name="name"' in page and 'name="description"' in page
    for group in ("Workflow runs and tasks", "Forms (scope: one form)", "Data sets"):
        assert group in page
    values = re.findall(r'name="triggers" value="([A-Za-z]+)"', page)
    assert len(values) == 13 and "WorkflowRunCreated" not in values
    assert "Public name: WorkflowRunCreated (the same events)" in page
    assert "Only when a task is checked" in page

    response = admin_client.post("/admin/subscriptions/webhook/add/", {
        "organization": org.pk, "name": "Runs to CRM", "description": "Copies runs.",
        "url": "http://127.0.0.1:9/", "triggers": ["ChecklistCreated"],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Webhook.objects.get(name="Runs to CRM")
    assert created.description == "Copies runs." and created.triggers == ["ChecklistCreated"]

    # A webhook made through the API with the public name shows the one checkbox ticked.
    aliased = webhook(org, triggers=["WorkflowRunCreated"])
    url = f"/admin/subscriptions/webhook/{quote(aliased.pk)}/change/"
    page = admin_client.get(url).content.decode()
    assert re.search(r'value="ChecklistCreated"[^>]*checked', page)


def test_delivery_log_filters_and_search(admin_client, org):
    a, b = webhook(org, name="A hook"), webhook(org, name="B hook")
    ok = delivery(a, DeliveryStatus.SUCCEEDED, 200)
    bad = delivery(a, DeliveryStatus.FAILED, 500, event_type="TaskApproved")
    lost = delivery(b, DeliveryStatus.FAILED, None, error="connection refused")
    old = delivery(b, DeliveryStatus.SUCCEEDED, 204, ago=timedelta(days=3))

    def listed(query: str) -> set[str]:
        page = admin_client.get(f"/admin/delivery/delivery/?{query}")
        assert page.status_code == 200, query
        ids = {d.pk for d in (ok, bad, lost, old)}
        return {i for i in ids if i in page.content.decode()}

    assert listed(f"webhook__id__exact={a.pk}") == {ok.pk, bad.pk}
    assert listed("status__exact=failed") == {bad.pk, lost.pk}
    assert listed("http=5xx") == {bad.pk}
    assert listed("http=2xx") == {ok.pk, old.pk}
    assert listed("http=none") == {lost.pk}
    assert listed("event__type=TaskApproved") == {bad.pk}
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert listed(f"created_date__gte={since}") == {ok.pk, bad.pk, lost.pk}
    assert listed(f"q={bad.pk}") == {bad.pk}
    assert listed(f"q={lost.event_id}") == {lost.pk}
    assert listed(f"q={b.pk}") == {lost.pk, old.pk}

    page = admin_client.get("/admin/delivery/delivery/").content.decode()
    assert SECOND.search(page) and "A hook" in page


def test_delivery_page_shows_each_try_to_the_second_with_headers_and_bodies(admin_client, org):
    row = delivery(webhook(org), DeliveryStatus.FAILED, 503)
    page = admin_client.get(f"/admin/delivery/delivery/{quote(row.pk)}/change/").content.decode()
    started = timezone.localtime(row.attempts.get().started_at)
    assert started.strftime("%Y-%m-%d %H:%M:%S UTC") in page
    assert "webhook-signature" in page and "x-receiver" in page
    assert "&quot;ok&quot;: false" in page  # the response body, pretty-printed
    assert "request headers" in page.lower() and "response headers" in page.lower()


def test_delivery_log_is_read_only_for_organization_admins(admin_client, org):
    row = delivery(webhook(org), DeliveryStatus.SUCCEEDED, 200)
    assert admin_client.get(f"/admin/delivery/delivery/{quote(row.pk)}/delete/").status_code == 403
    listing = admin_client.get("/admin/delivery/delivery/").content.decode()
    assert "delete_selected" not in listing
    response = admin_client.post("/admin/delivery/delivery/", {
        "action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert Delivery.objects.filter(pk=row.pk).exists()
    assert response.status_code in (200, 302)


def test_send_test_of_a_chosen_type_creates_a_marked_event_and_delivery(admin_client, org):
    hook = webhook(org, triggers=["ChecklistCompleted"])
    other = webhook(org, triggers=["ChecklistCompleted"], url="https://other.example/")
    url = f"/admin/subscriptions/webhook/{quote(hook.pk)}/change/"
    page = admin_client.get(url).content.decode()
    assert '<option value="ChecklistCompleted">ChecklistCompleted (in its triggers)' in page
    assert page.index('value="ChecklistCompleted"') < page.index('value="TaskReady"')

    admin_client.post(f"/admin/subscriptions/webhook/{quote(hook.pk)}/send-test/",
                      {"type": "DataSetRecordUpdated"})
    (sent,) = Delivery.objects.filter(webhook=hook)
    assert not Delivery.objects.filter(webhook=other).exists()
    body = json.loads(sent.event.body)
    assert body["type"] == sent.event.type == "DataSetRecordUpdated"
    assert body["test"] is True and body["id"] == sent.event_id
    assert body["data"] == stored_examples()["DataSetRecordUpdated"]["data"]
    assert sent.status == DeliveryStatus.PENDING

    response = admin_client.post(f"/admin/subscriptions/webhook/{quote(hook.pk)}/send-test/",
                                 {"type": "NoSuchType"}, follow=True)
    assert "Unknown event type &#x27;NoSuchType&#x27;" in response.content.decode()
    assert Delivery.objects.filter(webhook=hook).count() == 1


def test_recover_shows_how_many_before_resending(admin_client, org):
    hook = webhook(org)
    failed = [delivery(hook, DeliveryStatus.FAILED, 500, ago=timedelta(hours=h)) for h in (2, 3)]
    delivery(hook, DeliveryStatus.FAILED, 500, ago=timedelta(days=3))  # before the window
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    url = f"/admin/subscriptions/webhook/{quote(hook.pk)}/recover/"

    preview = admin_client.post(url, {"since": since}).content.decode()
    assert 'data-count="2"' in preview and "Resend 2 deliveries" in preview
    assert not Delivery.objects.filter(redelivery_of__in=failed).exists()

    done = admin_client.post(url, {"since": since, "confirm": "1"}, follow=True)
    assert "2 failed delivery(ies) since" in done.content.decode()


def test_webhook_api_has_name_and_description_and_test_of_a_type(org):
    from rest_framework.test import APIClient

    from accounts.models import Membership

    api = APIClient()
    api.credentials(HTTP_X_API_KEY=builders.api_key(Membership.objects.get(organization=org)))
    created = api.post("/api/v1/webhooks", {
        "name": "CRM", "description": "d", "url": "http://127.0.0.1:9/",
        "triggers": ["TaskReady"]}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["name"] == "CRM" and created.json()["description"] == "d"
    hook_id = created.json()["id"]
    too_long = api.post("/api/v1/webhooks", {"name": "x" * 101, "url": "http://127.0.0.1:9/",
                                             "triggers": ["TaskReady"]}, format="json")
    assert too_long.status_code == 400 and "name" in too_long.json()["details"]
    sent = api.post(f"/api/v1/webhooks/{hook_id}/test", {"type": "TaskApproved"}, format="json")
    assert sent.status_code == 202 and sent.json()["eventType"] == "TaskApproved"
    bad = api.post(f"/api/v1/webhooks/{hook_id}/test", {"type": "Nope"}, format="json")
    assert bad.status_code == 400 and "type" in bad.json()["details"]
    ping = api.post(f"/api/v1/webhooks/{hook_id}/test", format="json")
    assert ping.status_code == 202 and ping.json()["eventType"] == "Ping"


def test_event_pages_are_read_only_with_times_to_the_second(admin_client, org):
    row = delivery(webhook(org), DeliveryStatus.SUCCEEDED, 200)
    page = admin_client.get(f"/admin/events/event/{quote(row.event_id)}/change/").content.decode()
    assert SECOND.search(page) and row.pk in page
    assert admin_client.get(f"/admin/events/event/{quote(row.event_id)}/delete/").status_code == 403
    assert "delete_selected" not in admin_client.get("/admin/events/event/").content.decode()
