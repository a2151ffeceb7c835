"""Celery tasks: deliver one webhook try, sweep lost deliveries, heartbeat."""

from __future__ import annotations

import logging
import random
import time
from datetime import UTC, datetime, timedelta

from celery import shared_task
from celery.utils.nodenames import worker_direct
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from delivery import balance, drain
from delivery.dispatch import PUBLISH_RETRY, enqueue, enqueue_retries, put_back
from delivery.http import Post, SendResult, get_sender
from delivery.models import Delivery, DeliveryStatus, WorkerHeartbeat
from delivery.policy import RetryPolicy
from delivery.signing import sign_headers
from delivery.throttle import endpoint_slots, note_durations
from delivery.tries import ClaimedTry, claim_tries, lease_seconds, record_tries
from webhooks_project import __version__

logger = logging.getLogger(__name__)

USER_AGENT = f"ps-webhooks/{__version__}"
RETRY_QUEUE = "webhooks-retry"


def build_headers(event_id: str, body: bytes, secrets: list[str]) -> dict[str, str]:
    headers = sign_headers(event_id, int(time.time()), body, secrets) if secrets else {
        "webhook-id": event_id, "webhook-timestamp": str(int(time.time()))
    }
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    return headers


def _recordable(headers: dict[str, str]) -> dict[str, str]:
    # Signatures are derived from the secrets: keep them out of the stored record.
    return {k: ("<redacted>" if k == "webhook-signature" else v) for k, v in headers.items()}


@shared_task(bind=True, name="delivery.tasks.deliver_webhook", acks_late=True,
             max_retries=None, ignore_result=True)
def deliver_webhook(self, delivery_id: str) -> str | None:
    url = Delivery.objects.filter(pk=delivery_id).values_list("url", flat=True).first()
    if url is None:
        return None
    with endpoint_slots({delivery_id: url}, lease_seconds()) as slots:
        if not slots.allowed:
            put_back([delivery_id])
            return None
        return _try_once(self, delivery_id, slots.slow)


def _send(claims: list[ClaimedTry]) -> list[tuple[ClaimedTry, SendResult, dict, object]]:
    """POSTs the claimed tries side by side (the process's event loop, delivery/http.py)."""
    if not claims:
        return []
    posts, recorded = [], []
    for claim in claims:
        body = claim.body.encode("utf-8")
        headers = build_headers(claim.event_id, body, claim.secrets)
        posts.append(Post(claim.url, body, headers))
        recorded.append(_recordable(headers))
    sender = get_sender(max_in_flight=settings.WEBHOOK_BATCH_CONCURRENCY,
                        max_per_endpoint=settings.WEBHOOK_MAX_POSTS_PER_ENDPOINT)
    results = sender.send_many(
        posts,
        connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT,
        read_timeout=settings.WEBHOOK_READ_TIMEOUT,
        excerpt_bytes=settings.WEBHOOK_RESPONSE_EXCERPT_BYTES,
        allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS,
    )
    return [(claim, result, headers, datetime.fromtimestamp(result.started_at, UTC))
            for claim, result, headers in zip(claims, results, recorded, strict=True)]


def _note_speeds(sent: list, slow_before: set[str]) -> None:
    note_durations([
        (claim.url, None if result.status_code is None and "timeout" in result.error.lower()
         else result.duration_ms / 1000)
        for claim, result, *_ in sent
    ], slow_before)


def _log(claim: ClaimedTry, result: SendResult, outcome) -> None:
    logger.info(
        "delivery %s try %d -> %s (%s)", claim.delivery_id, claim.number, outcome.status,
        result.status_code or result.error,
        extra={"event_id": claim.event_id, "delivery_id": claim.delivery_id,
               "try": claim.number, "outcome": outcome.status},
    )


def _claim(task, delivery_ids: list[str], policy: RetryPolicy) -> list[ClaimedTry]:
    try:
        return claim_tries(delivery_ids, policy)
    except OperationalError as exc:
        # The claim rolled back (e.g. SQLite's write lock timed out): no try was used.
        logger.warning("deliveries %s not claimed (%s); trying again shortly", delivery_ids, exc)
        raise task.retry(countdown=random.uniform(0.5, 2.0), queue=RETRY_QUEUE) from exc


def _try_once(task, delivery_id: str, slow_before: set[str]) -> str | None:
    policy = RetryPolicy.from_settings(settings)
    claims = _claim(task, [delivery_id], policy)
    if not claims:
        return None
    sent = _send(claims)
    _note_speeds(sent, slow_before)
    outcome = record_tries(sent, policy)[delivery_id]
    _log(sent[0][0], sent[0][1], outcome)
    if outcome.retry_in is not None:
        # Retries go to their own queue so they never wait behind first tries.
        raise task.retry(countdown=outcome.retry_in, queue=RETRY_QUEUE)
    return outcome.status


@shared_task(bind=True, name="delivery.tasks.deliver_batch", acks_late=True,
             max_retries=None, ignore_result=True)
