"""Creating Delivery rows and waking the workers for them.

The database is the source of truth; the broker is only a wake-up call. If Redis cannot take
the task when the change commits, the delivery stays pending and the sweeper enqueues it later.

Waking the workers (`wake`), after a change commits:
- WEBHOOK_PUBLISH_IN_BACKGROUND: the wake-up is published from the process's publisher thread
  (delivery/publisher.py), so the committing request does not wait for Redis.
- WEBHOOK_DRAIN_STREAMS: a change with one delivery raises its webhook's wake flag instead
  of publishing a task of its own, and one drain task takes the webhook's waiting first
  tries in batches (delivery/drain.py). Off: every change publishes its own `deliver` task.

Tasks are published by name (delivery/tasks.py defines them, and calls this module).
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Collection, Iterable
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery import drain, ordering
from delivery.models import Delivery, DeliveryStatus
from delivery.publisher import publisher
from kernel.catalog import ordering_subject
from kernel.redis import redis_client

logger = logging.getLogger(__name__)

# One quick retry covers a connection that a Redis restart broke; a broker that is really down
# fails fast, and the sweeper enqueues later.
# Retries and put-back tries go to their own queue, so they never wait behind first tries.
RETRY_QUEUE = "webhooks-retry"
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
DELIVER_TASK = "delivery.tasks.deliver"
DRAIN_TASK = "delivery.tasks.drain_webhook"


def build_deliveries(pairs: Iterable, *, now, redelivery_of: Delivery | None = None,
                     in_order: bool = False) -> list[Delivery]:
    """One pending Delivery per (event, Webhook or matching.WebhookRow) pair, not yet saved.

    `in_order`: the events were just written by a domain change, so those going to a webhook
    with ordered delivery take their place in their subject's line (delivery/ordering.py).
    A redelivery or a test event never does: it is sent outside the order."""
    deliveries = [
        Delivery(
            event_id=event.id,
            webhook_id=webhook.id,
            organization_id=event.organization_id,
            url=webhook.url,
            next_try_at=now,
            redelivery_of_id=redelivery_of.id if redelivery_of else None,
            subject=ordering_subject(event) if in_order and webhook.ordered_delivery else "",
        )
        for event, webhook in pairs
    ]
    if in_order:
        ordering.assign_places(deliveries, now)
    return deliveries


def create_deliveries(pairs: Iterable, *, now, redelivery_of: Delivery | None = None
                      ) -> list[Delivery]:
    """build_deliveries, saved."""
    deliveries = build_deliveries(pairs, now=now, redelivery_of=redelivery_of)
    Delivery.objects.bulk_create(deliveries)
    return deliveries


def enqueue(delivery_ids: list[str], *, countdown: float | None = None,
            queue: str | None = None) -> int:
    """Wakes the workers for these deliveries over one producer, in `deliver` tasks of up to
    WEBHOOK_DELIVERY_BATCH_SIZE. Returns how many the broker took; the sweeper finds the rest."""
    size = max(1, settings.WEBHOOK_DELIVERY_BATCH_SIZE)
    sent = 0
    try:
        with current_app.producer_or_acquire() as producer:
            for start in range(0, len(delivery_ids), size):
                chunk = delivery_ids[start:start + size]
                current_app.send_task(DELIVER_TASK, args=[chunk], countdown=countdown,
                                      queue=queue, producer=producer, retry=True,
                                      retry_policy=PUBLISH_RETRY)
                sent += len(chunk)
    except Exception as exc:  # noqa: BLE001 - broker down: the sweeper will catch up
        logger.warning(
            "Could not enqueue %d deliveries (%s); the sweeper will retry them.",
            len(delivery_ids) - sent, exc,
        )
    return sent


def put_back(delivery_ids: list[str]) -> None:
    """Tries that found no place to be sent (their endpoint busy or slow) wait a moment,
    untried: out of the drains' way until their task on the retry queue runs."""
    if not delivery_ids:
        return
    pause, now = random.uniform(0.5, 2.0), timezone.now()
    # Only deliveries still due: one whose try another task claimed meanwhile keeps its lease.
    Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING,
                            next_try_at__lte=now).update(
        next_try_at=now + timedelta(seconds=pause)
    )
    enqueue(delivery_ids, countdown=pause, queue=RETRY_QUEUE)


