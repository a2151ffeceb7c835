"""The Django admin: organization scoping and domain actions going through the services."""

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model

from accounts.models import ApiKey
from datasets.models import DataSetRecord
from tests.support.builders import PASSWORD
from workflows.models import Task


@pytest.fixture
def runs(world, orgs):
    from workflows.services import start_run

    return {
        "a": start_run(world.workflow, actor=orgs["a"].admin.user, name="Run of org A"),
        "b": start_run(world.other_workflow, actor=orgs["b"].admin.user, name="Run of org B"),
    }


@pytest.fixture
def org_admin(client, orgs):
    assert client.login(username="admin-a", password=PASSWORD)
    return client


@pytest.fixture
def superuser(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    assert client.login(username="root", password=PASSWORD)
    return client


def test_org_admin_changelist_shows_only_their_runs(org_admin, runs):
    response = org_admin.get("/admin/workflows/workflowrun/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Run of org A" in page and "Run of org B" not in page
    # another organization's run is not there to open
    response = org_admin.get(f"/admin/workflows/workflowrun/{quote(runs['b'].pk)}/change/")
    assert response.status_code == 302
    response = org_admin.get(f"/admin/workflows/workflowrun/{quote(runs['a'].pk)}/change/")
    assert response.status_code == 200
    assert "Intro" in response.content.decode()  # the tasks inline


def test_superuser_sees_every_run(superuser, runs):
    page = superuser.get("/admin/workflows/workflowrun/").content.decode()
    assert "Run of org A" in page and "Run of org B" in page


def test_members_who_are_not_staff_admins_see_nothing(client, orgs, runs):
    get_user_model().objects.filter(username="member-a").update(is_staff=True)
    assert client.login(username="member-a", password=PASSWORD)
    assert client.get("/admin/workflows/workflowrun/").status_code == 403


def test_task_action_checks_through_the_service(org_admin, runs):
    intro = runs["a"].tasks.get(name="Intro")
    stopped = runs["a"].tasks.get(name="After the gate")
    other = runs["b"].tasks.get(name="Intro")
    response = org_admin.post("/admin/workflows/task/", {
        "action": "check_tasks", "_selected_action": [intro.pk, stopped.pk, other.pk],
    })
    assert response.status_code == 302
    assert Task.objects.get(pk=intro.pk).status == "Completed"
    assert Task.objects.get(pk=intro.pk).completed_by.username == "admin-a"
    assert Task.objects.get(pk=stopped.pk).status == "NotCompleted"  # refused: stopped
    assert Task.objects.get(pk=other.pk).status == "NotCompleted"  # not in scope


def test_run_archive_action(org_admin, runs):
    response = org_admin.post("/admin/workflows/workflowrun/", {
        "action": "archive_runs", "_selected_action": [runs["a"].pk, runs["b"].pk],
    })
    assert response.status_code == 302
    runs["a"].refresh_from_db()
    runs["b"].refresh_from_db()
    assert runs["a"].status == "Archived" and runs["b"].status == "Active"


def test_record_admin_goes_through_the_service_and_limits_choices(org_admin, world):
    page = org_admin.get("/admin/datasets/datasetrecord/add/").content.decode()
    assert world.data_set.pk in page and world.other_data_set.pk not in page

    name, revenue = world.column("Name"), world.column("Revenue")
    response = org_admin.post("/admin/datasets/datasetrecord/add/", {
        "data_set": world.data_set.pk, "cells": f'{{"{revenue}": "lots"}}',
    })
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not DataSetRecord.objects.exists()

    response = org_admin.post("/admin/datasets/datasetrecord/add/", {
        "data_set": world.data_set.pk, "cells": f'{{"{name}": "Acme", "{revenue}": "5"}}',
    })
    assert response.status_code == 302
    record = DataSetRecord.objects.get()
    assert record.cells == {name: "Acme", revenue: 5}
    assert record.created_by.username == "admin-a"

    response = org_admin.post(
        f"/admin/datasets/datasetrecord/{quote(record.pk)}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not DataSetRecord.objects.exists()


def test_api_key_admin_never_shows_the_hash(org_admin, orgs):
    key = ApiKey.objects.get(membership=orgs["a"].member)
    other = ApiKey.objects.get(membership=orgs["b"].member)
    listing = org_admin.get("/admin/accounts/apikey/").content.decode()
    assert key.prefix in listing and other.prefix not in listing
    page = org_admin.get(f"/admin/accounts/apikey/{quote(key.pk)}/change/").content.decode()
    assert key.key_hash not in page and "key_hash" not in page
    assert org_admin.get("/admin/accounts/apikey/add/").status_code == 200
    response = org_admin.post("/admin/accounts/apikey/", {
        "action": "revoke", "_selected_action": [key.pk, other.pk],
    })
    assert response.status_code == 302
    key.refresh_from_db()
    other.refresh_from_db()
    assert key.revoked_date is not None and other.revoked_date is None


def test_admin_pages_render_for_an_org_admin(org_admin, world, runs):
    for url in [
        "/admin/", "/admin/accounts/organization/", "/admin/accounts/membership/",
        "/admin/workflows/workflow/",
        f"/admin/workflows/workflow/{quote(world.workflow.pk)}/change/",
        "/admin/workflows/workflowversion/",
        f"/admin/workflows/workflowversion/{quote(world.workflow.latest_version().pk)}/change/",
        "/admin/workflows/task/", "/admin/workflows/approval/", "/admin/workflows/form/",
        f"/admin/workflows/form/{quote(world.form.pk)}/change/", "/admin/workflows/formresponse/",
        "/admin/datasets/dataset/", f"/admin/datasets/dataset/{quote(world.data_set.pk)}/change/",
        "/admin/datasets/datasetrecord/",
    ]:
        response = org_admin.get(url)
        assert response.status_code == 200, url
    assert "Org B" not in org_admin.get("/admin/accounts/organization/").content.decode()
    response = org_admin.get(f"/admin/workflows/workflow/{quote(world.other_workflow.pk)}/change/")
    assert response.status_code == 302


def test_webhook_options_in_the_admin_keep_header_values_write_only(org_admin, orgs):
    from subscriptions.models import Webhook

    form = {"organization": orgs["a"].org.pk, "url": "http://127.0.0.1:9/hook",
            "triggers": ["TaskReady"], "rate_limit": "15",
            "custom_headers": "X-Api-Key: admin-secret-42\nX-Route: eu"}
    response = org_admin.post("/admin/subscriptions/webhook/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    webhook = Webhook.objects.get(organization=orgs["a"].org)
    assert webhook.rate_limit == 15
    assert webhook.headers == {"X-Api-Key": "admin-secret-42", "X-Route": "eu"}
    url = f"/admin/subscriptions/webhook/{quote(webhook.pk)}/change/"
    page = org_admin.get(url).content.decode()
    assert "X-Api-Key, X-Route" in page and "admin-secret-42" not in page
    # Saved again with the box left empty: the values stay; a refused name is an error.
    form.update(custom_headers="", organization=orgs["a"].org.pk)
    assert org_admin.post(f"/admin/subscriptions/webhook/{quote(webhook.pk)}/change/",
                          form).status_code == 302
    webhook.refresh_from_db()
    assert webhook.headers["X-Api-Key"] == "admin-secret-42"
    form.update(custom_headers="Host: evil.example")
    refused = org_admin.post(f"/admin/subscriptions/webhook/{quote(webhook.pk)}/change/", form)
    assert refused.status_code == 200 and "cannot be customised" in refused.content.decode()


def test_a_webhook_over_the_organizations_limit_is_a_form_error_not_a_500(org_admin, orgs,
                                                                          settings):
    from subscriptions.models import Webhook
    from subscriptions.services import create_webhook

    settings.WEBHOOK_MAX_PER_ORGANIZATION = 1
    create_webhook(orgs["a"].org, {"url": "http://127.0.0.1:9/one", "triggers": ["TaskReady"]})
    response = org_admin.post("/admin/subscriptions/webhook/add/", {
        "organization": orgs["a"].org.pk, "url": "http://127.0.0.1:9/two",
        "triggers": ["TaskReady"]})
    assert response.status_code == 200
    assert "at most 1 webhooks" in response.content.decode()
    assert Webhook.objects.filter(organization=orgs["a"].org).count() == 1


def test_ordered_delivery_is_a_delivery_option_in_the_admin(org_admin, orgs):
    from subscriptions.models import Webhook

    form = {"organization": orgs["a"].org.pk, "url": "http://127.0.0.1:9/hook",
            "triggers": ["TaskReady"], "ordered_delivery": "on"}
    response = org_admin.post("/admin/subscriptions/webhook/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    webhook = Webhook.objects.get(organization=orgs["a"].org)
    assert webhook.ordered_delivery
    url = f"/admin/subscriptions/webhook/{quote(webhook.pk)}/change/"
    page = org_admin.get(url).content.decode()
    assert "Ordered delivery per subject" in page
    del form["ordered_delivery"]  # an unticked box is not sent
    assert org_admin.post(f"/admin/subscriptions/webhook/{quote(webhook.pk)}/change/",
                          form).status_code == 302
    webhook.refresh_from_db()
    assert not webhook.ordered_delivery
