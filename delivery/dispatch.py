"""Creating Delivery rows and waking the workers for them.

The database is the source of truth; the broker is only a wake-up call. If Redis cannot take
the task when the change commits, the delivery stays pending and the sweeper enqueues it later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from delivery.models import Delivery

logger = logging.getLogger(__name__)

# One quick retry covers a connection that a Redis restart broke; a broker that is really down
# fails fast, and the sweeper enqueues later.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def create_deliveries(pairs: Iterable, *, now, redelivery_of: Delivery | None = None
                      ) -> list[Delivery]:
    deliveries = [
        Delivery(
            event=event,
            webhook=webhook,
            organization_id=event.organization_id,
            url=webhook.url,
            next_try_at=now,
            redelivery_of=redelivery_of,
        )
        for event, webhook in pairs
    ]
    return Delivery.objects.bulk_create(deliveries)


def enqueue(delivery_ids: list[str]) -> int:
    """Sends one task per delivery over one producer; returns how many the broker took."""
    from delivery.tasks import deliver_webhook

    sent = 0
    try:
        with deliver_webhook.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                deliver_webhook.apply_async(
                    args=[delivery_id], producer=producer, retry=True,
                    retry_policy=PUBLISH_RETRY,
                )
                sent += 1
    except Exception as exc:  # noqa: BLE001 - broker down: the sweeper will catch up
        logger.warning(
            "Could not enqueue %d deliveries (%s); the sweeper will retry them.",
            len(delivery_ids) - sent, exc,
        )
    return sent


def enqueue_after_commit(delivery_ids: list[str]) -> None:
    transaction.on_commit(lambda: enqueue(delivery_ids))
