"""The admin as a delivery dashboard in a real browser: two named webhooks, one whose receiver
fails; the list shows each one's health, the failing one's link opens its filtered delivery
log, and a delivery's page shows every try to the second with headers and bodies."""

import json
import re
import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook as StandardWebhook

from delivery.models import Delivery, DeliveryStatus
from subscriptions.models import Webhook
from tests.support import builders
from tests.support.builders import PASSWORD
from tests.support.receiver import Receiver, Reply

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

SECOND = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")


def settle(webhook: Webhook, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while Delivery.objects.filter(webhook=webhook).exclude(
            status=DeliveryStatus.PENDING).count() < count:
        assert time.monotonic() < deadline, f"deliveries of {webhook} not finished"
        time.sleep(0.2)


def create_webhook(page, base: str, name: str, url: str, trigger: str) -> str:
    page.goto(f"{base}/admin/subscriptions/webhook/add/")
    page.fill("#id_name", name)
    page.fill("#id_description", f"{name}, made in the browser test.")
    page.fill("#id_url", url)
    page.check(f"input[name=triggers][value={trigger}]")
    page.click("input[name=_save]")
    warning = page.locator(".messagelist .warning")
    expect(warning).to_contain_text("Signing secret")
    return re.search(r"whsec_[A-Za-z0-9+/=]+", warning.inner_text()).group(0)


def send_test(page, base: str, webhook: Webhook, event_type: str) -> None:
    page.goto(f"{base}/admin/subscriptions/webhook/{quote(webhook.pk)}/change/")
    page.select_option("#test-type", event_type)
    page.click("#send-test")
    expect(page.locator(".messagelist li").first).to_contain_text(
        f"Test event queued ({event_type})")


def test_named_webhooks_show_their_health_and_a_filtered_delivery_log(
    live_server, worker, receiver, page
):
    organization = builders.organization("Dashboard Org")
    builders.staff_admin(organization, "dash-admin", email="dash@browser.test")
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "dash-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    with Receiver(default=Reply(status=500, body=b'{"error": "CRM is down"}')) as failing:
        good_secret = create_webhook(page, base, "Good hook", receiver.url, "ChecklistCompleted")
        create_webhook(page, base, "Failing CRM", failing.url, "ChecklistCompleted")
        good = Webhook.objects.get(name="Good hook")
        bad = Webhook.objects.get(name="Failing CRM")

        # A test of a chosen type to each, through the real path.
        send_test(page, base, good, "ChecklistCompleted")
        send_test(page, base, bad, "DataSetRecordCreated")
        (arrived,) = receiver.wait_for(1)
        headers = {k.lower(): v for k, v in arrived.headers.items()}
        body = StandardWebhook(good_secret).verify(arrived.body, headers)
        assert body["type"] == "ChecklistCompleted" and body["test"] is True
        settle(good, 1)
        settle(bad, 1)
        assert len(failing.requests) == 3  # every try, then failed

    # The list: each webhook's name, status, success rate and last error.
    page.goto(f"{base}/admin/subscriptions/webhook/")
    good_row = page.locator("#result_list tbody tr", has_text="Good hook")
    bad_row = page.locator("#result_list tbody tr", has_text="Failing CRM")
    expect(good_row.locator(".badge")).to_have_text("Active")
    expect(good_row.locator(".rate")).to_have_text("100.0%")
    expect(good_row.locator(".field-error_summary")).to_have_text("-")
    expect(bad_row.locator(".rate")).to_have_text("0.0%")
    expect(bad_row.locator(".last-error")).to_have_text("HTTP 500")
    assert SECOND.search(bad_row.locator(".field-error_summary").inner_text())
    shots = Path(tempfile.mkdtemp(prefix="dashboard-"))
    page.screenshot(path=str(shots / "webhook-list.png"), full_page=True)

    # Its "failed" link: the delivery log filtered to that webhook and status.
    bad_row.get_by_role("link", name="failed").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("DataSetRecordCreated")
    expect(rows.first).to_contain_text("Failing CRM")
    expect(page.locator("#changelist-filter")).to_contain_text("HTTP status")
    page.screenshot(path=str(shots / "delivery-log.png"), full_page=True)
    # Filtering further by HTTP status 2xx leaves nothing of it.
    page.goto(page.url + "&http=2xx")
    expect(rows).to_have_count(0)

    # Searching by the webhook's id finds its deliveries.
    page.goto(f"{base}/admin/delivery/delivery/?q={good.pk}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ChecklistCompleted")

    # The failed delivery's page: three tries, each to the second, with headers and body.
    delivery = Delivery.objects.get(webhook=bad)
    page.goto(f"{base}/admin/delivery/delivery/{quote(delivery.pk)}/change/")
    tries = page.locator("#attempts-group .inline-related")
    expect(tries).to_have_count(3)
    first = tries.first
    expect(first.locator(".field-request_headers_pretty")).to_contain_text("webhook-signature")
    expect(first.locator(".field-response_body")).to_contain_text("CRM is down")
    assert SECOND.search(first.locator(".field-started").inner_text())
    expect(page.locator(".deletelink")).to_have_count(0)  # the log is read-only
    payload = json.loads(page.locator(".field-payload pre").inner_text())
    assert payload["type"] == "DataSetRecordCreated" and payload["test"] is True
    page.screenshot(path=str(shots / "delivery-page.png"), full_page=True)
    print(f"screenshots: {shots}")


def test_send_test_of_a_chosen_type_arrives_at_the_local_receiver_and_verifies(
    live_server, worker, page
):
    from tests.support.local_receiver import LocalReceiver
    from tests.support.worker import database_url_for_workers

    organization = builders.organization("Local Org")
    builders.staff_admin(organization, "local-admin", email="local@browser.test")
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "local-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    with LocalReceiver(database_url=database_url_for_workers()) as local:
        create_webhook(page, base, "Local test", local.url + "local", "TaskReady")
        webhook = Webhook.objects.get(name="Local test")
        send_test(page, base, webhook, "TaskApproved")
        line = local.wait_for_line(r"POST /local ")
        event_id = Delivery.objects.get(webhook=webhook).event_id
        assert f"TaskApproved (test) id={event_id}" in line
        assert f"signature valid (webhook Local test ({webhook.pk}))" in line
