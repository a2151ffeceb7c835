"""Handling one request to an incoming webhook's public URL, all or nothing: its signature, its
idempotency key, its body parsed, the mapping applied (incoming/mapping.py), and the request
recorded in the webhook's log whatever became of it.

The answer is decided here, not in the view, so the admin's "See payload" (which parses a stored
body again) and the endpoint read a body the same way. The log keeps the most recent
INCOMING_WEBHOOK_REQUESTS_KEPT requests per incoming webhook, and an idempotency key answers as
the first request with it did for INCOMING_IDEMPOTENCY_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone

from api import strict_json
from api.error_body import error_body
from incoming.mapping import apply_payload
from incoming.models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IncomingIdempotencyKey,
    IncomingOutcome,
    IncomingRequest,
    IncomingWebhook,
)
from kernel.domain_errors import DomainConflict
from kernel.signing import SignatureError, verify_signature

logger = logging.getLogger(__name__)

# Field names the services report errors under -> the config property they come from.
SERVICE_FIELD_TO_PROPERTY = {
    "name": "Name", "dueDate": "DueDate", "assignees": "Assignees", "runner": "Runner",
}
BODY_CAP_BYTES = 64 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def idempotency_window() -> timedelta:
    """How long a repeated idempotency key is answered as the first request with it was."""
    return timedelta(seconds=settings.INCOMING_IDEMPOTENCY_SECONDS)


@dataclass
class Answer:
    """What the endpoint answers: status, JSON body, extra headers (Idempotent-Replayed)."""

    status_code: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    """A request refused with an error answer; raised anywhere in the handling, recorded once."""

    def __init__(self, status_code: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details = details or {}


def parse_payload(body: bytes, content_type: str) -> object:
    """The payload as JSON data; a form-encoded body becomes an object (repeated keys: lists).
    JSON is read strictly (api.strict_json): too deep, NaN, out-of-range numbers,
    lone surrogates and NUL are a 400 that never quotes the body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "BadRequest", "The body is not UTF-8 text.") from None
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == FORM_CONTENT_TYPE:
        query = QueryDict(text, encoding="utf-8")
        payload = {key: values[0] if len(values) == 1 else values
                   for key, values in query.lists()}
    else:
        if not text.strip():
            raise Rejected(400, "BadRequest", "The body is empty; send a JSON object.")
        try:
            payload = strict_json.loads(text)
        except strict_json.JSONRefused as exc:
            raise Rejected(400, "BadRequest", str(exc)) from None
        if not isinstance(payload, dict | list):
            raise Rejected(400, "BadRequest", "The body must be a JSON object or array.")
        return payload
    try:
        strict_json.check_strings_and_depth(payload, strict_json.max_depth())
    except strict_json.JSONRefused as exc:
        raise Rejected(400, "BadRequest", str(exc)) from None
    return payload


def idempotency_key(headers: Mapping[str, str]) -> str:
    """Idempotency-Key, or the Standard Webhooks webhook-id a signing sender sets anyway."""
    return (headers.get("Idempotency-Key") or headers.get("webhook-id") or "").strip()


@dataclass
class _Request:
    webhook: IncomingWebhook
    body: bytes
    content_type: str
    key: str
    received: object

    def record(self, outcome: str, status_code: int, *, object_id: str = "",
               error: str = "") -> IncomingRequest:
        capped = self.body[:BODY_CAP_BYTES]
        return IncomingRequest.objects.create(
            incoming_webhook=self.webhook, received_date=self.received, outcome=outcome,
            status_code=status_code, created_object_id=object_id or "", error=error[:2000],
            body=capped.decode("utf-8", errors="replace"),
            body_truncated=len(self.body) > BODY_CAP_BYTES,
            content_type=self.content_type[:255], idempotency_key=self.key[:255],
        )


def reject(webhook: IncomingWebhook, *, body: bytes, content_type: str, headers: Mapping,
           status_code: int, code: str, message: str, details: dict | None = None) -> Answer:
    """Records a rejected request and gives the error answer (also used by the view for 413)."""
    request = _Request(webhook, body, content_type, idempotency_key(headers)[:255],
                       timezone.now())
    return _reject(request, Rejected(status_code, code, message, details))


def _reject(request: _Request, rejected: Rejected) -> Answer:
    logger.info("Incoming webhook %s rejected a request (%s): %s", request.webhook.pk,
                rejected.status_code, rejected.message)
    row = request.record(IncomingOutcome.REJECTED, rejected.status_code, error=rejected.message)
    _prune(request.webhook)
    return Answer(rejected.status_code,
                  error_body(rejected.message, rejected.code, request_id=row.pk,
                             details=rejected.details))


