"""Behind a real gunicorn (its config file, as the Procfile runs it): chunked bodies are read and
limited like bodies with a Content-Length, and over-long URLs and headers meet Django's limits
first, so they are answered with the API's JSON error body."""

import json

import pytest
import requests

from incoming.services import create_incoming_webhook
from tests.security.conftest import build_universe
from tests.support.web import GunicornServer
from tests.support.worker import database_url_for_workers
from workflows.models import WorkflowRun

ERROR_KEYS = {"error", "errorCode", "requestId", "details"}
BODY_LIMIT = 4000


def chunks(data: bytes, size: int = 100):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"] == "application/json", response.text[:500]
    body = response.json()
    assert set(body) == ERROR_KEYS and body["errorCode"] == code, body
    return body


@pytest.mark.django_db(transaction=True)
def test_chunked_bodies_and_size_limits_behind_gunicorn(orgs, settings):
    universe = build_universe(orgs["a"])
    workflow = universe.objects["Workflow"]
    hook = create_incoming_webhook(
        universe.org.org, workflow=workflow, name="chunked",
        config={"properties": {"Name": "$.title"}},
    )
    key = universe.org.keys["admin"]
    limits = {"INCOMING_WEBHOOK_MAX_BYTES": str(BODY_LIMIT),
              "DATA_UPLOAD_MAX_MEMORY_SIZE": str(BODY_LIMIT)}
    with GunicornServer(database_url_for_workers(), env=limits) as server:
        post = requests.Session().post
        json_headers = {"Content-Type": "application/json"}
        # A chunked body reaches the incoming endpoint whole.
        payload = json.dumps({"title": "Sent in chunks", "pad": "p" * 1000}).encode()
        answer = post(f"{server.url}/incoming/{hook.token}", data=chunks(payload),
                      headers=json_headers, timeout=10)
        assert answer.status_code == 202, answer.text
        assert WorkflowRun.objects.get(pk=answer.json()["objectId"]).name == "Sent in chunks"
        # ... and the API.
        answer = post(f"{server.url}/api/v1/workflows/{workflow.pk}/incoming-webhooks",
                      data=chunks(json.dumps({"name": "Made in chunks"}).encode()),
                      headers={**json_headers, "X-API-Key": key}, timeout=10)
        assert answer.status_code == 201, answer.text
        assert answer.json()["name"] == "Made in chunks"
        # Too large in chunks is 413, as with a Content-Length.
        big = json.dumps({"title": "x" * BODY_LIMIT}).encode()
        json_error(post(f"{server.url}/incoming/{hook.token}", data=chunks(big, 1000),
                        headers=json_headers, timeout=10), 413, "PayloadTooLarge")
        json_error(post(f"{server.url}/api/v1/workflows/{workflow.pk}/incoming-webhooks",
                        data=chunks(big, 1000), headers={**json_headers, "X-API-Key": key},
                        timeout=10), 413, "PayloadTooLarge")
        # Over-long URLs and headers get the JSON error body, not gunicorn's own answer.
        long_url = f"{server.url}/api/v1/webhooks?q=" + "a" * (settings.MAX_URL_LENGTH + 10)
        json_error(requests.get(long_url, headers={"X-API-Key": key}, timeout=10),
                   414, "UriTooLong")
        long_header = "h" * (settings.MAX_HEADER_VALUE_LENGTH + 10)
        json_error(requests.get(f"{server.url}/api/v1/webhooks",
                                headers={"X-API-Key": key, "X-Trace": long_header},
                                timeout=10), 431, "HeadersTooLarge")
        many = {f"X-Filler-{i}": "f" * 4000 for i in range(settings.MAX_HEADERS_SIZE // 4000 + 1)}
        json_error(requests.get(f"{server.url}/api/v1/webhooks",
                                headers={"X-API-Key": key, **many}, timeout=10),
                   431, "HeadersTooLarge")
