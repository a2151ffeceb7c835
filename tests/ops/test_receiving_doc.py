"""The verification snippets of docs/receiving.md, run against real signatures, so the doc
cannot drift from what the sender does."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from kernel.signing import generate_secret, sign_headers

DOC = Path(settings.BASE_DIR) / "docs" / "receiving.md"
BODY = '{"id":"3Jq0pYb9T8mY2zQ4r1oXwA","data":{"name":"Café"},"type":"TaskReady"}'.encode()


def snippet(marker: str) -> dict:
    match = re.search(rf"^```python {marker}\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert match, f"no ```python {marker} block in docs/receiving.md"
    namespace: dict = {}
    exec(compile(match.group(1), f"receiving.md:{marker}", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def hmac_doc():
    return snippet("verify-hmac")


def signed(secrets, body=BODY, timestamp=None):
    when = int(time.time()) if timestamp is None else timestamp
    return sign_headers("3Jq0pYb9T8mY2zQ4r1oXwA", when, body, secrets)


def test_plain_hmac_snippet_accepts_a_real_signature(hmac_doc):
    secret = generate_secret()
    headers = {name.title(): value for name, value in signed([secret]).items()}
    hmac_doc["verify"](secret, headers, BODY)


def test_plain_hmac_snippet_accepts_either_secret_during_rotation(hmac_doc):
    old, new = generate_secret(), generate_secret()
    headers = signed([new, old])
    assert len(headers["webhook-signature"].split()) == 2
    hmac_doc["verify"](old, headers, BODY)
    hmac_doc["verify"](new, headers, BODY)


@pytest.mark.parametrize("tamper", ["body", "secret", "id", "stale", "future", "missing"])
def test_plain_hmac_snippet_rejects(hmac_doc, tamper):
    secret = generate_secret()
    body, headers = BODY, signed([secret])
    if tamper == "body":
        body = BODY.replace(b"Caf", b"Cof")
    elif tamper == "secret":
        secret = generate_secret()
    elif tamper == "id":
        headers["webhook-id"] = "another-id"
    elif tamper == "stale":
        headers = signed([secret], timestamp=int(time.time()) - 301)
    elif tamper == "future":
        headers = signed([secret], timestamp=int(time.time()) + 301)
    else:
        del headers["webhook-signature"]
    with pytest.raises(hmac_doc["InvalidSignature"]):
        hmac_doc["verify"](secret, headers, body)


def test_library_snippet_accepts_a_real_signature_and_rejects_a_forged_one():
    doc = snippet("verify-standardwebhooks")
    secret = generate_secret()
    headers = signed([generate_secret(), secret])
    assert doc["verify_with_library"](secret, headers, BODY)["type"] == "TaskReady"
    with pytest.raises(doc["WebhookVerificationError"]):
        doc["verify_with_library"](secret, headers, BODY + b" ")


def test_documented_facts_match_the_settings():
    text = DOC.read_text()
    assert "At most 3 tries" in text and settings.WEBHOOK_MAX_TRIES == 3
    assert "`{webhook-id}.{webhook-timestamp}.{body}`" in text
    for name in ("WEBHOOK_RETRY_DELAYS", "WEBHOOK_RETRY_AFTER_CAP", "WEBHOOK_CONNECT_TIMEOUT",
                 "WEBHOOK_READ_TIMEOUT", "WEBHOOK_SECRET_ROTATION_GRACE"):
        assert name in text and hasattr(settings, name)
