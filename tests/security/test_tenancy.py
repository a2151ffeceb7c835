"""Tenancy: with its own credentials, organization A never sees or changes organization B's
objects, on every route of /api/v1/ (walked from the URL conf) and on every admin page."""

import itertools
import json

import pytest
from django.contrib import admin

from tests.api.conftest import PASSWORD
from tests.security.conftest import api_routes, body_for, build_universe, call

ROUTES = api_routes()
# Paths from each model to its organization, for snapshots of B's rows.
ORGANIZATION_PATHS = {
    "ApiKey": "membership__organization",
    "Task": "run__organization",
    "Approval": "run__organization",
    "DataSetRecord": "data_set__organization",
    "FormResponse": "form__organization",
}


def snapshot(universe) -> dict:
    """Every row of every kind that belongs to the universe's organization, as stored."""
    state = {}
    for name, obj in universe.objects.items():
        model = type(obj)
        path = ORGANIZATION_PATHS.get(model.__name__, "organization")
        rows = model.objects.filter(**{path: universe.org.org}).order_by("pk").values()
        state[name] = [
            {k: v for k, v in row.items() if k != "last_used_date"} for row in rows
        ]
    return state


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
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


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
