"""No full incoming webhook token, API key or signing secret in any log output: Django's request
logging, the SQL log (DEBUG), error paths, and gunicorn's access log, at DEBUG, for 2xx and 4xx
requests. Each test also finds the redacted form, so it would see a token that got through."""

import json
import logging

import pytest
import requests
from django.test import Client

from incoming.services import create_incoming_webhook
from ops.log_redaction import RedactSecretsFilter, redact
from tests.security.conftest import build_universe
from tests.support.builders import api_key
from tests.support.web import GunicornServer
from tests.support.worker import database_url_for_workers


def incoming_hooks(universe):
    workflow = universe.objects["Workflow"]
    plain = create_incoming_webhook(
        universe.org.org, workflow=workflow, name="plain",
        config={"properties": {"Name": "$.title"}},
    )
    signed = create_incoming_webhook(
        universe.org.org, workflow=workflow, name="signed", verify_signatures=True,
    )
    return plain, signed


def logged_text(caplog) -> str:
    """What any handler can print: the formatted lines and every attribute of every record,
    after the handlers' filter (exc_info is printed through its redacted exc_text)."""
    for record in caplog.records:
        RedactSecretsFilter().filter(record)
    return caplog.text + "\n".join(
        repr({k: v for k, v in vars(record).items() if k != "exc_info"})
        for record in caplog.records
    )


def assert_redacted(text: str, secrets: list[str], token: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}...) is in the logs"
    assert f"incoming/{token[:6]}…" in text, "the redacted path is missing: nothing was logged"


@pytest.fixture
def universe(orgs):
    return build_universe(orgs["a"])


def test_django_logging_at_debug_holds_no_token(universe, caplog, settings):
    settings.DEBUG = True  # Django then logs every SQL statement with its parameters
    plain, signed = incoming_hooks(universe)
    client = Client()
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    answers = [
        client.post(f"/incoming/{plain.token}", {"title": "ok"},
                    content_type="application/json").status_code,
        client.post(f"/incoming/{plain.token}", "{bad", content_type="application/json")
        .status_code,
        client.post(f"/incoming/{signed.token}", {"title": "unsigned"},
                    content_type="application/json").status_code,
        client.get(f"/incoming/{plain.token}").status_code,
        client.get("/api/v1/webhooks", HTTP_X_API_KEY=universe.org.keys["admin"] + "x")
        .status_code,
    ]
    assert answers == [202, 400, 401, 405, 401]
    text = logged_text(caplog)
    assert "Unauthorized: /incoming/" in text and "SELECT" in text
    assert_redacted(text, [plain.token, signed.token, signed.signing_secret,
                           *universe.org.keys.values()], plain.token)


def test_api_keys_and_signing_secrets_are_redacted_wherever_they_are_logged(universe, caplog):
    raw_key = api_key(universe.org.admin, name="logged by mistake")
    plain, signed = incoming_hooks(universe)
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("tests.secrets")
    logger.warning("key %s secret %s url /incoming/%s", raw_key, signed.signing_secret,
                   plain.token)
    try:
        raise ValueError(f"failed with {raw_key} at /incoming/{plain.token}")
    except ValueError:
        logger.exception("boom")
    logger.info("with extras", extra={"url": f"http://x/incoming/{plain.token}",
                                      "key": raw_key})
    text = logged_text(caplog)
    assert_redacted(text, [raw_key, signed.signing_secret, plain.token], plain.token)
    assert raw_key[:12] + "…" in text and "whsec_…" in text


def test_redact_keeps_what_tells_secrets_apart():
    token = "AbCdEf" + "x" * 26
    assert redact(f"POST /incoming/{token} HTTP/1.1") == "POST /incoming/AbCdEf… HTTP/1.1"
    assert redact("psk_12345678abcdefgh") == "psk_12345678…"
    assert redact(f"WHERE token = '{token}'", sql=True) == "WHERE token = 'AbCdEf…'"
    assert redact("nothing secret here") == "nothing secret here"


@pytest.mark.django_db(transaction=True)
def test_gunicorn_logs_hold_no_token(orgs):
    universe = build_universe(orgs["a"])
    plain, signed = incoming_hooks(universe)
    with GunicornServer(database_url_for_workers(), env={"LOG_FORMAT": "json"}) as server:
        answers = [
            requests.post(f"{server.url}/incoming/{plain.token}", json={"title": "ok"},
                          timeout=10).status_code,
            requests.post(f"{server.url}/incoming/{plain.token}", data="{bad",
                          headers={"Content-Type": "application/json"}, timeout=10).status_code,
            requests.post(f"{server.url}/incoming/{signed.token}", json={"title": "x"},
                          timeout=10).status_code,
            requests.get(f"{server.url}/incoming/{plain.token}?q=1", timeout=10).status_code,
        ]
    log = server.log()
    assert answers == [202, 400, 401, 405], log[-3000:]
    access_lines = [line for line in log.splitlines() if '"POST /incoming/' in line]
    assert len(access_lines) == 3, log[-3000:]
    json_lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("logger") == "django.request" for line in json_lines), log[-3000:]
    assert_redacted(log, [plain.token, signed.token, signed.signing_secret], plain.token)
