"""The API reference in a real browser with every request off this machine refused: Swagger UI
and ReDoc render the operations from the project's own static files."""

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.timeout(120)]

LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}


def offline(page) -> list[str]:
    """Aborts every request that leaves the loopback interface; returns the list of them."""
    refused: list[str] = []

    def handle(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return refused


def test_swagger_ui_renders_operations_without_network(live_server, page):
    refused = offline(page)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 40
    summaries = page.locator(".opblock-summary-description", has_text="Create a webhook")
    expect(summaries).to_have_count(1)
    # An operation opens with its description and example written for integrators.
    page.locator(".opblock-post .opblock-summary", has_text="Create a webhook").first.click()
    expect(page.locator(".opblock-description-wrapper").first).to_contain_text("signing")
    # The outgoing events, from the schema's webhooks section (OpenAPI 3.1).
    webhook_ops = page.locator(".opblock-summary-path", has_text="TaskApproved")
    expect(webhook_ops.first).to_be_attached()
    shot = Path(tempfile.mkdtemp(prefix="api-docs-")) / "swagger.png"
    page.screenshot(path=str(shot), full_page=False)
    print(f"screenshot: {shot}")
    assert refused == []


def test_redoc_renders_without_network(live_server, page):
    refused = offline(page)
    page.goto(f"{live_server.url}/api/redoc/")
    expect(page.locator("h2", has_text="Create a webhook").first).to_be_attached()
    expect(page.locator("h1").first).to_contain_text("Webhooks API")
    assert refused == []
