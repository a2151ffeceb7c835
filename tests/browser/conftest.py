"""Headless Chromium driven by Playwright, for tests of pages served by pytest-django's
`live_server`.

The browser is Debian's `chromium` package (`make test` installs it when it is missing and the
machine allows it); Playwright's own browser downloads are not used. Without /usr/bin/chromium
the browser tests are skipped, with the reason.
"""

import os
import shutil
import tempfile

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def page(monkeypatch):
    """A Playwright page in a fresh headless Chromium with an empty profile."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing and could not be installed here: `make test` "
                    "installs Debian's chromium package when run as root with apt-get.")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do: on a busy 2-core machine ReDoc can take more than
    # expect()'s own 5 s default to lay out the whole schema.
    expect.set_options(timeout=20_000)

    # Playwright's synchronous API runs an event loop underneath; the ORM calls the test makes
    # between browser steps are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000},
            )
            context.set_default_timeout(20_000)
            try:
                yield context.pages[0] if context.pages else context.new_page()
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
