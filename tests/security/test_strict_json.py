"""Hostile JSON never answers 500: too deep, NaN and out-of-range numbers, lone surrogates, on
the API and on the public incoming endpoint; the refusal names the rule and never quotes the
input; a body stored before these rules renders safely."""

import pytest
from django.contrib.admin.utils import quote
from django.test import Client
from django.utils import timezone

from api import strict_json
from incoming.models import IncomingOutcome, IncomingRequest
from incoming.services import create_incoming_webhook
from tests.security.conftest import build_universe
from tests.support.builders import PASSWORD

ERROR_KEYS = {"error", "errorCode", "requestId", "details"}
SURROGATE = '"\\ud800"'  # the JSON escape of a lone surrogate, as a sender writes it

HOSTILE_VALUES = {
    "NaN": "NaN",
    "Infinity": "-Infinity",
    "1e400": "1e400",
    "a 20-digit integer": "123456789012345678901",
    "a lone surrogate": SURROGATE,
    "a NUL": '"a\\u0000b"',
}


@pytest.fixture
def universe(orgs):
    return build_universe(orgs["a"])


def refused(response, *fragments: str) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == ERROR_KEYS and body["errorCode"] == "BadRequest", body
    for fragment in fragments:
        assert fragment in body["error"], body
    assert "\ufffd" not in body["error"] and "\\ud800" not in body["error"]
    return body


def nested(depth: int, inner: str = "1") -> str:
    return '{"a": ' * depth + inner + "}" * depth


def api_post(universe, method, path, raw: str):
    return getattr(Client(), method)(
        path, raw, content_type="application/json",
        HTTP_X_API_KEY=universe.org.keys["admin"],
    )


def api_paths(universe) -> list[tuple[str, str, str]]:
    """(method, path, body template with {value}) for three operations that once answered 500."""
    o, e = universe.objects, universe.extra
    run, task = o["WorkflowRun"].pk, o["Task"].pk
    return [
        ("patch", f"/api/v1/workflow-runs/{run}/tasks/{task}", '{"status": {value}}'),
        ("post", f"/api/v1/workflows/{o['Workflow'].pk}/incoming-webhooks",
         '{"name": {value}}'),
        ("post", f"/api/v1/workflow-runs/{run}/approvals",
         '{"approvalTaskId": "' + e["review_task"] + '", "status": {value}}'),
    ]


@pytest.mark.parametrize("label", sorted(HOSTILE_VALUES))
def test_api_refuses_hostile_values_with_a_400(universe, label):
    for method, path, template in api_paths(universe):
        response = api_post(universe, method, path,
                            template.replace("{value}", HOSTILE_VALUES[label]))
        refused(response, "JSON parse error")


def test_api_refuses_deep_json_naming_the_limit(universe, settings):
    method, path, _ = api_paths(universe)[0]
    for depth in (settings.MAX_JSON_DEPTH + 1, 1_000, 100_000):
        body = refused(api_post(universe, method, path, nested(depth)))
        assert f"deeper than {settings.MAX_JSON_DEPTH} levels" in body["error"]


def test_api_error_does_not_echo_the_invalid_text(universe):
    method, path, _ = api_paths(universe)[0]
    body = refused(api_post(universe, method, path, '{"status": "secret-ish-text'))
    assert "secret-ish-text" not in str(body)


@pytest.fixture
def hooks(universe):
    org = universe.org.org
    workflow_hook = create_incoming_webhook(
        org, workflow=universe.objects["Workflow"], name="wf",
        config={"properties": {"Name": "$.title"}},
    )
    field_id = universe.extra["record_field"]
    data_set_hook = create_incoming_webhook(
        org, data_set=universe.objects["DataSet"], name="ds",
        config={"columns": {field_id: "$.name"}},
    )
    return [workflow_hook, data_set_hook]


def post_incoming(hook, raw: str):
    return Client().post(f"/incoming/{hook.token}", raw, content_type="application/json")


def test_incoming_refuses_deep_json_naming_the_limit(hooks, settings):
    for hook in hooks:
        for depth in (settings.MAX_JSON_DEPTH + 1, 900, 1_000, 100_000):
            body = refused(post_incoming(hook, nested(depth)))
            assert f"deeper than {settings.MAX_JSON_DEPTH} levels" in body["error"]
        assert post_incoming(hook, nested(settings.MAX_JSON_DEPTH - 1)).status_code == 202


@pytest.mark.parametrize("label", sorted(HOSTILE_VALUES))
def test_incoming_refuses_hostile_values_and_its_log_still_renders(hooks, universe, label):
    for hook in hooks:
        value = HOSTILE_VALUES[label]
        raw = '{"title": ' + value + ', "name": ' + value + "}"
        refused(post_incoming(hook, raw))
        row = IncomingRequest.objects.filter(incoming_webhook=hook).latest("received_date")
        assert (row.outcome, row.status_code) == (IncomingOutcome.REJECTED, 400)
        parent = (f"workflows/{hook.workflow_id}" if hook.workflow_id
                  else f"data-sets/{hook.data_set_id}")
        log = Client().get(f"/api/v1/{parent}/incoming-webhooks/{hook.pk}/requests",
                           HTTP_X_API_KEY=universe.org.keys["admin"])
        assert log.status_code == 200, log.content[:300]
        assert log.json()["data"][0]["payload"] is None


def test_incoming_form_body_with_nul_is_refused(hooks):
    response = Client().post(f"/incoming/{hooks[0].token}", "title=a%00b",
                             content_type="application/x-www-form-urlencoded")
    refused(response, "NUL")


def test_a_body_stored_before_the_rules_renders_safely(hooks, universe):
    """A NaN body accepted by an older release stays in the request log until pruned: the log
    (API) answers 200 and shows it as text, without a parsed payload."""
    hook = hooks[0]
    IncomingRequest.objects.create(
        incoming_webhook=hook, received_date=timezone.now(), outcome=IncomingOutcome.CREATED,
        status_code=202, body='{"title": NaN, "n": 1e400}', content_type="application/json",
    )
    log = Client().get(f"/api/v1/workflows/{hook.workflow_id}/incoming-webhooks/{hook.pk}"
                       "/requests", HTTP_X_API_KEY=universe.org.keys["admin"])
    assert log.status_code == 200, log.content[:300]
    row = log.json()["data"][0]
    assert row["payload"] is None and "NaN" in row["body"]
    admin = Client()
    assert admin.login(username=universe.org.admin.user.username, password=PASSWORD)
    page = admin.get(f"/admin/incoming/incomingwebhook/{quote(hook.pk)}/change/")
    assert page.status_code == 200 and b"NaN" in page.content


def test_the_renderer_renders_what_json_cannot():
    renderer = strict_json.SafeJSONRenderer()
    rendered = renderer.render({"x": float("nan"), "y": ["\ud800", float("inf")]})
    assert rendered == '{"x":null,"y":["\ufffd",null]}'.encode()


def test_loads_accepts_what_is_strict_json():
    text = '{"a": [1, -2.5, 9223372036854775807, "é", "\\ud83d\\ude00", null, true]}'
    assert strict_json.loads(text) == {
        "a": [1, -2.5, 2**63 - 1, "é", "\U0001F600", None, True]
    }
