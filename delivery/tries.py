"""Claiming and recording tries. The try count lives in the database and is claimed under a row
lock right before the request goes out, so a task that runs twice (redelivered after a worker
crash, woken by the sweeper) never makes a 4th try.

A claim also leases the delivery: next_try_at moves past the longest a try can take, so a
duplicate task finds it "not due" and does nothing, and a try lost with its worker becomes due
again when the lease runs out, for the sweeper to find. The pipeline (delivery/pipeline.py)
claims a try only once it may be sent at once, so the lease covers the POST and nothing else.

Recording is per try and idempotent. A result is stored as the attempt it is, even when it
arrives after its lease ran out and the next try was claimed (the claim then wrote a "lost"
attempt in its place, which the late result replaces). Only the delivery's current try decides
what happens next after a failure; a 2xx from any try makes the delivery succeeded, since the
receiver has the event (a delivery cancelled or taken for failed meanwhile included).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery import dispatch, health, ordering
from delivery.flow import Destination
from delivery.http import SendResult
from delivery.models import Attempt, Delivery, DeliveryStatus
from delivery.policy import Outcome, RetryPolicy
from delivery.signing_secrets import signing_secrets
from subscriptions.models import Webhook, WebhookStatus
from subscriptions.services import disable_webhook

logger = logging.getLogger(__name__)

# A task may arrive a little before next_try_at (clock skew between machines, ETA rounding).
EARLY_SLACK = timedelta(seconds=2)
LOST_TRY_ERROR = "The worker stopped during this try; no response was recorded."
CANCELLED_ERROR = "The webhook was disabled or deleted before this delivery went out."
_ATTEMPT_RESULT_FIELDS = ["started_at", "duration_ms", "request_headers", "response_status",
                          "response_headers", "response_excerpt", "error", "connected_address"]


@dataclass(frozen=True)
class ClaimedTry:
    delivery_id: str
    number: int
    url: str
    event_id: str
    body: str
    secrets: list[str]
    webhook_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the webhook's custom headers


@dataclass(frozen=True)
class SentTry:
    """A claimed try and what came of it: the request headers as recorded (signatures
    redacted) and when the POST started."""

    claim: ClaimedTry
    result: SendResult
    request_headers: dict
    started_at: datetime


@dataclass(frozen=True)
class TryOutcome:
    status: str
    retry_in: float | None = None  # set when this try scheduled the next one


def lease_seconds() -> float:
    return (settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT
            + settings.WEBHOOK_TRY_LEASE_MARGIN)


def _update(ids: list[str], **values) -> int:
    return Delivery.objects.filter(pk__in=ids).update(**values) if ids else 0


_CLAIM_COLUMNS = ("id", "tries", "last_try_at", "webhook_id", "webhook__status", "url",
                  "event_id", "event__body", "webhook__headers", "sequence",
                  "webhook__ordered_delivery", "subject", "webhook__updated_date")


@dataclass
class _Claim:
    """What a claim transaction decided: the rows claimed, and the deliveries of ordered
    webhooks whose turn came because one before them ended in it (delivery/ordering.py)."""

    claimed: list[tuple]
    turn_came: dict[str, Destination]  # ordering.next_in_line
    unsettled: dict[str, str]  # to try again in a moment (ordering.held)


@transaction.atomic
def _claim_due(delivery_ids: list[str], policy: RetryPolicy, now) -> _Claim:
    rows = list(
        Delivery.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING)
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now + EARLY_SLACK))
        .order_by("pk").values_list(*_CLAIM_COLUMNS)
    )
    claimable, cancelled, failed, in_line = [], [], [], []
    for row in rows:
        delivery_id, tries, _last, webhook_id, webhook_status = row[:5]
        sequence, ordered = row[9:11]
        if webhook_id is None or webhook_status != WebhookStatus.ACTIVE:
            cancelled.append(delivery_id)
        elif tries >= policy.max_tries:
            failed.append(delivery_id)
        else:
            claimable.append(row)
            # Only a first try waits for its turn: a delivery that has started its tries
            # was the first of its subject when it did, and finishes them.
            if ordered and sequence is not None and not tries:
                in_line.append((delivery_id, webhook_id, row[11], sequence))
    _update(cancelled, status=DeliveryStatus.CANCELLED, completed_date=now, next_try_at=None,
            last_error=CANCELLED_ERROR)
    _update(failed, status=DeliveryStatus.FAILED, completed_date=now, next_try_at=None)
    ended = {*cancelled, *failed}
    turn_came = ordering.next_in_line([r[0] for r in rows if r[0] in ended and r[9]], now)
    # Asked once those that ended here are final: the next of their subject may go at once.
    held, unsettled = ordering.held(in_line, now)
    claimed = [row for row in claimable if row[0] not in held and row[0] not in unsettled]
    retried = {row[0]: row for row in rows if row[1]}  # never held: held rows have no tries
    if retried:
        # A previous try whose outcome was never recorded: its worker died, or its result is
        # late (the record replaces this row when it comes).
        Attempt.objects.bulk_create([
            Attempt(delivery_id=delivery_id, number=tries, started_at=last_try_at or now,
                    error=LOST_TRY_ERROR, request_headers={}, response_headers={})
            for delivery_id, tries, last_try_at, *_ in retried.values()
        ], ignore_conflicts=True)
    lease = now + timedelta(seconds=lease_seconds())
    _update([row[0] for row in claimed], tries=F("tries") + 1, last_try_at=now,
            next_try_at=lease)
    return _Claim(claimed, turn_came, unsettled)


def claim_tries(delivery_ids: list[str], policy: RetryPolicy) -> list[ClaimedTry]:
    """Claims the next try of each due delivery; skips the others (final, not due, or locked by
    another transaction), and ends those whose webhook is gone (cancelled) or whose tries
    are used up (failed).

    A row another transaction holds is skipped, not waited for (SKIP LOCKED, PostgreSQL): the
    holder is claiming or recording it, so it is not this caller's to send; a row that stays
    due all the same is found by the sweeper. Waiting instead makes overlapping claims of one
    webhook queue up behind each other, and deadlock."""
    if not delivery_ids:
        return []
    now = timezone.now()
    claim = _claim_due(delivery_ids, policy, now)
    dispatch.wake_in_turn(claim.turn_came)
    dispatch.wake_in_turn(claim.unsettled, countdown=ordering.UNSETTLED_PAUSE)
    # Once the claim has committed: the transaction holds only what must be written.
    secrets = signing_secrets.signing({row[3]: row[12] for row in claim.claimed}, now)
    return [
        ClaimedTry(delivery_id=delivery_id, number=tries + 1, url=url, event_id=event_id,
                   body=body, secrets=secrets.get(webhook_id, []), webhook_id=webhook_id,
                   headers=headers or {})
        for delivery_id, tries, _last, webhook_id, _status, url, event_id, body, headers, *_
        in claim.claimed
    ]


def _attempt(sent: SentTry) -> Attempt:
    result = sent.result
    return Attempt(
        delivery_id=sent.claim.delivery_id, number=sent.claim.number,
        started_at=sent.started_at, duration_ms=result.duration_ms,
        request_headers=sent.request_headers, response_status=result.status_code,
        response_headers=result.headers, response_excerpt=result.body_excerpt,
        error=result.error, connected_address=result.connected_address,
    )


@dataclass
class _Plan:
    """What a batch of results changes, worked out from the deliveries' current rows."""

    outcomes: dict[str, TryOutcome]
    updates: dict[tuple, list[str]]  # (field, value) pairs -> delivery ids
    succeeded: set[str]
    failed: dict[str, int]
    gone: set[str]
    ended: list[str] = field(default_factory=list)  # pending until this batch, final now
    turn_came: dict[str, Destination] = field(default_factory=dict)  # ordering.next_in_line


