"""Claiming and recording tries. The try count lives in the database and is claimed under a
row lock before any request goes out, so a task that runs twice (redelivered after a worker
crash, woken by the sweeper) never makes a 4th try.

A claim also leases the delivery (next_try_at moves past the longest a try can take), so a
duplicate task finds it "not due" and does nothing, and a try lost with its worker becomes due
again when the lease runs out, for the sweeper to find.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery import health
from delivery.http import SendResult
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.policy import Outcome, RetryPolicy
from subscriptions.models import WebhookStatus

logger = logging.getLogger(__name__)

# A task may arrive a little before next_try_at (clock skew between machines, ETA rounding).
EARLY_SLACK = timedelta(seconds=2)
LOST_TRY_ERROR = "The worker stopped during this try; no response was recorded."


@dataclass(frozen=True)
class ClaimedTry:
    delivery_id: str
    number: int
    url: str
    event_id: str
    body: str
    secrets: list[str]


def lease_seconds() -> float:
    return (settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT
            + settings.WEBHOOK_TRY_LEASE_MARGIN)


def _active_secrets(webhook, now) -> list[str]:
    return [
        s.secret for s in webhook.secrets.all() if s.expires_date is None or s.expires_date > now
    ]


def _finish(delivery: Delivery, status: str, now, error: str = "") -> None:
    delivery.status = status
    delivery.completed_date = now
    delivery.next_try_at = None
    if error:
        delivery.last_error = error
    delivery.save(update_fields=["status", "completed_date", "next_try_at", "last_error"])


@transaction.atomic
def claim_try(delivery_id: str, policy: RetryPolicy) -> ClaimedTry | None:
    now = timezone.now()
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("event", "webhook")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.is_final:
        return None
    if delivery.next_try_at and delivery.next_try_at > now + EARLY_SLACK:
        return None  # a try is in flight, or the next one is not due yet
    if delivery.tries and not delivery.attempts.filter(number=delivery.tries).exists():
        # The previous claim never recorded its outcome: its worker died mid-try.
        Attempt.objects.create(
            delivery=delivery, number=delivery.tries, started_at=delivery.last_try_at or now,
            error=LOST_TRY_ERROR,
        )
    webhook = delivery.webhook
    if webhook is None or webhook.status != WebhookStatus.ACTIVE:
        _finish(delivery, DeliveryStatus.CANCELLED, now, "The subscription was disabled or "
                "deleted before this delivery went out.")
        return None
    if delivery.tries >= policy.max_tries:
        _finish(delivery, DeliveryStatus.FAILED, now)
        return None
    secrets = _active_secrets(webhook, now)
    delivery.tries += 1
    delivery.last_try_at = now
    delivery.next_try_at = now + timedelta(seconds=lease_seconds())
    delivery.save(update_fields=["tries", "last_try_at", "next_try_at"])
    return ClaimedTry(
        delivery_id=delivery.id, number=delivery.tries, url=delivery.url,
        event_id=delivery.event_id, body=delivery.event.body, secrets=secrets,
    )


@dataclass(frozen=True)
class TryOutcome:
    status: str
    retry_in: float | None = None


@transaction.atomic
def record_try(
    claim: ClaimedTry, result: SendResult, request_headers: dict, started_at, policy: RetryPolicy
) -> TryOutcome:
    now = timezone.now()
    delivery = Delivery.objects.select_for_update(of=("self",)).select_related("webhook").get(
        pk=claim.delivery_id
    )
    Attempt.objects.create(
        delivery=delivery, number=claim.number, started_at=started_at,
        duration_ms=result.duration_ms, request_headers=request_headers,
        response_status=result.status_code, response_headers=result.headers,
        response_excerpt=result.body_excerpt, error=result.error,
        connected_address=result.connected_address,
    )
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error or (
        "" if result.status_code and 200 <= result.status_code < 300
        else f"HTTP {result.status_code}"
    )
    outcome = policy.classify(result.status_code)
    fields = ["last_status_code", "last_error", "status", "completed_date", "next_try_at"]
    if outcome == Outcome.SUCCEEDED:
        delivery.status, delivery.completed_date, delivery.next_try_at = (
            DeliveryStatus.SUCCEEDED, now, None
        )
        delivery.save(update_fields=fields)
        if delivery.webhook_id:
            health.record_success(delivery.webhook_id, now)
        return TryOutcome(DeliveryStatus.SUCCEEDED)
    if outcome == Outcome.GONE:
        delivery.status, delivery.completed_date, delivery.next_try_at = (
            DeliveryStatus.FAILED, now, None
        )
        delivery.save(update_fields=fields)
        if delivery.webhook is not None:
            from subscriptions.services import disable_webhook

            disable_webhook(delivery.webhook, reason="The receiver answered 410 Gone.")
        return TryOutcome(DeliveryStatus.FAILED)
    if policy.is_last(claim.number):
        delivery.status, delivery.completed_date, delivery.next_try_at = (
            DeliveryStatus.FAILED, now, None
        )
        delivery.save(update_fields=fields)
        if delivery.webhook is not None:
            health.record_failure(delivery.webhook, now)
        return TryOutcome(DeliveryStatus.FAILED)
    delay = policy.delay_for(claim.number + 1, result.retry_after)
    delivery.next_try_at = now + timedelta(seconds=delay)
    delivery.save(update_fields=fields)
    return TryOutcome(DeliveryStatus.PENDING, retry_in=delay)