def enqueue_retries(countdowns: dict[str, float]) -> None:
    """Each delivery's next try on the retry queue, so retries never wait behind first tries.
    Its next_try_at is already in the database: if the broker cannot take it, or loses it,
    the sweeper finds it there."""
    if not countdowns:
        return
    try:
        with current_app.producer_or_acquire() as producer:
            for delivery_id, countdown in countdowns.items():
                current_app.send_task(
                    DELIVER_TASK, args=[[delivery_id]], countdown=countdown, queue=RETRY_QUEUE,
                    producer=producer, retry=True, retry_policy=PUBLISH_RETRY,
                )
    except Exception as exc:  # noqa: BLE001
        logger.warning("Could not enqueue retries (%s); the sweeper will find them.", exc)


def wake_in_turn(deliveries: Collection[str], countdown: float | None = None) -> None:
    """The wake-up for deliveries of ordered webhooks whose turn came (their ids, see
    delivery/ordering.py): `deliver` tasks on the retry queue, since they have waited their
    turn already and should not queue again behind a backlog of first tries. By id, not
    through their webhook's drain: a drain reads the webhook's pending rows oldest first, and
    would pass over every delivery still held. The database says they are due: the sweeper
    finds any whose wake-up is lost."""
    if deliveries:
        enqueue(list(deliveries), countdown=countdown, queue=RETRY_QUEUE)


def wake(deliveries: dict[str, str | None]) -> None:
    """Wakes the workers for a committed change's new deliveries (delivery id -> webhook id)."""
    if settings.WEBHOOK_PUBLISH_IN_BACKGROUND:
        publisher.submit(functools.partial(wake_now, deliveries))
    else:
        wake_now(deliveries)


def wake_now(deliveries: dict[str, str | None]) -> int:
    """The wake-up for a committed change's new deliveries (delivery id -> webhook id): with
    drains on, a lone delivery through its webhook's drain (delivery/drain.py), which
    takes along whatever else of that webhook is due; otherwise, and for several, `deliver`
    tasks. Returns how many were handed over."""
    if len(deliveries) != 1 or not settings.WEBHOOK_DRAIN_STREAMS:
        return enqueue(list(deliveries))
    ((delivery_id, webhook_id),) = deliveries.items()
    if webhook_id is None:
        return enqueue([delivery_id])
    try:
        if drain.raise_wake_flag(webhook_id):
            current_app.send_task(DRAIN_TASK, args=[webhook_id], retry=True,
                                  retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # noqa: BLE001 - Redis down: the sweeper will catch up
        logger.warning("Could not wake the drain of %s (%s); the sweeper will retry.",
                       webhook_id, exc)
        return 0
    return 1


def prepare_wake_ups() -> None:
    """Readies, on the process's publisher thread, what the first wake-up would otherwise
    wait for: the broker's connection and Redis's. Run once at the start of a process that
    changes things (gunicorn's post_worker_init), so that its first committed change wakes the
    workers as fast as the others; behind that first wake-up, the next ones would queue on the
    same thread."""
    publisher.submit(_connect_for_wake_ups)


def _connect_for_wake_ups() -> None:
    try:
        with current_app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=1)
        redis_client().ping()
    except Exception as exc:  # noqa: BLE001 - the first wake-up connects, or the sweeper covers
        logger.warning("broker not reachable at start-up (%s)", exc)


def enqueue_after_commit(deliveries: list[Delivery]) -> None:
    pending = {d.id: d.webhook_id for d in deliveries}
    transaction.on_commit(lambda: wake(pending))
