"""API keys created in the admin and by `manage.py create_api_key`: shown once, then working
against the API; the admin offers only the memberships of organizations one administers."""

import io
import re

import pytest
from django.contrib.admin.utils import quote
from django.core.management import CommandError, call_command

from accounts.models import ApiKey
from tests.support import builders
from tests.support.builders import PASSWORD

KEY = re.compile(r"psk_[A-Za-z0-9_-]{20,}")


@pytest.fixture
def org_admin(client, orgs):
    assert client.login(username="admin-a", password=PASSWORD)
    return client


def test_key_created_in_the_admin_is_shown_once_and_works(org_admin, orgs, api):
    form = org_admin.get("/admin/accounts/apikey/add/").content.decode()
    assert f'value="{orgs["a"].admin.pk}" selected' in form  # the admin's own membership
    assert str(orgs["b"].admin.pk) not in form  # nobody of another organization

    page = org_admin.post("/admin/accounts/apikey/add/", {
        "membership": orgs["a"].member.pk, "name": "CRM integration"})
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    (raw,) = set(KEY.findall(html))
    assert "shown only on this page" in html and 'id="copy-api-key"' in html
    key = ApiKey.objects.get(name="CRM integration")
    assert key.membership == orgs["a"].member and raw.startswith(key.prefix)

    # It works against the API, as the member it acts for.
    assert api.get("/workflow-runs", key=raw).status_code == 200
    assert api.get("/api-keys", key=raw).status_code == 403  # a Member's key

    # It is never shown again: list, change page, the add page.
    for url in ("/admin/accounts/apikey/", f"/admin/accounts/apikey/{quote(key.pk)}/change/",
                "/admin/accounts/apikey/add/"):
        assert raw not in org_admin.get(url).content.decode(), url


def test_admin_refuses_a_membership_of_another_organization(org_admin, orgs):
    page = org_admin.post("/admin/accounts/apikey/add/", {
        "membership": orgs["b"].admin.pk, "name": "sneaky"})
    assert page.status_code == 200
    assert "Select a valid choice" in page.content.decode()
    assert not ApiKey.objects.filter(name="sneaky").exists()
    assert not KEY.search(page.content.decode())


def test_revoked_in_the_admin_stops_working(org_admin, orgs, api):
    org_admin.post("/admin/accounts/apikey/add/", {"membership": orgs["a"].admin.pk,
                                                   "name": "temp"})
    key = ApiKey.objects.get(name="temp")
    raw = orgs["a"].keys["admin"]  # another key of the same admin, still valid
    org_admin.post("/admin/accounts/apikey/", {"action": "revoke",
                                               "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_date is not None
    assert api.get("/webhooks", key=raw).status_code == 200
    # Org admins revoke rather than delete: the record of the key stays.
    assert org_admin.get(f"/admin/accounts/apikey/{quote(key.pk)}/delete/").status_code == 403


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_prints_a_working_key_alone_on_stdout(orgs, api):
    out, err = run("--email", "member-a@example.com", "--name", "ci")
    raw = out.strip()
    assert KEY.fullmatch(raw), out
    assert "shown only now" in err and raw not in err
    assert ApiKey.objects.get(name="ci").membership == orgs["a"].member
    assert api.get("/workflow-runs", key=raw).status_code == 200


def test_command_errors_name_what_is_wrong(orgs):
    with pytest.raises(CommandError, match="No member 'nobody@example.com'"):
        run("--email", "nobody@example.com")
    builders.member(orgs["b"].org, "admin-a@example.com", username="admin-a")
    with pytest.raises(CommandError, match="several organizations"):
        run("--email", "admin-a@example.com")
    out, _ = run("--email", "admin-a@example.com", "--organization", orgs["b"].org.name)
    assert ApiKey.objects.get(prefix=out.strip()[:12]).membership.organization == orgs["b"].org