def deliver_batch(self, delivery_ids: list[str], placed: int = 0) -> int:
    """Several deliveries (a fan-out) in one task: one claim transaction, the POSTs side by
    side, one record transaction. Each delivery keeps its own tries and record; its retries go
    out one by one, as deliver_webhook on the retry queue."""
    if _handed_over(self, [delivery_ids], len(delivery_ids), placed):
        return 0
    try:
        urls = dict(Delivery.objects.filter(pk__in=delivery_ids).values_list("id", "url"))
        return _deliver(self, urls)
    finally:
        balance.adjust(self.request.hostname, -len(delivery_ids))


@shared_task(bind=True, name="delivery.tasks.drain_webhook", acks_late=True,
             max_retries=None, ignore_result=True)
def drain_webhook(self, webhook_id: str, placed: int = 0) -> int:
    """One batch of a subscription's waiting first tries (see delivery/drain.py); queues the
    next batch while a full one goes out, until none is left."""
    drain.lower_wake_flag(webhook_id)
    size = max(1, settings.WEBHOOK_DELIVERY_BATCH_SIZE)
    waiting = drain.due_first_tries(webhook_id, size)
    if _handed_over(self, [webhook_id], len(waiting), placed):
        return 0
    if not waiting:
        return 0
    node, held = self.request.hostname, len(waiting)

    def next_batch(refused: list[str]) -> None:
        nonlocal held
        # Tries refused by a slow endpoint's limit (endpoint_slots) stay waiting for the next
        # batch: the drain comes back for them after a moment, with no task of their own.
        if refused:
            balance.adjust(node, -len(refused))  # not held here: not in flight
            held -= len(refused)
            countdown = random.uniform(0.5, 1.0)
        elif len(waiting) == size:
            countdown = 0  # more may be waiting: claimed while this batch is out
        else:
            return
        drain_webhook.apply_async(args=[webhook_id], countdown=countdown,
                                  retry=True, retry_policy=PUBLISH_RETRY)

    try:
        return _deliver(self, waiting, after_claim=next_batch, put_back_refused=False)
    finally:
        balance.adjust(node, -held)


def _handed_over(task, args: list, tries: int, placed: int) -> bool:
    """Places a batch of `tries` (delivery/balance.py): True when it went to a less loaded
    worker node, to run there instead. `placed` is the count a handed-over batch was placed
    with; it has arrived where it runs, and is not handed over again."""
    node = task.request.hostname
    if placed:
        balance.adjust(node, tries - placed)
        return False
    target = balance.place(node, tries) if tries else None
    if target is None:
        return False
    try:
        task.apply_async(args=args, kwargs={"placed": tries}, queue=worker_direct(target),
                         retry=True, retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # the broker refused it: the batch runs here after all
        logger.warning("batch not handed over to %s (%s); sent from here", target, exc)
        balance.adjust(target, -tries)
        balance.adjust(node, tries)
        return False
    return True


def _deliver(task, urls: dict[str, str], after_claim=None, put_back_refused: bool = True) -> int:
    """Claims, POSTs side by side and records these deliveries (id -> URL); `after_claim` runs
    once the claim is committed, before the POSTs, with the ids a slow endpoint refused. Those
    are put back (dispatch.put_back) unless `put_back_refused` is False."""
    policy = RetryPolicy.from_settings(settings)
    with endpoint_slots(urls, lease_seconds()) as slots:
        allowed = [d for d in urls if d in slots.allowed]
        waiting = [d for d in urls if d not in slots.allowed]
        if put_back_refused:
            put_back(waiting)
        claims = _claim(task, allowed, policy) if allowed else []
        if after_claim is not None:
            after_claim(waiting)
        sent = _send(claims)
    if sent:
        _note_speeds(sent, slots.slow)
    outcomes = record_tries(sent, policy) if sent else {}
    for claim, result, *_ in sent:
        _log(claim, result, outcomes[claim.delivery_id])
    enqueue_retries({d: o.retry_in for d, o in outcomes.items() if o.retry_in is not None})
    return len(sent)


@shared_task(name="delivery.tasks.sweep_deliveries", ignore_result=True)
def sweep_deliveries(batch_size: int = 500) -> int:
    """Re-enqueue pending deliveries whose task was lost (broker down at commit, Redis
    restarted, worker killed): the database says they are due and nobody took them."""
    cutoff = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE)
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_try_at__lte=cutoff)
        .order_by("next_try_at")
        .values_list("id", flat=True)[:batch_size]
    )
    if due:
        logger.info("sweeper re-enqueues %d overdue deliveries", len(due))
    return enqueue(due)


@shared_task(bind=True, name="delivery.tasks.record_heartbeat", ignore_result=True)
def record_heartbeat(self) -> str:
    """Sent by beat; the row it writes shows which workers are alive and that beat runs."""
    hostname = self.request.hostname or "unknown"
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen": timezone.now()}
    )
    return hostname


@shared_task(name="delivery.tasks.prune_deliveries", ignore_result=True)
def prune_deliveries() -> dict[str, int]:
    from delivery.retention import prune

    return prune()


@shared_task(name="delivery.tasks.recover_deliveries", ignore_result=True)
def recover_deliveries(webhook_id: str, since: str, until: str | None = None,
                       after: list | None = None) -> int:
    """One bounded batch of a recovery; queues the next batch until none is left."""
    from delivery.recovery import recover_batch

    return recover_batch(webhook_id, since, until, after)
