"""Hostile input: Schemathesis generates valid and invalid requests for every operation of the
OpenAPI schema and sends them to the app in process (WSGI) with an Admin API key. No answer may
be a 5xx or break the schema (status code, content type, body).

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
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.security.conftest import api_routes, build_universe

# FUZZ_EXAMPLES=50 FUZZ_RANDOM=1 make test PYTEST_ARGS=tests/security/test_schemathesis.py
# digs deeper (and differently on each run) than the bounded default.
EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_EXAMPLES", "6"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP)
CHECKS = [not_a_server_error, response_schema_conformance]
# The ids of real objects for the running test: {schema path: {parameter: id}}.
REAL_IDS: dict[str, dict[str, str]] = {}


def _schema_path(template: str) -> str:
    return "/api/v1/" + re.sub(r"{pk}", "{id}", template)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Routes with an optional trailing slash are in the schema with the slash.
    real = REAL_IDS.get(context.operation.path.rstrip("/"))
    if not real:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **real}])


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
    case.call_and_validate(headers={"X-API-Key": fuzz_key}, checks=CHECKS)


def test_the_schema_covers_every_route():
    """Every /api/v1/ route of the URL conf is in the schema, so the run above reaches it."""
    operations = {
        (result.ok().method.upper(), result.ok().path.rstrip("/"))
        for result in schema.get_all_operations()
    }
    for route in api_routes():
        assert (route.method.upper(), _schema_path(route.template)) in operations, route.label
