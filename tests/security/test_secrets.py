"""Signing secrets and API keys: shown once, never in lists, attempt records, logs or error
messages; API keys stored hashed and compared in constant time."""

import hashlib
import json
import logging

import pytest

from accounts import keys as keys_module
from accounts.models import ApiKey
from delivery.models import Attempt, Delivery
from tests.security.conftest import build_universe, call
from tests.support.receiver import Reply

LISTS = [
    "/api/v1/webhooks", "/api/v1/deliveries", "/api/v1/events", "/api/v1/api-keys",
]


def _everything_logged(caplog) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _assert_absent(secrets, text, where):
    found = [secret for secret in secrets if secret and secret in text]
    assert not found, f"secret(s) {found} in {where}"


@pytest.fixture
def universe(orgs):
    return build_universe(orgs["a"])


@pytest.mark.django_db(transaction=True)  # the worker's pipeline reads from its own thread
def test_create_rotate_deliver_never_exposes_secrets(client, universe, receiver, caplog):
    from delivery.tasks import deliver

    caplog.set_level(logging.DEBUG)
    key = universe.org.keys["admin"]
    receiver.reply_with(Reply(status=200), Reply(status=500, body=b"broken"))

    created = call(client, "post", "/api/v1/webhooks", key,
                   {"url": receiver.url, "triggers": ["TaskCheckedUnchecked"]})
    assert created.status_code == 201, created.json()
    webhook_id, first = created.json()["id"], created.json()["secret"]
    rotated = call(client, "post", f"/api/v1/webhooks/{webhook_id}/rotate-secret", key)
    second = rotated.json()["secret"]
    assert first.startswith("whsec_") and second.startswith("whsec_") and first != second
    new_key = call(client, "post", "/api/v1/api-keys", key, {"name": "ci"}).json()["key"]

    # Two deliveries through the real task and sender: one succeeds, one fails (500).
    for _ in range(2):
        test = call(client, "post", f"/api/v1/webhooks/{webhook_id}/test", key)
        assert test.status_code == 202, test.json()
        deliver.apply(args=[[test.json()["id"]]])
    received = receiver.wait_for(2)
    assert all(r.headers["webhook-signature"].count("v1,") == 2 for r in received)

    # An incoming webhook's token is part of its public URL, which Admins are shown to copy;
    # the signing secrets and API keys are what must never be listed.
    secrets = [first, second, new_key,
               *(s for s in universe.secrets if s.startswith(("whsec_", "psk_")))]
    # Lists and single reads.
    for path in [*LISTS, f"/api/v1/webhooks/{webhook_id}"]:
        response = call(client, "get", path, key)
        assert response.status_code == 200
        _assert_absent(secrets, response.content.decode(), path)
    for delivery in Delivery.objects.filter(webhook_id=webhook_id):
        detail = call(client, "get", f"/api/v1/deliveries/{delivery.pk}", key)
        assert detail.json()["attempts"], detail.json()
        _assert_absent(secrets, detail.content.decode(), "a delivery with its attempts")
    incoming = call(
        client, "get",
        f"/api/v1/workflows/{universe.objects['Workflow'].pk}/incoming-webhooks", key,
    )
    assert incoming.json()["data"][0]["signingSecret"] is None
    _assert_absent(secrets, incoming.content.decode(), "the incoming webhook list")
    # Attempt records, as stored (the signature header is redacted too).
    attempts = list(Attempt.objects.filter(delivery__webhook_id=webhook_id).values())
    assert len(attempts) >= 2
    _assert_absent(secrets, json.dumps(attempts, default=str), "attempt records")
    assert all(a["request_headers"]["webhook-signature"] == "<redacted>" for a in attempts)
    # Every log record of the whole flow, at DEBUG.
    _assert_absent([*secrets, *universe.secrets], _everything_logged(caplog), "the logs")


def test_error_messages_do_not_echo_secrets(client, universe, caplog):
    caplog.set_level(logging.DEBUG)
    key = universe.org.keys["admin"]
    webhook = universe.objects["Webhook"]
    password = "hunter2-very-secret"
    bad_url = call(client, "put", f"/api/v1/webhooks/{webhook.pk}", key,
                   {"url": f"https://user:{password}@example.com/hook", "triggers": ["TaskReady"]})
    assert bad_url.status_code == 400 and "url" in bad_url.json()["details"]
    # A key that is almost right: the answer says nothing about the real one.
    almost = key[:-1] + ("A" if key[-1] != "A" else "B")
    wrong_key = call(client, "get", "/api/v1/webhooks", almost)
    assert wrong_key.status_code in (401, 403)
    revoked = universe.objects["ApiKey"]
    call(client, "delete", f"/api/v1/api-keys/{revoked.pk}", key)
    spare_raw = next(s for s in universe.secrets if s.startswith("psk_") and
                     hashlib.sha256(s.encode()).hexdigest() == revoked.key_hash)
    after_revoke = call(client, "get", "/api/v1/webhooks", spare_raw)
    assert after_revoke.status_code in (401, 403)
    texts = [r.content.decode() for r in (bad_url, wrong_key, after_revoke)]
    _assert_absent([password, key, almost, spare_raw, *universe.secrets], "\n".join(texts),
                   "error responses")
    _assert_absent([password, key, almost, spare_raw], _everything_logged(caplog), "the logs")


def test_api_keys_are_stored_hashed_and_compared_in_constant_time(client, universe, monkeypatch):
    raw = universe.org.keys["admin"]
    stored = ApiKey.objects.get(membership=universe.org.admin, name="admin key")
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    row = json.dumps(list(ApiKey.objects.filter(pk=stored.pk).values()), default=str)
    assert raw not in row and raw[12:] not in row  # only the 12-character prefix is kept
    compared = []
    real = keys_module.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys_module.hmac, "compare_digest", spy)
    assert call(client, "get", "/api/v1/webhooks", raw).status_code == 200
    assert compared and all(raw not in pair for pair in compared)
