"""/api/v1/workflows/{id}/incoming-webhooks and /api/v1/data-sets/{id}/incoming-webhooks over
real HTTP: Admins only, scoped to the organization, the public URL shown, recent requests."""

import pytest
import requests
from django.contrib.admin.utils import quote

from incoming.models import IncomingWebhook
from tests.incoming.conftest import assert_error, post
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_crud_on_a_workflow(world):
    base = f"/workflows/{world.workflow.pk}/incoming-webhooks"
    config = {"properties": {"Name": "$.title"},
              "formFields": {world.field("Customer"): "$.who"}}
    created = world.api("post", base, json={"name": "Zap", "automationApp": "Zapier",
                                            "config": config})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["url"].startswith(world.base + "/incoming/")
    assert len(body["url"].rsplit("/", 1)[1]) >= 32  # 192 random bits, URL-safe base64
    assert body["workflowId"] == world.workflow.pk and body["dataSetId"] is None
    assert body["status"] == "Active" and body["signingSecret"] == ""
    assert body["config"] == config

    # The URL it shows is the one that works.
    answer = post(body["url"], json={"title": "Via API", "who": "Ada"})
    assert answer.status_code == 202, answer.text
    assert WorkflowRun.objects.get(pk=answer.json()["objectId"]).name == "Via API"

    listed = world.api("get", base).json()
    assert [w["id"] for w in listed["data"]] == [body["id"]]
    assert world.api("get", f"{base}/{body['id']}").json()["url"] == body["url"]

    patched = world.api("patch", f"{base}/{body['id']}",
                        json={"status": "Disabled", "verifySignatures": True})
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"] == "Disabled"
    assert patched.json()["signingSecret"].startswith("whsec_")

    renewed = world.api("post", f"{base}/{body['id']}/regenerate-url").json()
    assert renewed["url"] != body["url"]
    assert_error(post(body["url"], json={}), 404, "NotFound")

    assert world.api("delete", f"{base}/{body['id']}").status_code == 204
    assert not IncomingWebhook.objects.exists()
    assert_error(post(renewed["url"], json={}), 404, "NotFound")


def test_data_set_crud_and_config_validation(world):
    base = f"/data-sets/{world.data_set.pk}/incoming-webhooks"
    bad = world.api("post", base, json={"name": "x", "config": {
        "columns": {"nope": "$.a", world.column("Name"): "$[["}, "keyColumn": "nope"}})
    body = assert_error(bad, 400, "BadRequest", "config")
    assert set(body["details"]["config"]) >= {"columns.nope", f"columns.{world.column('Name')}",
                                             "keyColumn"}
    config = {"columns": {world.column("Email"): "$.email"}, "keyColumn": world.column("Email")}
    created = world.api("post", base, json={"name": "CRM", "config": config})
    assert created.status_code == 201, created.text
    assert created.json()["dataSetId"] == world.data_set.pk
    assert created.json()["url"].startswith(world.base + "/incoming/")
    replaced = world.api("put", f"{base}/{created.json()['id']}",
                         json={"name": "CRM 2", "config": {"columns": {}}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "CRM 2"
    assert replaced.json()["config"] == {"columns": {}, "keyColumn": None}


def test_workflow_form_field_ids_are_checked(world):
    response = world.api("post", f"/workflows/{world.workflow.pk}/incoming-webhooks", json={
        "name": "x", "config": {"formFields": {"not-a-field": "$.a"},
                                "properties": {"Colour": "$.c"}}})
    body = assert_error(response, 400, "BadRequest", "config")
    assert set(body["details"]["config"]) == {"formFields.not-a-field", "properties.Colour"}


def test_members_are_refused_and_other_organizations_see_nothing(world):
    hook = world.workflow_hook()
    base = f"/workflows/{world.workflow.pk}/incoming-webhooks"
    assert_error(world.api("get", base, key=world.member_key), 403, "Forbidden")
    assert_error(world.api("post", base, key=world.member_key, json={"name": "x"}),
                 403, "Forbidden")
    assert_error(world.api("get", base, key=world.other_admin_key), 404, "NotFound")
    assert_error(world.api("get", f"{base}/{hook.pk}", key=world.other_admin_key),
                 404, "NotFound")
    assert_error(world.api("post", base, key=world.other_admin_key, json={"name": "x"}),
                 404, "NotFound")
    other = f"/workflows/{world.other_workflow.pk}/incoming-webhooks"
    assert_error(world.api("get", other), 404, "NotFound")
    unauthenticated = requests.get(f"{world.base}/api/v1{base}", timeout=10)
    assert unauthenticated.status_code in (401, 403)


def test_requests_listing_shows_the_last_body(world):
    hook = world.workflow_hook()
    post(hook.public_url, json={"order": {"title": "first"}})
    post(hook.public_url, data=b"oops", headers={"Content-Type": "application/json"})
    post(hook.public_url, json={"order": {"title": "last"}, "customer": {"name": "Ada"}})
    response = world.api("get", f"/workflows/{world.workflow.pk}/incoming-webhooks/{hook.pk}"
                                "/requests")
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed["total"] == 3
    newest = listed["data"][0]
    assert newest["outcome"] == "created" and newest["statusCode"] == 202
    assert newest["payload"] == {"order": {"title": "last"}, "customer": {"name": "Ada"}}
    assert '"last"' in newest["body"]
    assert WorkflowRun.objects.filter(pk=newest["objectId"]).exists()
    rejected = listed["data"][1]
    assert (rejected["outcome"], rejected["statusCode"], rejected["body"]) == (
        "rejected", 400, "oops")
    assert rejected["error"] and rejected["payload"] is None


def test_admin_page_shows_url_and_last_payload(world, client):
    from django.contrib.auth import get_user_model

    hook = world.workflow_hook()
    post(hook.public_url, json={"order": {"title": "shown"}})
    user = get_user_model().objects.get(email=world.admin_email)
    user.is_staff = True
    user.save()
    client.force_login(user)
    page = client.get(f"/admin/incoming/incomingwebhook/{quote(hook.pk)}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert hook.public_url in html
    assert "&quot;title&quot;: &quot;shown&quot;" in html
    assert client.get("/admin/incoming/incomingwebhook/").status_code == 200


def test_admin_add_form_checks_the_config(world, client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(email=world.admin_email)
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = "/admin/incoming/incomingwebhook/add/"
    assert client.get(url).status_code == 200
    form = {
        "organization": world.org.pk, "name": "From admin", "automation_app": "",
        "workflow": world.workflow.pk, "data_set": "", "status": "Active",
        "config": '{"formFields": {"nope": "$.a"}}',
        "requests-TOTAL_FORMS": "0", "requests-INITIAL_FORMS": "0",
    }
    page = client.post(url, form)
    assert page.status_code == 200 and "Not a form field of this workflow" in page.content.decode()
    form["config"] = '{"properties": {"Name": "$.title"}}'
    form["verify_signatures"] = "on"
    assert client.post(url, form).status_code == 302
    hook = IncomingWebhook.objects.get(name="From admin")
    assert hook.config["properties"] == {"Name": "$.title"} and hook.signing_secret
    assert post(hook.public_url, json={"title": "x"}).status_code == 401
