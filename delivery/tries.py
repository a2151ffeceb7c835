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
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from delivery import health
from delivery.http import SendResult
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.policy import Outcome, RetryPolicy
from subscriptions.models import Webhook, WebhookSecret, WebhookStatus
from webhooks_project.group_commit import GroupCommit
from webhooks_project.inserts import PreparedRows, insert_rows, prepare_rows

logger = logging.getLogger(__name__)

# A task may arrive a little before next_try_at (clock skew between machines, ETA rounding).
EARLY_SLACK = timedelta(seconds=2)
# Claims and records of a worker's threads share a transaction when they meet (SQLite).
_writes = GroupCommit()
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
    webhook_id: str | None = None


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


def _update(ids: list[str], **values) -> int:
    return Delivery.objects.filter(pk__in=ids).update(**values) if ids else 0


# What a claim reads of each due delivery: plain rows, since model instances (a delivery, its
# event, its webhook) cost more to build than the query, inside the write transaction.
_CLAIM_COLUMNS = ("id", "tries", "last_try_at", "webhook_id", "webhook__status", "url",
                  "event_id", "event__body")


def _claim_due(delivery_ids: list[str], policy: RetryPolicy, now) -> list[tuple]:
    rows = list(
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now + EARLY_SLACK))
        .order_by("pk").values_list(*_CLAIM_COLUMNS)
    )
    retried = {row[0]: row for row in rows if row[1]}
    if retried:
        # A previous claim that never recorded its outcome: its worker died mid-try.
        recorded = set(Attempt.objects.filter(delivery__in=list(retried))
                       .values_list("delivery_id", "number"))
        insert_rows(Attempt, [
            Attempt(delivery_id=delivery_id, number=tries, started_at=last_try_at or now,
                    error=LOST_TRY_ERROR, request_headers={}, response_headers={})
            for delivery_id, tries, last_try_at, *_ in retried.values()
            if (delivery_id, tries) not in recorded
        ])
    claimed, cancelled, failed = [], [], []
    for row in rows:
        delivery_id, tries, _last, webhook_id, webhook_status = row[:5]
        if webhook_id is None or webhook_status != WebhookStatus.ACTIVE:
            cancelled.append(delivery_id)
        elif tries >= policy.max_tries:
            failed.append(delivery_id)
        else:
            claimed.append(row)
    lease = now + timedelta(seconds=lease_seconds())
    _update([row[0] for row in claimed], tries=F("tries") + 1, last_try_at=now,
            next_try_at=lease)
    _update(cancelled, status=DeliveryStatus.CANCELLED, completed_date=now, next_try_at=None,
            last_error=CANCELLED_ERROR)
    _update(failed, status=DeliveryStatus.FAILED, completed_date=now, next_try_at=None)
    return claimed


def claim_tries(delivery_ids: list[str], policy: RetryPolicy) -> list[ClaimedTry]:
    """Claims the next try of each due delivery; skips the others (final, not due, or locked by
    another transaction), and ends those whose subscription is gone (cancelled) or whose tries
    are used up (failed).

    A row another transaction holds is skipped, not waited for (SKIP LOCKED, PostgreSQL): the
    holder is claiming or recording it, so it is not this task's to send; a row that stays due
    all the same is found by the sweeper. Waiting instead made a subscription's overlapping
    drains queue up behind each other for seconds, and deadlock (bench/README.md)."""
    now = timezone.now()
    claimed = _writes.run(_claim_due, delivery_ids, policy, now)
    # Read once the claim has committed: the transaction holds only what must be written.
    secrets = _secrets_by_webhook({row[3] for row in claimed}, now)
    return [
        ClaimedTry(delivery_id=delivery_id, number=tries + 1, url=url, event_id=event_id,
                   body=body, secrets=secrets.get(webhook_id, []), webhook_id=webhook_id)
        for delivery_id, tries, _last, webhook_id, _status, url, event_id, body in claimed
    ]


# Fields a try's outcome sets on a delivery that ended (grouped by their values).
_ENDED_FIELDS = ("status", "last_status_code", "last_error")