def _plan(sent: list[SentTry], current: dict[str, tuple[str, int]], policy: RetryPolicy,
          now) -> _Plan:
    plan = _Plan({}, defaultdict(list), set(), defaultdict(int), set())
    for item in sent:
        claim, result = item.claim, item.result
        state = current.get(claim.delivery_id)
        if state is None:
            continue  # deleted with its organization or event: nothing to record
        status, tries = state
        outcome = policy.classify(result.status_code)
        ok = outcome == Outcome.SUCCEEDED
        error = result.error or ("" if ok else f"HTTP {result.status_code}")
        if status == DeliveryStatus.SUCCEEDED or (not ok and (
                status != DeliveryStatus.PENDING or tries != claim.number)):
            # A failure decides nothing once the delivery ended or a later try is under way;
            # a 2xx is news for any delivery that has not succeeded yet (the receiver has the
            # event, whatever was concluded meanwhile). The attempt is kept either way.
            plan.outcomes[claim.delivery_id] = TryOutcome(status)
            continue
        if outcome == Outcome.RETRY and not policy.is_last(claim.number):
            delay = policy.delay_for(claim.number + 1, result.retry_after)
            key = (("last_status_code", result.status_code), ("last_error", error),
                   ("next_try_at", now + timedelta(seconds=delay)))
            plan.outcomes[claim.delivery_id] = TryOutcome(DeliveryStatus.PENDING, delay)
        else:
            final = DeliveryStatus.SUCCEEDED if ok else DeliveryStatus.FAILED
            key = (("status", final), ("last_status_code", result.status_code),
                   ("last_error", error), ("completed_date", now), ("next_try_at", None))
            plan.outcomes[claim.delivery_id] = TryOutcome(final)
            if status == DeliveryStatus.PENDING:
                plan.ended.append(claim.delivery_id)
        plan.updates[key].append(claim.delivery_id)
        # A delivery's state changed: both pending entries of one delivery cannot pass here.
        current[claim.delivery_id] = (plan.outcomes[claim.delivery_id].status, tries)
        if claim.webhook_id:
            if ok:
                plan.succeeded.add(claim.webhook_id)
            elif outcome == Outcome.GONE:
                plan.gone.add(claim.webhook_id)
            elif plan.outcomes[claim.delivery_id].status == DeliveryStatus.FAILED:
                plan.failed[claim.webhook_id] += 1
    return plan


