"""Hostile input: Schemathesis generates valid and invalid requests for every operation of the
OpenAPI schema and sends them to the app in process (WSGI) with an Admin API key, and runs all
of its checks on every answer: no 5xx, status codes, content types, headers and bodies as the
schema states, schema-violating requests refused, schema-valid requests accepted.

Some rules are about other objects and cannot be in a JSON Schema: an id in a body must name an
object of the caller's organization (a workflow, its version, a task, a data set's field, an
assignee's email), a webhook URL's host must resolve to a public address, and a webhook's
triggers must be of one kind. The values under those keys are replaced by real ones
(`with_real_references`), as path parameters are; those rules have their own tests (tests/api,
tests/subscriptions, tests/security).

Bounded so it fits in `make test`: a few examples per operation, derandomized (the same cases
on every run, so a failure reproduces), no example database. Path parameters are either what
Schemathesis generates or the ids of real objects of the caller's organization, so the handlers
behind the 404s are exercised too.
"""

import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.security.conftest import WEBHOOK_URL, api_routes, build_universe

# FUZZ_EXAMPLES=50 FUZZ_RANDOM=1 make test PYTEST_ARGS=tests/security/test_schemathesis.py
# digs deeper (and differently on each run) than the bounded default.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "6"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP)
# The request limits (413, 414, 431, api.request_limits) refuse a request as firmly as a 400.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses, "413", "414", "431",
]
# The ids of real objects for the running test: {schema path: {parameter: id}}.
REAL_IDS: dict[str, dict[str, str]] = {}
# Values for body keys whose rules are about other objects: {key: value}.
REAL_BODY_VALUES: dict[str, object] = {}


def _schema_path(template: str) -> str:
    return "/api/v1/" + re.sub(r"{pk}", "{id}", template)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Routes with an optional trailing slash are in the schema with the slash.
    real = REAL_IDS.get(context.operation.path.rstrip("/"))
    if not real:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **real}])


def with_real_references(path: str, body):
    """`body` with the values under REAL_BODY_VALUES' keys replaced (strings, lists and objects
    only: a value of a wrong type stays, so the request stays as invalid as it was). Applied in
    the test, not as a hook, so that it reaches the cases of every phase."""
    if not isinstance(body, dict) or not REAL_BODY_VALUES:
        return body
    mapped = dict(body)
    for key, value in body.items():
        if key in REAL_BODY_VALUES and isinstance(value, str | list | dict):
            mapped[key] = REAL_BODY_VALUES[key]
    if "/webhooks" in path and isinstance(body.get("triggers"), list):
        mapped["triggers"] = ["TaskCheckedUnchecked"]
        for key in ("formId", "dataSetId"):
            if isinstance(body.get(key), str):
                mapped[key] = None
    if "/records" in path and isinstance(body.get("cells"), list | dict):
        mapped["cells"] = REAL_BODY_VALUES["cells"]
    if "/approvals" in path and isinstance(body.get("subjectTaskId"), str):
        mapped["subjectTaskId"] = None
    return mapped


@pytest.fixture
def fuzz_key(orgs, settings):
    """An Admin key of an organization with one object of every kind; the ids go to the hook."""
    settings.API_RATE = "100000/min"
    universe = build_universe(orgs["a"])
    REAL_IDS.clear()
    for route in api_routes():
        ids = {("id" if name == "pk" else name): value
               for name, value in universe.ids_for(route).items()}
        REAL_IDS[_schema_path(route.template)] = ids
    objects, extra = universe.objects, universe.extra
    REAL_BODY_VALUES.update({
        "workflowId": objects["Workflow"].pk,
        "approvalTaskId": extra["review_task"],
        "url": WEBHOOK_URL,
        "taskId": "",
        "cells": {extra["record_field"]: "fuzzed"},
        "formFields": {},
        "answers": {extra["comment_field"]: "fuzzed"},
        "fields": [{"id": extra["name_field"], "value": "fuzzed"}],
        "config": {},
        "assignees": [universe.org.admin.user.email],
        "versionId": objects["Workflow"].latest_version().pk,
        # Some header names are refused (subscriptions/headers.py): a rule the schema states
        # in words only.
        "headers": {"X-Fuzz": "fuzzed"},
    })
    # Requests go through Django's own WSGI handler, which closes the database connection at
    # the start and end of each request; the test's transaction must survive them, as with
    # Django's test client.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield universe.org.keys["admin"]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        REAL_IDS.clear()
        REAL_BODY_VALUES.clear()


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_within_its_schema(case, fuzz_key):
    case.body = with_real_references(case.operation.path, case.body)
    case.call_and_validate(headers={"X-API-Key": fuzz_key})


def test_the_schema_covers_every_route():
    """Every /api/v1/ route of the URL conf is in the schema, so the run above reaches it."""
    operations = {
        (result.ok().method.upper(), result.ok().path.rstrip("/"))
        for result in schema.get_all_operations()
    }
    for route in api_routes():
        assert (route.method.upper(), _schema_path(route.template)) in operations, route.label
