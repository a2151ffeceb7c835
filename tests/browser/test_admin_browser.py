"""The admin in a real browser: an organization Admin logs in, creates a webhook, sends a test
event, sees the delivery succeed on the webhook's page, opens it and redelivers it."""

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

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def lower_keys(headers: dict) -> dict:
    return {name.lower(): value for name, value in headers.items()}


def reload_until(page, selector: str, timeout: float = 20.0) -> None:
    """Reloads the page until `selector` is on it (deliveries finish in the worker)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} not on {page.url} after {timeout} s")
        time.sleep(0.3)
        page.reload()


def test_org_admin_creates_a_webhook_sends_a_test_and_redelivers_it(
    live_server, worker, receiver, page
):
    organization = builders.organization("Browser Org")
    builders.staff_admin(organization, "browser-admin", email="admin@browser.test")
    other = builders.organization("Someone Else")
    base = live_server.url

    # Log in as the organization's Admin.
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "browser-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("browser-admin")

    # Create a webhook through the admin form; only their own organization is offered.
    page.goto(f"{base}/admin/subscriptions/webhook/add/")
    options = page.locator("#id_organization option").all_inner_texts()
    assert "Browser Org" in options and other.name not in options
    page.select_option("#id_organization", label="Browser Org")
    page.fill("#id_name", "Browser hook")
    page.fill("#id_url", receiver.url)
    page.check("input[name=triggers][value=ChecklistCreated]")
    page.click("input[name=_save]")
    warning = page.locator(".messagelist .warning")
    expect(warning).to_contain_text("Signing secret")
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", warning.inner_text()).group(0)
    webhook = Webhook.objects.get(organization=organization)
    assert webhook.url == receiver.url and webhook.triggers == ["ChecklistCreated"]
    assert webhook.name == "Browser hook"

    # Its page: no deliveries yet; "Send test" (a Ping, the first choice).
    page.locator("#result_list").get_by_role("link", name="Browser hook").click()
    expect(page.locator(".field-recent_deliveries")).to_contain_text("No deliveries yet")
    page.click("#send-test")
    expect(page.locator(".messagelist .success, .messagelist .info").first).to_contain_text(
        "Test event queued"
    )
    (first,) = receiver.wait_for(1)
    first_headers = lower_keys(first.headers)
    payload = StandardWebhook(secret).verify(first.body, first_headers)
    assert payload["type"] == "Ping" and payload["data"]["webhookId"] == webhook.id

    # The delivery shows up as succeeded among the recent deliveries, with its health.
    reload_until(page, "#recent-deliveries tr.recent-delivery[data-status=succeeded]")
    # The page's fields are read one by one as it renders: a try recorded meanwhile shows in
    # the later ones only. Recorded before this reload, it shows in all.
    page.reload()
    expect(page.locator(".field-success_rate")).to_contain_text("100.0% of 1")
    expect(page.locator(".field-health_summary")).to_contain_text("0 consecutive failure(s)")

    # Open the delivery: its attempt and the payload pretty-printed; "Redeliver".
    page.locator("#recent-deliveries tr.recent-delivery a").first.click()
    original = Delivery.objects.get(webhook=webhook)
    assert original.id in page.url
    expect(page.locator(".field-payload pre")).to_contain_text('"type": "Ping"')
    expect(page.locator("#attempts-group")).to_contain_text("200")
    page.click("#redeliver")
    expect(page.locator(".messagelist .success, .messagelist .info").first).to_contain_text(
        "Redelivery queued"
    )

    # A second request with the same webhook-id (same event), signed with the same secret.
    second = receiver.wait_for(2)[1]
    second_headers = lower_keys(second.headers)
    assert second_headers["webhook-id"] == first_headers["webhook-id"]
    assert second.body == first.body
    StandardWebhook(secret).verify(second.body, second_headers)
    redelivery = Delivery.objects.get(webhook=webhook, redelivery_of=original)
    assert redelivery.id in page.url  # the redelivery's own page

    # Back on the webhook's page both deliveries succeeded.
    page.goto(f"{base}/admin/subscriptions/webhook/{quote(webhook.id)}/change/")
    reload_until(page, "#recent-deliveries tr.recent-delivery[data-status=succeeded] "
                       ":text('(redelivery)')")
    page.reload()
    assert Delivery.objects.filter(
        webhook=webhook, status=DeliveryStatus.SUCCEEDED
    ).count() == 2
    expect(page.locator(".field-success_rate")).to_contain_text("100.0% of 2")

    shots = Path(tempfile.mkdtemp(prefix="admin-browser-"))
    page.screenshot(path=str(shots / "webhook-page.png"), full_page=True)
    page.goto(f"{base}/admin/subscriptions/webhook/")
    page.screenshot(path=str(shots / "webhook-list.png"), full_page=True)
    page.goto(f"{base}/admin/subscriptions/webhook/{quote(webhook.id)}/change/")

    # The other buttons: recover (nothing failed), rotate the secret, disable and enable.
    page.click("#recover")
    page.click("#preview-recover")
    expect(page.locator("#recover-preview")).to_contain_text("No failed deliveries to recover")
    expect(page.locator("#confirm-recover")).to_have_count(0)
    page.click("a.closelink:text('Cancel')")
    page.click("#rotate-secret")
    expect(page.locator(".messagelist .warning")).to_contain_text("New signing secret")
    assert webhook.secrets.count() == 2
    page.click("#disable")
    expect(page.locator(".field-badge")).to_contain_text("Disabled")
    expect(page.locator("#send-test")).to_have_count(0)
    page.click("#enable")
    expect(page.locator(".field-badge")).to_contain_text("Active")

    # The event's page lists every delivery of it (here: the one webhook, twice).
    page.goto(f"{base}/admin/events/event/{quote(original.event_id)}/change/")
    expect(page.locator("#deliveries-group tbody tr.has_original")).to_have_count(2)
    assert (shots / "webhook-page.png").stat().st_size > 0
    print(f"screenshot: {shots / 'webhook-page.png'}")
