"""Creating Delivery rows and waking the workers for them.

The database is the source of truth; the broker is only a wake-up call. If Redis cannot take
the task when the change commits, the delivery stays pending and the sweeper enqueues it later.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery import drain
from delivery.models import Delivery, DeliveryStatus
from delivery.publisher import publisher
from webhooks_project.inserts import insert_rows, new_instance

logger = logging.getLogger(__name__)

# One quick retry covers a connection that a Redis restart broke; a broker that is really down
# fails fast, and the sweeper enqueues later.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def build_deliveries(pairs: Iterable, *, now, redelivery_of: Delivery | None = None
                     ) -> list[Delivery]:
    """One pending Delivery per (event, webhook or matching.Subscriber) pair, not yet saved."""
    return [
        new_instance(
            Delivery,
            event_id=event.id,
            webhook_id=webhook.id,
            organization_id=event.organization_id,
            url=webhook.url,
            next_try_at=now,
            redelivery_of_id=redelivery_of.id if redelivery_of else None,
        )
        for event, webhook in pairs
    ]


def create_deliveries(pairs: Iterable, *, now, redelivery_of: Delivery | None = None
                      ) -> list[Delivery]:
    """build_deliveries, saved."""
    deliveries = build_deliveries(pairs, now=now, redelivery_of=redelivery_of)
    insert_rows(Delivery, deliveries)
    return deliveries


def enqueue(delivery_ids: list[str]) -> int:
    """Wakes the workers for these deliveries over one producer: a fan-out goes out in batches
    (deliver_batch), a lone delivery as deliver_webhook. Returns how many the broker took."""
    from delivery.tasks import deliver_batch, deliver_webhook

    size = max(1, settings.WEBHOOK_DELIVERY_BATCH_SIZE)
    sent = 0
    try:
        with deliver_webhook.app.producer_or_acquire() as producer:
            for start in range(0, len(delivery_ids), size):
                chunk = delivery_ids[start:start + size]
                task, args = (
                    (deliver_webhook, [chunk[0]]) if len(chunk) == 1 else (deliver_batch, [chunk])
                )
                task.apply_async(
                    args=args, producer=producer, retry=True, retry_policy=PUBLISH_RETRY
                )
                sent += len(chunk)
    except Exception as exc:  # noqa: BLE001 - broker down: the sweeper will catch up
        logger.warning(
            "Could not enqueue %d deliveries (%s); the sweeper will retry them.",
            len(delivery_ids) - sent, exc,
        )
    return sent


def put_back(delivery_ids: list[str]) -> None:
    """Tries refused because their endpoint is at its in-flight limit wait a moment without
    using a try: out of the drains' way until their retry-queue task runs."""
    if not delivery_ids:
        return
    pause = random.uniform(0.5, 2.0)
    Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING).update(
        next_try_at=timezone.now() + timedelta(seconds=pause)
    )
    enqueue_retries(dict.fromkeys(delivery_ids, pause))


def enqueue_retries(countdowns: dict[str, float]) -> None:
    """Each delivery's next try on the retry queue, so retries never wait behind first tries.
    If the broker cannot take one, the sweeper finds it by its next-try time."""
    if not countdowns:
        return
    from delivery.tasks import RETRY_QUEUE, deliver_webhook

    try:
        with deliver_webhook.app.producer_or_acquire() as producer:
            for delivery_id, countdown in countdowns.items():
                deliver_webhook.apply_async(
                    args=[delivery_id], countdown=countdown, queue=RETRY_QUEUE,
                    producer=producer, retry=True, retry_policy=PUBLISH_RETRY,
                )
    except Exception as exc:  # noqa: BLE001
        logger.warning("Could not enqueue retries (%s); the sweeper will find them.", exc)


def wake(deliveries: dict[str, str | None]) -> int:
    """The on-commit wake-up for a change's new deliveries (delivery id -> webhook id): a lone
    delivery through its subscription's drain (delivery/drain.py), which takes along whatever
    else of that subscription is due; several as batches. Returns how many were handed over."""
    if len(deliveries) != 1:
        return enqueue(list(deliveries))
    ((delivery_id, webhook_id),) = deliveries.items()
    if webhook_id is None:
        return enqueue([delivery_id])
    from delivery.tasks import drain_webhook

    try:
        if drain.raise_wake_flag(webhook_id):
            drain_webhook.apply_async(args=[webhook_id], retry=True, retry_policy=PUBLISH_RETRY)
    except Exception as exc:  # noqa: BLE001 - Redis down: the sweeper will catch up
        logger.warning("Could not wake the drain of %s (%s); the sweeper will retry.",
                       webhook_id, exc)
        return 0
    return 1


def hand_over(deliveries: dict[str, str | None]) -> None:
    """What the committing request itself spends on waking the workers: the wake-up runs on
    this process's publisher thread (delivery/publisher.py)."""
    publisher.submit(functools.partial(wake, deliveries))


def enqueue_after_commit(deliveries: list[Delivery]) -> None:
    pending = {d.id: d.webhook_id for d in deliveries}
    transaction.on_commit(lambda: hand_over(pending))