@transaction.atomic
def _write(sent: list[SentTry], policy: RetryPolicy, now) -> _Plan:
    ids = sorted({item.claim.delivery_id for item in sent})
    # Rows locked in one order (PostgreSQL; SQLite's write transaction holds the database).
    rows = list(Delivery.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                .order_by("pk").values_list("id", "status", "tries", "sequence"))
    current = {delivery_id: (status, tries) for delivery_id, status, tries, _ in rows}
    in_line = {delivery_id for delivery_id, *_, sequence in rows if sequence is not None}
    plan = _plan(sent, current, policy, now)
    attempts = [_attempt(item) for item in sent if item.claim.delivery_id in current]
    # A late result replaces the "lost" attempt its next claim wrote: one row per try.
    Attempt.objects.bulk_create(
        attempts, update_conflicts=True, unique_fields=["delivery", "number"],
        update_fields=_ATTEMPT_RESULT_FIELDS,
    )
    for key, group in plan.updates.items():
        _update(group, **dict(key))
    # In this transaction: a wake-up lost after the commit leaves the next one due, for the
    # sweeper, never held behind a delivery that has ended.
    plan.turn_came = ordering.next_in_line([d for d in plan.ended if d in in_line], now)
    health.record_successes(plan.succeeded, now)
    if plan.failed or plan.gone:
        webhooks = Webhook.objects.in_bulk(set(plan.failed) | plan.gone)
        for webhook_id, count in plan.failed.items():
            if webhook_id in webhooks:
                health.record_failure(webhooks[webhook_id], now, count=count)
        if plan.gone:
            for webhook_id in plan.gone & set(webhooks):
                disable_webhook(webhooks[webhook_id], reason="The receiver answered 410 Gone.")
    return plan


def record_tries(sent: list[SentTry], policy: RetryPolicy, *,
                 send_next: Callable[[dict[str, Destination]], None] | None = None
                 ) -> dict[str, TryOutcome]:
    """Records each sent try in one transaction; returns the outcome by delivery id, with
    retry_in set where this try scheduled the next one. Never raises for a late or repeated
    result: each is stored as the attempt it is and changes only what is still its to change.
    A delivery with two results in `sent` gets the outcome of the last one."""
    if not sent:
        return {}
    plan = _write(sent, policy, timezone.now())
    # The deliveries of ordered webhooks whose turn came with these ends: handed to
    # `send_next` (the pipeline sends them at once), or woken by a task.
    (send_next or dispatch.wake_in_turn)(plan.turn_came)
    return plan.outcomes