def record_tries(
    tries: list[tuple[ClaimedTry, SendResult, dict, object]], policy: RetryPolicy
) -> dict[str, TryOutcome]:
    """Records each (claim, result, request headers, started at); returns the outcome by
    delivery id (retry_in set when another try is due).

    Everything but the writes is worked out before the transaction: on SQLite every other
    writer waits while one holds the database."""
    now = timezone.now()
    attempts, outcomes, kinds = [], {}, {}
    ended: dict[tuple, list[str]] = defaultdict(list)
    retrying: dict[tuple, list[str]] = defaultdict(list)
    for claim, result, request_headers, started_at in tries:
        attempts.append(Attempt(
            delivery_id=claim.delivery_id, number=claim.number, started_at=started_at,
            duration_ms=result.duration_ms, request_headers=request_headers,
            response_status=result.status_code, response_headers=result.headers,
            response_excerpt=result.body_excerpt, error=result.error,
            connected_address=result.connected_address,
        ))
        ok = result.status_code is not None and 200 <= result.status_code < 300
        error = result.error or ("" if ok else f"HTTP {result.status_code}")
        outcome = policy.classify(result.status_code)
        if outcome != Outcome.RETRY or policy.is_last(claim.number):
            status = (DeliveryStatus.SUCCEEDED if outcome == Outcome.SUCCEEDED
                      else DeliveryStatus.FAILED)
            ended[(status, result.status_code, error)].append(claim.delivery_id)
            outcomes[claim.delivery_id] = TryOutcome(status)
            kinds[claim.delivery_id] = outcome
        else:
            delay = policy.delay_for(claim.number + 1, result.retry_after)
            retrying[(result.status_code, error, now + timedelta(seconds=delay))].append(
                claim.delivery_id)
            outcomes[claim.delivery_id] = TryOutcome(DeliveryStatus.PENDING, retry_in=delay)
    webhook_of = {claim.delivery_id: claim.webhook_id for claim, *_ in tries}
    rows = prepare_rows(Attempt, attempts)
    _writes.run(_write_outcomes, rows, ended, retrying, webhook_of, kinds, now)
    return outcomes


def _write_outcomes(rows: PreparedRows, ended: dict, retrying: dict, webhook_of: dict,
                    kinds: dict, now) -> None:
    ids = list(webhook_of)
    if connection.features.has_select_for_update:
        # Rows locked one by one (PostgreSQL): in one order, before the UPDATEs, which group
        # rows by values. SQLite's write transaction holds the whole database already.
        list(Delivery.objects.select_for_update(of=("self",)).filter(pk__in=ids)
             .order_by("pk").values_list("id", flat=True))
    written = 0
    # One UPDATE per distinct set of values: a batch's deliveries mostly share them (answered
    # 200 together), and bulk_update's CASE per row and field costs more to build than to run.
    for values, group in ended.items():
        written += _update(group, **dict(zip(_ENDED_FIELDS, values, strict=True)),
                           completed_date=now, next_try_at=None)
    for (status_code, error, next_try_at), group in retrying.items():
        # A delivery cancelled during its try (its subscription deleted) stays cancelled.
        written += _update(group, last_status_code=status_code, last_error=error,
                           next_try_at=Case(When(status=DeliveryStatus.PENDING,
                                                 then=Value(next_try_at)),
                                            default=F("next_try_at")))
    if written < len(ids):
        # Some delivery is gone (deleted with its organization or event): it keeps no record.
        present = set(Delivery.objects.filter(pk__in=ids).values_list("id", flat=True))
        rows = prepare_rows(Attempt, [a for a in rows.objs if a.delivery_id in present])
        webhook_of = {d: w for d, w in webhook_of.items() if d in present}
    rows.insert()
    succeeded, failed, gone = set(), defaultdict(int), set()
    for delivery_id, kind in kinds.items():
        webhook_id = webhook_of.get(delivery_id)
        if webhook_id is None:
            continue
        if kind == Outcome.SUCCEEDED:
            succeeded.add(webhook_id)
        elif kind == Outcome.GONE:
            gone.add(webhook_id)
        else:
            failed[webhook_id] += 1
    health.record_successes(succeeded, now)
    if failed or gone:
        webhooks = Webhook.objects.in_bulk(set(failed) | gone)
        for webhook_id, count in failed.items():
            if webhook_id in webhooks:
                health.record_failure(webhooks[webhook_id], now, count=count)
        if gone:
            from subscriptions.services import disable_webhook

            for webhook_id in gone & set(webhooks):
                disable_webhook(webhooks[webhook_id], reason="The receiver answered 410 Gone.")
