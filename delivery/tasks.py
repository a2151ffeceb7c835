"""Celery tasks: deliver (the pipeline's way in), drain a webhook's stream, sweep lost
deliveries, heartbeat, prune, recover."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from delivery import drain
from delivery.dispatch import PUBLISH_RETRY, enqueue
from delivery.flow import Destination
from delivery.models import Delivery, DeliveryStatus, WorkerHeartbeat
from delivery.pipeline import get_pipeline
from delivery.recovery import recover_batch
from delivery.retention import prune

logger = logging.getLogger(__name__)


def _due_destinations(delivery_ids: list[str]) -> dict[str, Destination]:
    return drain.destinations(
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING))


# Their names are what delivery/dispatch.py and delivery/recovery.py publish.
@shared_task(name="delivery.tasks.deliver", acks_late=True, ignore_result=True)
def deliver(delivery_ids: list[str]) -> int:
    """The next try of each of these deliveries that is due, through the pipeline
    (delivery/pipeline.py): a lone delivery, a fan-out's batch, a retry, a sweep or a
    redelivery alike. Returns how many were sent."""
    pipeline = get_pipeline()
    return pipeline.deliver(pipeline.read(_due_destinations, delivery_ids))


@shared_task(name="delivery.tasks.drain_webhook", acks_late=True, ignore_result=True)
def drain_webhook(webhook_id: str) -> int:
    """One batch of a webhook's waiting first tries (see delivery/drain.py); queues the
    next batch once this one is claimed, until none is left."""
    drain.lower_wake_flag(webhook_id)
    size = drain.batch_size()
    pipeline = get_pipeline()
    waiting = pipeline.read(drain.due_first_tries, webhook_id, size)
    if not waiting:
        return 0

    def next_batch() -> None:
        # More may be waiting: taken while this batch is out. Tries of this batch that were
        # put back wait for their own task (dispatch.put_back).
        drain_webhook.apply_async(args=[webhook_id], retry=True, retry_policy=PUBLISH_RETRY)

    return pipeline.deliver(
        waiting, after_claims=next_batch if len(waiting) == size else None)


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
    return prune()


@shared_task(name="delivery.tasks.recover_deliveries", ignore_result=True)
def recover_deliveries(webhook_id: str, since: str, until: str | None = None,
                       after: list | None = None) -> int:
    """One bounded batch of a recovery; queues the next batch until none is left."""
    return recover_batch(webhook_id, since, until, after)
