"""The API reference: Swagger UI and ReDoc from our own static files, and every operation with a
summary and description written for integrators (api/openapi_docs.py)."""

import re

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from api.openapi_docs import OPERATIONS

METHODS = {"get", "post", "put", "patch", "delete"}
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_is_documented_for_integrators(schema):
    ids = set()
    for path, method, operation in operations(schema):
        ids.add(operation["operationId"])
        where = f"{method.upper()} {path}"
        assert operation["operationId"] in OPERATIONS, f"{where} has no entry in OPERATIONS"
        assert operation.get("summary"), where
        assert len(operation.get("description", "")) > 20, where
        assert "organization_path" not in operation["description"], where
    # No entry documents an operation that does not exist.
    assert set(OPERATIONS) <= ids, sorted(set(OPERATIONS) - ids)


def test_paths_are_documented_without_trailing_slash(schema):
    assert all(not p.endswith("/") for p in schema["paths"] if p != "/api/v1/"), [
        p for p in schema["paths"] if p.endswith("/")]


def test_first_calls_have_request_and_response_examples(schema):
    by_id = {op["operationId"]: op for _, _, op in operations(schema)}
    create = by_id["v1_webhooks_create"]
    request = create["requestBody"]["content"]["application/json"]["example"]
    assert request["triggers"] == ["WorkflowRunCompleted"]
    created = create["responses"]["201"]["content"]["application/json"]["example"]
    assert created["secret"].startswith("whsec_")
    key = by_id["v1_api_keys_create"]["responses"]["201"]["content"]["application/json"]
    assert key["example"]["key"].startswith("psk_")
    detail = by_id["v1_deliveries_retrieve"]["responses"]["200"]["content"]["application/json"]
    assert detail["example"]["attempts"][0]["requestHeaders"]["webhook-signature"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_nothing_from_elsewhere(url, db):
    client = Client()
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    # The browser may fetch from this server only (a bundle's own links to elsewhere included).
    policy = page["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert not EXTERNAL.search(html), EXTERNAL.search(html).group(0)
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)""", html)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.streaming or response.content
