"""The local receiver behind `manage.py webhook_receiver`, like `stripe listen`: one line per
request (method, path, event type, event id, verification), verified against the signing
secrets of every webhook in the local database (read at each request, so webhooks created
while it runs verify too) and any secrets given on the command line."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from kernel.signing import SignatureError, verify_signature
from subscriptions.models import WebhookSecret


@dataclass(frozen=True)
class Secret:
    value: str
    source: str  # shown when it verifies: the webhook's name, or "--secret"


def database_secrets() -> list[Secret]:
    """Secrets that may still sign: current ones and those in their rotation grace."""
    rows = WebhookSecret.objects.filter(
        Q(expires_date__isnull=True) | Q(expires_date__gt=timezone.now())
    ).select_related("webhook")
    return [Secret(row.secret, f"webhook {row.webhook.name or row.webhook.url} "
                               f"({row.webhook_id})") for row in rows]


def verify(secrets: list[Secret], headers: dict, body: bytes) -> str:
    """'valid (<whose secret>)', 'INVALID (<why>)' or 'not checked (...)'."""
    if not secrets:
        return "not checked (no webhook secrets in the database and no --secret)"
    lowered = {name.lower(): value for name, value in headers.items()}
    if "webhook-signature" not in lowered:
        return "INVALID (no webhook-signature header)"
    reason = ""
    for secret in secrets:
        try:
            verify_signature(secret.value, lowered, body)
        except SignatureError as exc:
            reason = str(exc)
            continue
        return f"valid ({secret.source})"
    return f"INVALID ({reason}; tried {len(secrets)} secret(s))"


def describe(body: bytes) -> tuple[str, str, str | None]:
    """(event type, event id, pretty body or None when it is not JSON)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "?", "?", None
    if not isinstance(payload, dict):
        return "?", "?", json.dumps(payload, indent=2, ensure_ascii=False)
    kind = str(payload.get("type", "?")) + (" (test)" if payload.get("test") is True else "")
    return kind, str(payload.get("id", "?")), json.dumps(payload, indent=2, ensure_ascii=False)


def request_line(number: int, method: str, path: str, body: bytes, verdict: str,
                 status: int) -> str:
    kind, event_id, _ = describe(body)
    return (f"#{number} {method} {path} {kind} id={event_id} signature {verdict}; "
            f"answering {status}")
