"""Coalescing a webhook's stream of deliveries into batches.

A change that creates one delivery (the common case: one event, one matching webhook) does
not publish a task of its own. It raises its webhook's wake flag in Redis, and only the
change that raises it publishes `drain_webhook`. That task lowers the flag first, then takes the
webhook's due first tries in batches, each batch claimed in one transaction, POSTed side by
side and recorded in one, so a busy webhook costs a few tasks and transactions per hundred
deliveries instead of two transactions and a task each.

Why nothing is missed: a raised flag always means a published drain that has not started yet.
A delivery committed before that drain starts is therefore found by it; one committed after it
started raises the flag again and publishes the next drain. A flag whose task got lost (Redis
restarted between the two steps) expires after WAKE_FLAG_SECONDS, and the sweeper re-enqueues
whatever stayed due meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime

import redis
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from delivery.flow import Destination
from delivery.models import Delivery, DeliveryStatus
from kernel.redis import redis_client

logger = logging.getLogger(__name__)
WAKE_FLAG_SECONDS = 30


def _flag(webhook_id: str) -> str:
    return f"webhooks:drain:{webhook_id}"


def raise_wake_flag(webhook_id: str) -> bool:
    """True when this caller raised the flag and must publish the drain; False when a drain is
    already on its way. Raises redis.RedisError when Redis cannot be asked."""
    return bool(redis_client().set(_flag(webhook_id), 1, nx=True, ex=WAKE_FLAG_SECONDS))


def lower_wake_flag(webhook_id: str) -> None:
    try:
        redis_client().delete(_flag(webhook_id))
    except redis.RedisError as exc:
        # Harmless: the flag expires, and until then the sweeper covers new deliveries.
        logger.warning("drain flag of %s not lowered (%s)", webhook_id, exc)


def batch_size() -> int:
    """A drain's batch: at most what a worker process can have in flight at once, so that a
    whole batch is admitted and claimed together and the next drain (another process, often)
    starts on the rows after it right away, instead of after the batch's last places free up."""
    return max(1, min(settings.WEBHOOK_DELIVERY_BATCH_SIZE, settings.WEBHOOK_MAX_POSTS_IN_FLIGHT))


DESTINATION_COLUMNS = ("id", "url", "webhook_id", "webhook__rate_limit")


def destinations(deliveries) -> dict[str, Destination]:
    """Delivery id -> Destination of a queryset of deliveries, in its order."""
    return {
        delivery_id: Destination(url, webhook_id, rate_limit)
        for delivery_id, url, webhook_id, rate_limit in deliveries.values_list(
            *DESTINATION_COLUMNS)
    }


def first_tries_due(webhook_id: str, now: datetime) -> QuerySet[Delivery]:
    """The webhook's deliveries waiting for their first try at `now`, oldest first."""
    return Delivery.objects.filter(
        webhook_id=webhook_id, status=DeliveryStatus.PENDING, tries=0, next_try_at__lte=now,
    ).order_by("created_date", "id")


def due_first_tries(webhook_id: str, limit: int) -> dict[str, Destination]:
    """Delivery id -> Destination of up to `limit` of the webhook's deliveries waiting for
    their first try, oldest first. A read only: the claim re-checks each under its row lock."""
    return destinations(first_tries_due(webhook_id, timezone.now())[:limit])
