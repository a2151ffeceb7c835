"""Standard Webhooks signing and verification (https://www.standardwebhooks.com/).

Signatures are computed by the `standardwebhooks` reference package so that receivers using any
Standard Webhooks library can verify them. Several secrets may sign the same message, which lets
a webhook rotate its secret without a window where receivers reject deliveries.
"""

from __future__ import annotations

import base64
import binascii
import secrets as _secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


class SignatureError(ValueError):
    """An incoming webhook's signature headers are missing, malformed, stale or do not match."""


class _Verifier(Webhook):
    # The library enforces a fixed 5-minute window inside a private method. verify_signature()
    # checks the timestamp itself with the caller's tolerance, so this override only parses.
    # Should the library rename the method, its own window applies on top of ours: verification
    # would only get stricter, never weaker.
    def _Webhook__verify_timestamp(self, timestamp_header: str) -> datetime:
        return datetime.fromtimestamp(int(timestamp_header), tz=UTC)


def _load_secret(secret: str, cls: type[Webhook] = Webhook) -> Webhook:
    try:
        return cls(secret)
    except (EmptyWebhookSecretError, binascii.Error, ValueError) as exc:
        # A broken secret is a configuration problem, not a bad signature: keep it a plain
        # ValueError so callers do not answer it like a forged request.
        raise ValueError(f"invalid webhook secret: {exc}") from None


def _body_text(body: bytes) -> str:
    # The library signs text; webhook bodies are JSON, which is UTF-8 by definition.
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("webhook body must be UTF-8 encoded") from None


def sign_headers(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """Return the webhook-id, webhook-timestamp and webhook-signature headers for one message.

    The signature header holds one `v1,<base64>` entry per secret, space separated.
    """
    if not secrets:
        raise ValueError("at least one signing secret is required")
    if not msg_id:
        raise ValueError("msg_id must not be empty")
    # The library floors an aware datetime to whole seconds; a naive one would be read as UTC
    # wall-clock time and shift the signed timestamp by the local offset.
    when = datetime.fromtimestamp(int(timestamp), tz=UTC)
    text = _body_text(body)
    signatures = [_load_secret(secret).sign(msg_id, when, text) for secret in secrets]
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(int(timestamp)),
        HEADER_SIGNATURE: " ".join(signatures),
    }


def generate_secret(nbytes: int = 32) -> str:
    """Return a new random secret in the `whsec_<base64>` format."""
    if not isinstance(nbytes, int) or not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(
            f"secret length must be between {MIN_SECRET_BYTES} and {MAX_SECRET_BYTES} bytes"
        )
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int = 300,
    *,
    now: float | None = None,
) -> None:
    """Check a signed incoming webhook; raise SignatureError if it must be rejected.

    `now` (epoch seconds) exists for tests; the current time is used when it is None.
    """
    verifier = _load_secret(secret, _Verifier)
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    missing = [
        name for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE) if not lowered.get(name)
    ]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")

    try:
        timestamp = int(lowered[HEADER_TIMESTAMP].strip())
    except ValueError:
        raise SignatureError("webhook-timestamp is not an integer number of seconds") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance_seconds:
        raise SignatureError(
            f"timestamp too old: signed {int(current - timestamp)}s ago, "
            f"tolerance is {tolerance_seconds}s"
        )
    if timestamp > current + tolerance_seconds:
        raise SignatureError(
            f"timestamp too new: {int(timestamp - current)}s in the future, "
            f"tolerance is {tolerance_seconds}s"
        )

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("body is not valid UTF-8") from None
    try:
        verifier.verify(text, lowered, json_parse=False)
    except WebhookVerificationError as exc:
        raise SignatureError(f"signature verification failed: {exc}") from None
    except (ValueError, TypeError, OverflowError):
        # Entries that are not "version,base64" make the library fail while unpacking.
        raise SignatureError("webhook-signature header is malformed") from None
