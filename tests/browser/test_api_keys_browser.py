"""An organization Admin creates an API key in the admin, copies it from the one page that shows
it, and the key works against the API."""

import json
import tempfile
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey
from tests.support import builders
from tests.support.builders import PASSWORD

pytestmark = [pytest.mark.timeout(120)]


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(username)


def test_api_key_created_in_the_admin_works_against_the_api(live_server, page, transactional_db):
    organization = builders.organization("Keys Org")
    builders.staff_admin(organization, "keys-admin", email="keys@browser.test")
    base = live_server.url
    login(page, base, "keys-admin")

    page.goto(f"{base}/admin/accounts/apikey/")
    page.click("a.addlink")
    page.fill("#id_name", "browser integration")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .warning")).to_contain_text("shown only on this page")
    raw = page.input_value("#api-key")
    assert raw.startswith("psk_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-api-key")
    expect(page.locator("#api-key-copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    shot = Path(tempfile.mkdtemp(prefix="api-key-")) / "created.png"
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")

    request = urllib.request.Request(f"{base}/api/v1/webhooks", headers={"X-API-Key": raw})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert json.load(response)["total"] == 0

    # Back to the list: the key is there by its prefix, never in full.
    page.click("#done")
    expect(page.locator("#result_list")).to_contain_text("browser integration")
    assert raw not in page.content()
    assert ApiKey.objects.get(name="browser integration").prefix == raw[:12]
