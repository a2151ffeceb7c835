"""Claiming and recording tries, for one delivery or a batch. The try count lives in the
database and is claimed under a row lock before any request goes out, so a task that runs
twice (redelivered after a worker crash, woken by the sweeper) never makes a 4th try.

A claim also leases the delivery (next_try_at moves past the longest a try can take), so a
duplicate task finds it "not due" and does nothing, and a try lost with its worker becomes due
again when the lease runs out, for the sweeper to find. A batch (a fan-out's deliveries) is
claimed in one transaction and recorded in one, each delivery keeping its own count and record.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from delivery import health
from delivery.http import SendResult
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.policy import Outcome, RetryPolicy
from subscriptions.models import WebhookSecret, WebhookStatus

logger = logging.getLogger(__name__)

# A task may arrive a little before next_try_at (clock skew between machines, ETA rounding).
EARLY_SLACK = timedelta(seconds=2)
LOST_TRY_ERROR = "The worker stopped during this try; no response was recorded."
CANCELLED_ERROR = "The subscription was disabled or deleted before this delivery went out."


@dataclass(frozen=True)
class ClaimedTry:
    delivery_id: str
    number: int
    url: str
    event_id: str
    body: str
    secrets: list[str]


@dataclass(frozen=True)
class TryOutcome:
    status: str
    retry_in: float | None = None


def lease_seconds() -> float:
    return (settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT
            + settings.WEBHOOK_TRY_LEASE_MARGIN)


def _secrets_by_webhook(webhook_ids, now) -> dict[str, list[str]]:
    secrets = defaultdict(list)
    for webhook_id, secret, expires in WebhookSecret.objects.filter(
        webhook_id__in=webhook_ids
    ).order_by("-created_date").values_list("webhook_id", "secret", "expires_date"):
        if expires is None or expires > now:
            secrets[webhook_id].append(secret)
    return secrets


def _finish(delivery: Delivery, status: str, now, error: str = "") -> None:
    delivery.status, delivery.completed_date, delivery.next_try_at = status, now, None
    if error:
        delivery.last_error = error


def save_fields(deliveries: Iterable[Delivery], fields: list[str]) -> None:
    """Saves these fields with one UPDATE per distinct set of values: a batch's deliveries
    mostly share them (claimed together, answered 200 together), and bulk_update's CASE per row
    and field costs far more to build than to run."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for delivery in deliveries:
        groups[tuple(getattr(delivery, field) for field in fields)].append(delivery.id)
    for values, ids in groups.items():
        Delivery.objects.filter(pk__in=ids).update(**dict(zip(fields, values, strict=True)))


@transaction.atomic
def claim_tries(delivery_ids: list[str], policy: RetryPolicy) -> list[ClaimedTry]:
    """Claims the next try of each due delivery; skips the others (final, not due, or locked by
    another transaction), and ends those whose subscription is gone (cancelled) or whose tries
    are used up (failed).

    A row another transaction holds is skipped, not waited for (SKIP LOCKED, PostgreSQL): the
    holder is claiming or recording it, so it is not this task's to send; a row that stays due
    all the same is found by the sweeper. Waiting instead made a subscription's overlapping
    drains queue up behind each other for seconds, and deadlock (bench/README.md)."""
    now = timezone.now()
    due = list(
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("event", "webhook")
        .filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now + EARLY_SLACK))
        .order_by("pk")
    )
    recorded = set(
        Attempt.objects.filter(delivery__in=[d for d in due if d.tries])
        .values_list("delivery_id", "number")
    )
    # A previous claim that never recorded its outcome: its worker died mid-try.
    Attempt.objects.bulk_create([
        Attempt(delivery=d, number=d.tries, started_at=d.last_try_at or now, error=LOST_TRY_ERROR)
        for d in due if d.tries and (d.id, d.tries) not in recorded
    ])
    secrets = _secrets_by_webhook({d.webhook_id for d in due if d.webhook_id}, now)
    claims, ended, lease = [], [], now + timedelta(seconds=lease_seconds())
    for delivery in due:
        webhook = delivery.webhook
        if webhook is None or webhook.status != WebhookStatus.ACTIVE:
            _finish(delivery, DeliveryStatus.CANCELLED, now, CANCELLED_ERROR)
            ended.append(delivery)
        elif delivery.tries >= policy.max_tries:
            _finish(delivery, DeliveryStatus.FAILED, now)
            ended.append(delivery)
        else:
            delivery.tries += 1
            delivery.last_try_at, delivery.next_try_at = now, lease
            claims.append(ClaimedTry(
                delivery_id=delivery.id, number=delivery.tries, url=delivery.url,
                event_id=delivery.event_id, body=delivery.event.body,
                secrets=secrets.get(delivery.webhook_id, []),
            ))
    save_fields([d for d in due if d not in ended], ["tries", "last_try_at", "next_try_at"])
    save_fields(ended, ["status", "completed_date", "next_try_at", "last_error"])
    return claims