def receive(webhook: IncomingWebhook, *, body: bytes, content_type: str,
            headers: Mapping[str, str]) -> Answer:
    """Handles one request whose body is already within the size limit."""
    request = _Request(webhook, body, content_type or "", idempotency_key(headers),
                       timezone.now())
    try:
        if webhook.signing_secret:
            try:
                verify_signature(webhook.signing_secret, headers, body,
                                 tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS)
            except SignatureError as exc:
                raise Rejected(401, "Unauthorized", f"Invalid signature: {exc}") from None
        if len(request.key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            request.key = request.key[:IDEMPOTENCY_KEY_MAX_LENGTH]
            raise Rejected(400, "BadRequest", "The idempotency key is longer than "
                                              f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters.")
        if not webhook.is_active:
            logger.info("Incoming webhook %s is disabled: payload dropped", webhook.pk)
            row = request.record(IncomingOutcome.DROPPED, 202)
            _prune(webhook)
            return Answer(202, {"id": row.pk, "status": IncomingOutcome.DROPPED,
                                "objectId": None})
        payload = parse_payload(body, request.content_type)
        answer = _process(request, payload)
    except Rejected as rejected:
        return _reject(request, rejected)
    except Exception:
        logger.exception("Incoming webhook %s failed on a request", webhook.pk)
        return _reject(request, Rejected(500, "InternalError", "Internal error."))
    _prune(webhook)
    return answer


def _validation_details(exc: ValidationError) -> dict[str, str]:
    if not hasattr(exc, "error_dict"):
        return {"payload": " ".join(exc.messages)}
    return {SERVICE_FIELD_TO_PROPERTY.get(key, key): " ".join(messages)
            for key, messages in exc.message_dict.items()}


def _replay(request: _Request, stored: IncomingIdempotencyKey) -> Answer:
    row = request.record(IncomingOutcome.DUPLICATE, stored.status_code,
                         object_id=(stored.response or {}).get("objectId") or "")
    logger.info("Incoming webhook %s: repeated idempotency key, request %s answered as before",
                request.webhook.pk, row.pk)
    return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})


def _process(request: _Request, payload: object) -> Answer:
    webhook, key = request.webhook, request.key
    for round_number in (1, 2):
        try:
            with transaction.atomic():
                if key:
                    stored = (IncomingIdempotencyKey.objects.select_for_update()
                              .filter(incoming_webhook=webhook, key=key).first())
                    if stored is not None:
                        if stored.created_date >= request.received - idempotency_window():
                            return _replay(request, stored)
                        stored.delete()
                    with transaction.atomic():
                        stored = IncomingIdempotencyKey.objects.create(
                            incoming_webhook=webhook, key=key, created_date=request.received
                        )
                outcome, object_id = apply_payload(webhook, payload)
                row = request.record(outcome, 202, object_id=object_id)
                body = {"id": row.pk, "status": outcome, "objectId": object_id}
                if key:
                    stored.request, stored.response = row, body
                    stored.save(update_fields=["request", "response"])
                logger.info("Incoming webhook %s: %s %s", webhook.pk, outcome, object_id)
                return Answer(202, body)
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as it did.
            if round_number == 2 or not key:
                raise
        except ValidationError as exc:
            details = _validation_details(exc)
            first = next(iter(details.items()), ("payload", "invalid"))
            raise Rejected(400, "Validation", f"{first[0]}: {first[1]}", details) from None
        except DomainConflict as exc:
            raise Rejected(409, "Conflict", exc.message) from None
    raise AssertionError("unreachable")


def _prune(webhook: IncomingWebhook) -> None:
    """Keeps the most recent requests and forgets idempotency keys past their window."""
    keep = settings.INCOMING_WEBHOOK_REQUESTS_KEPT
    cutoff = list(
        IncomingRequest.objects.filter(incoming_webhook=webhook)
        .order_by("-received_date").values_list("received_date", flat=True)[keep:keep + 1]
    )
    if cutoff:
        IncomingRequest.objects.filter(
            incoming_webhook=webhook, received_date__lte=cutoff[0]
        ).delete()
    IncomingIdempotencyKey.objects.filter(
        incoming_webhook=webhook, created_date__lt=timezone.now() - idempotency_window()
    ).delete()
