"""Request limits (413, 414, 431, deep JSON 400) and rate limits (429 with Retry-After)."""

import io
import json

import pytest
from django.core.cache import caches
from django.test import Client

from api.strict_json import JSONRefused, StrictJSONParser, check_strings_and_depth
from incoming.services import create_incoming_webhook
from tests.security.conftest import build_universe, call

ERROR_KEYS = {"error", "errorCode", "requestId", "details"}


def assert_error(response, status, code):
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert set(body) == ERROR_KEYS and body["errorCode"] == code and body["error"], body
    return body


@pytest.fixture
def universe(orgs):
    return build_universe(orgs["a"])


@pytest.fixture
def key(universe):
    return universe.org.keys["admin"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- sizes ------------------------------------------------------------------------------------


def test_over_long_url_is_414(client, key, settings):
    response = call(client, "get", "/api/v1/webhooks?q=" + "a" * settings.MAX_URL_LENGTH, key)
    assert_error(response, 414, "UriTooLong")
    # Not only the API: every route.
    assert_error(Client().get("/healthz?" + "a" * 5000), 414, "UriTooLong")
    assert call(client, "get", "/api/v1/webhooks?q=" + "a" * 100, key).status_code == 200


def test_over_long_header_value_is_431(client, key, settings):
    long_value = "x" * (settings.MAX_HEADER_VALUE_LENGTH + 1)
    response = client.get("/api/v1/webhooks", HTTP_X_API_KEY=key, HTTP_X_TRACE=long_value)
    body = assert_error(response, 431, "HeadersTooLarge")
    assert "X-Trace" in body["error"]


def test_too_many_header_bytes_is_431(client, key, settings):
    value = "y" * 4000
    headers = {f"HTTP_X_FILLER_{i}": value for i in range(settings.MAX_HEADERS_SIZE // 4000 + 1)}
    response = client.get("/api/v1/webhooks", HTTP_X_API_KEY=key, **headers)
    assert_error(response, 431, "HeadersTooLarge")


def test_api_body_over_the_limit_is_413_before_it_is_read(client, key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = {"url": "http://127.0.0.1:9/hook?pad=" + "p" * 3000, "triggers": ["TaskReady"]}
    response = call(client, "post", "/api/v1/webhooks", key, body)
    assert_error(response, 413, "PayloadTooLarge")
    small = call(client, "post", "/api/v1/webhooks", key,
                 {**body, "url": "http://127.0.0.1:9/hook?pad=" + "p" * 100})
    assert small.status_code == 201, small.json()


# --- deep JSON --------------------------------------------------------------------------------


def test_json_nested_deeper_than_the_limit_is_400(client, key, settings):
    limit = settings.MAX_JSON_DEPTH
    url = "/api/v1/webhooks"
    for depth in (limit + 1, 100_000):  # the second makes Python's own parser give up
        response = client.post(url, '{"url": ' + nested(depth) + "}",
                               content_type="application/json", HTTP_X_API_KEY=key)
        body = assert_error(response, 400, "BadRequest")
        assert "nested deeper" in body["error"]
    # At the limit the body is parsed, and refused for what it says, not for its shape.
    at_limit = '{"url": ' + nested(limit - 1) + ', "triggers": ["TaskReady"]}'
    response = client.post(url, at_limit, content_type="application/json", HTTP_X_API_KEY=key)
    assert response.status_code == 400 and "nested" not in response.json()["error"]
    assert "url" in response.json()["details"]


def test_depth_counting():
    check_strings_and_depth({"a": [1, {"b": 2}]}, 3)
    with pytest.raises(JSONRefused):
        check_strings_and_depth({"a": [1, {"b": []}]}, 3)
    check_strings_and_depth("scalar", 0)
    parser = StrictJSONParser()
    assert parser.parse(io.BytesIO(json.dumps({"a": [1]}).encode())) == {"a": [1]}


# --- rate limits ------------------------------------------------------------------------------


def test_api_rate_limit_is_per_key_with_retry_after(client, universe, settings):
    settings.API_RATE = "3/min"
    key, other_key = universe.org.keys["admin"], universe.org.keys["member"]
    for _ in range(3):
        assert call(client, "get", "/api/v1/webhooks", key).status_code == 200
    limited = call(client, "get", "/api/v1/webhooks", key)
    assert_error(limited, 429, "RateLimited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another key has its own budget.
    assert call(client, "get", "/api/v1/workflows", other_key).status_code == 200


def test_incoming_rate_limit_is_per_token_with_retry_after(universe, settings):
    settings.INCOMING_RATE = "2/min"
    workflow = universe.objects["Workflow"]
    first = create_incoming_webhook(universe.org.org, workflow=workflow, name="one")
    second = create_incoming_webhook(universe.org.org, workflow=workflow, name="two")
    browser = Client()

    def post(hook):
        return browser.post(f"/incoming/{hook.token}", {"order": {"title": "x"}},
                            content_type="application/json")

    assert [post(first).status_code != 429 for _ in range(2)] == [True, True]
    limited = post(first)
    assert_error(limited, 429, "RateLimited")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert post(second).status_code != 429


def test_rate_limits_let_requests_through_when_redis_is_down(client, key, settings):
    settings.API_RATE = "1/min"
    settings.CACHES = {
        **settings.CACHES,
        "throttle": {**settings.CACHES["throttle"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    try:
        assert [call(client, "get", "/api/v1/webhooks", key).status_code
                for _ in range(3)] == [200, 200, 200]
    finally:
        caches["throttle"].close()


@pytest.mark.django_db
def test_nul_characters_are_refused_in_json_bodies_and_urls(client):
    body = b'{"url": "http://127.0.0.1:9/x", "triggers": ["TaskReady"], "taskId": "a\\u0000b"}'
    response = client.post("/api/v1/webhooks", body, content_type="application/json")
    assert response.status_code in {400, 401, 403}
    assert response.status_code != 500
    with pytest.raises(JSONRefused):
        check_strings_and_depth({"a": ["x", {"k\x00": 1}]}, 10)
    assert client.get("/api/v1/webhooks?status=%00").status_code == 400


def test_wrong_api_keys_are_rate_limited_per_client_address(client, key, settings):
    settings.API_KEY_FAILURE_RATE = "3/min"
    address, other_address = "192.0.2.10", "192.0.2.11"
    caches["throttle"].delete_many([f"throttle_api_key_failures_{a}"
                                    for a in (address, other_address)])

    def attempt(raw, remote=address):
        return client.get("/api/v1/webhooks", HTTP_X_API_KEY=raw, REMOTE_ADDR=remote)

    # Right keys do not count; three wrong ones are answered 401.
    assert attempt(key).status_code == 200
    assert [attempt("psk_wrong" + str(i)).status_code for i in range(3)] == [401, 401, 401]
    limited = attempt("psk_wrong4")
    body = assert_error(limited, 429, "RateLimited")
    assert "wrong API keys" in body["error"]
    assert 1 <= int(limited["Retry-After"]) <= 60
    # While over the limit even the right key is refused, so a lucky guess is not confirmed.
    assert_error(attempt(key), 429, "RateLimited")
    # Another address has its own count.
    assert attempt("psk_wrong5", other_address).status_code == 401
    assert attempt(key, other_address).status_code == 200