def claim_try(delivery_id: str, policy: RetryPolicy) -> ClaimedTry | None:
    claims = claim_tries([delivery_id], policy)
    return claims[0] if claims else None


@transaction.atomic
def record_tries(
    tries: list[tuple[ClaimedTry, SendResult, dict, object]], policy: RetryPolicy
) -> dict[str, TryOutcome]:
    """Records each (claim, result, request headers, started at); returns the outcome by
    delivery id (retry_in set when another try is due)."""
    now = timezone.now()
    deliveries = {
        d.id: d for d in Delivery.objects.select_for_update(of=("self",))
        .select_related("webhook").filter(pk__in=[claim.delivery_id for claim, *_ in tries])
    }
    attempts, outcomes, gone, succeeded = [], {}, {}, set()
    failed: dict[str, list] = defaultdict(list)
    for claim, result, request_headers, started_at in tries:
        delivery = deliveries[claim.delivery_id]
        attempts.append(Attempt(
            delivery=delivery, number=claim.number, started_at=started_at,
            duration_ms=result.duration_ms, request_headers=request_headers,
            response_status=result.status_code, response_headers=result.headers,
            response_excerpt=result.body_excerpt, error=result.error,
            connected_address=result.connected_address,
        ))
        delivery.last_status_code = result.status_code
        ok = result.status_code is not None and 200 <= result.status_code < 300
        delivery.last_error = result.error or ("" if ok else f"HTTP {result.status_code}")
        outcome = policy.classify(result.status_code)
        if outcome == Outcome.SUCCEEDED:
            _finish(delivery, DeliveryStatus.SUCCEEDED, now)
            succeeded.add(delivery.webhook_id)
        elif outcome == Outcome.GONE or policy.is_last(claim.number):
            _finish(delivery, DeliveryStatus.FAILED, now)
            if outcome == Outcome.GONE and delivery.webhook is not None:
                gone[delivery.webhook_id] = delivery.webhook
            elif delivery.webhook is not None:
                failed[delivery.webhook_id].append(delivery.webhook)
        else:
            delay = policy.delay_for(claim.number + 1, result.retry_after)
            delivery.next_try_at = now + timedelta(seconds=delay)
            outcomes[delivery.id] = TryOutcome(DeliveryStatus.PENDING, retry_in=delay)
            continue
        outcomes[delivery.id] = TryOutcome(delivery.status)
    Attempt.objects.bulk_create(attempts)
    save_fields(
        deliveries.values(),
        ["last_status_code", "last_error", "status", "completed_date", "next_try_at"],
    )
    health.record_successes(succeeded, now)
    for webhooks in failed.values():
        health.record_failure(webhooks[0], now, count=len(webhooks))
    if gone:
        from subscriptions.services import disable_webhook

        for webhook in gone.values():
            disable_webhook(webhook, reason="The receiver answered 410 Gone.")
    return outcomes


def record_try(
    claim: ClaimedTry, result: SendResult, request_headers: dict, started_at, policy: RetryPolicy
) -> TryOutcome:
    return record_tries([(claim, result, request_headers, started_at)], policy)[
        claim.delivery_id
    ]
