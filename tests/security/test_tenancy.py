"""Tenancy: with its own credentials, organization A never sees or changes organization B's
objects, on every route of /api/v1/ (walked from the URL conf) and on every admin page. Which
rows are B's comes from each model's declared path to its organization (accounts/tenancy.py),
and every model of the project must declare one."""

import itertools
import json

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models

from accounts.admin_scoping import OrganizationScopedAdmin
from accounts.tenancy import (
    OrganizationScoped,
    organization_path,
    organization_path_problems,
    project_models,
    scoped,
)
from tests.security.conftest import api_routes, body_for, build_universe, call, model_served_by
from tests.support.builders import PASSWORD

ROUTES = api_routes()
OWNED_MODELS = [model for model in project_models() if organization_path(model) is not None]


def snapshot(universe) -> dict:
    """Every row of every model that belongs to the universe's organization, as stored."""
    state = {}
    for model in OWNED_MODELS:
        rows = scoped(model.objects.order_by("pk"), universe.org.org).values()
        state[model._meta.label] = [
            {k: v for k, v in row.items() if k != "last_used_date"} for row in rows
        ]
    return state


# --- The declarations -------------------------------------------------------------------------


def test_every_model_states_its_path_to_the_organization():
    models_checked = {model._meta.label for model in project_models()}
    assert {"accounts.Organization", "workflows.Task", "delivery.Attempt",
            "incoming.IncomingRequest"} <= models_checked
    assert organization_path_problems(project_models()) == []


class Undeclared(models.Model):
    class Meta:
        app_label = "tenancy_test"  # not an installed app: no table, no effect on the others

    def __str__(self) -> str:
        return "undeclared"


class WrongPath(models.Model):
    organization_path = "name"
    name = models.CharField(max_length=10)

    class Meta:
        app_label = "tenancy_test"

    def __str__(self) -> str:
        return self.name


def test_a_model_without_a_declared_path_or_with_a_wrong_one_is_reported():
    problems = organization_path_problems([Undeclared, WrongPath])
    assert len(problems) == 2
    assert "tenancy_test.Undeclared states no organization_path" in problems[0]
    assert "tenancy_test.WrongPath.organization_path 'name'" in problems[1]


def test_every_api_view_of_an_organizations_objects_is_scoped():
    for route in ROUTES:
        model = model_served_by(route.view)
        if model is not None and model in OWNED_MODELS:
            assert issubclass(route.view, OrganizationScoped), route.label


def test_every_admin_of_an_organizations_objects_is_scoped():
    for model in _admin_models():
        if model in OWNED_MODELS:
            assert isinstance(admin.site.get_model_admin(model), OrganizationScopedAdmin), model


def assert_no_leak(response, other, label, sent=""):
    """No id or secret of `other` in the answer, except those the caller itself sent (an error
    naming the id it was given reveals nothing)."""
    text = response.content.decode(errors="replace")
    leaked = [value for value in other.all_ids() | set(other.secrets)
              if value in text and value not in sent]
    assert not leaked, f"{label} answered {response.status_code} with the other org's {leaked}"


@pytest.fixture
def universes(orgs):
    return {"a": build_universe(orgs["a"]), "b": build_universe(orgs["b"])}


def test_every_route_is_walked():
    """The walk really covers the API (guards against the URL conf walk finding nothing)."""
    labels = {route.label for route in ROUTES}
    assert len(ROUTES) >= 40
    for expected in ("GET /webhooks/{pk}", "POST /deliveries/{pk}/redeliver",
                     "GET /workflow-runs/{run_id}/tasks/{pk}", "DELETE /api-keys/{pk}"):
        assert expected in labels


@pytest.mark.parametrize("route", ROUTES, ids=[route.label for route in ROUTES])
def test_other_organizations_objects_are_out_of_reach(client, universes, route):
    mine, other = universes["a"], universes["b"]
    key = mine.org.keys["admin"]
    before = snapshot(other)
    if route.params:
        # Every mix of ids where at least one is B's: B's run with B's task, and A's run with
        # B's task.
        for owners in itertools.product("ab", repeat=len(route.params)):
            if "b" not in owners:
                continue
            ids = {
                param: universes[owner].id_of(param, route)
                for param, owner in zip(route.params, owners, strict=True)
            }
            label = f"{route.label} with {dict(zip(route.params, owners, strict=True))}"
            path, body = route.path(ids), body_for(route, other)
            response = call(client, route.method, path, key, body)
            assert response.status_code in (403, 404, 405), (
                f"{label}: {response.status_code} {response.content[:300]!r}"
            )
            assert_no_leak(response, other, label, sent=path + json.dumps(body))
    else:
        # Lists show only A's objects; creates naming B's objects are refused.
        body = body_for(route, other)
        response = call(client, route.method, route.path({}), key, body)
        assert response.status_code < 500, response.content[:300]
        if route.method == "post" and body and route.label != "POST /api-keys":
            assert 400 <= response.status_code < 500, (route.label, response.json())
        assert_no_leak(response, other, route.label, sent=json.dumps(body))
    assert snapshot(other) == before, f"{route.label} changed the other organization's data"


def test_lists_show_own_objects(client, universes):
    """The walk above is meaningful: the same key does see its own organization's objects."""
    mine = universes["a"]
    key = mine.org.keys["admin"]
    for path, obj in [("/api/v1/webhooks", "Webhook"), ("/api/v1/deliveries", "Delivery"),
                      ("/api/v1/workflow-runs", "WorkflowRun"), ("/api/v1/events", "Event")]:
        body = call(client, "get", path, key).json()
        assert mine.objects[obj].pk in json.dumps(body), path


# --- The Django admin -------------------------------------------------------------------------


def _admin_models():
    registered = [model for model in apps.get_models() if admin.site.is_registered(model)]
    return sorted(registered, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", _admin_models(), ids=lambda model: model._meta.label)
def test_admin_pages_show_only_own_organization(client, universes, model):
    from django.test import Client

    other = universes["b"]
    browser = Client()
    assert browser.login(username="admin-a", password=PASSWORD)
    opts = model._meta
    changelist = browser.get(f"/admin/{opts.app_label}/{opts.model_name}/")
    assert changelist.status_code in (200, 403), changelist.status_code
    assert_no_leak(changelist, other, f"admin {opts.label} changelist")
    for obj in other.objects.values():
        if type(obj) is not model:
            continue
        change = browser.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/")
        # Django's admin redirects to the index for an object outside the queryset.
        assert change.status_code in (302, 403, 404), (opts.label, change.status_code)
        assert_no_leak(change, other, f"admin {opts.label} change page")
