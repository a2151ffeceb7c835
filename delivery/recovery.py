"""Redelivering the failed deliveries of a webhook in a time window: one new delivery each
(same body and webhook-id, a fresh 3 tries), oldest event first, in bounded batches.

`redeliver_failed_batch` is the one implementation. The API's and the admin's recover run it in
the background, one Celery task per batch, each queuing the next (`start_recovery`); the
`replay` command runs it in the foreground, batch after batch (`replay_window`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from delivery.dispatch import create_deliveries, enqueue_after_commit
from delivery.models import Delivery, DeliveryStatus
from kernel.domain_errors import DomainConflict
from subscriptions.models import Webhook

RECOVER_TASK = "delivery.tasks.recover_deliveries"
# Where a batch ended: its last delivery's event (created date, id); the next starts after it.
Cursor = tuple[datetime, str]


def failed_in_window(webhook: Webhook, since: datetime, until: datetime | None):
    """Failed deliveries of the window not already redelivered, oldest event first."""
    queryset = Delivery.objects.filter(
        webhook=webhook, status=DeliveryStatus.FAILED, event__created_date__gte=since,
        redeliveries__isnull=True,
    )
    if until is not None:
        queryset = queryset.filter(event__created_date__lt=until)
    return queryset.order_by("event__created_date", "event_id")


def _after(queryset, cursor: Cursor | None):
    if cursor is None:
        return queryset
    created, event_id = cursor
    return queryset.filter(
        Q(event__created_date__gt=created) | Q(event__created_date=created, event_id__gt=event_id)
    )


@dataclass(frozen=True)
class RedeliveredBatch:
    redelivered: int
    # Failed deliveries left as they are because the webhook was disabled or deleted meanwhile.
    skipped: int
    # Where the next batch starts; None when the window is done.
    after: Cursor | None


def redeliver_failed_batch(webhook_id: str, since: datetime, until: datetime | None, *,
                           after: Cursor | None = None, size: int | None = None
                           ) -> RedeliveredBatch:
    """One transaction: redeliver up to `size` (default WEBHOOK_BATCH_SIZE) failed deliveries
    of the window that come after `after`. The webhook is read again here, since a batch may
    run long after the recovery was asked for: a disabled or deleted one gets nothing."""
    size = size or settings.WEBHOOK_BATCH_SIZE
    with transaction.atomic():
        webhook = Webhook.objects.filter(pk=webhook_id).first()
        if webhook is None or not webhook.is_active:
            left = _after(failed_in_window(webhook, since, until), after).count() if webhook else 0
            return RedeliveredBatch(redelivered=0, skipped=left, after=None)
        batch = list(_after(failed_in_window(webhook, since, until), after)
                     .select_related("event")[:size])
        now = timezone.now()
        redeliveries = []
        for original in batch:
            redeliveries += create_deliveries([(original.event, webhook)], now=now,
                                              redelivery_of=original)
        enqueue_after_commit(redeliveries)
    if len(batch) < size:
        return RedeliveredBatch(redelivered=len(batch), skipped=0, after=None)
    last = batch[-1].event
    return RedeliveredBatch(redelivered=len(batch), skipped=0,
                            after=(last.created_date, last.id))


def preview_recovery(webhook: Webhook, since: datetime, until: datetime | None = None) -> int:
    """How many deliveries start_recovery would resend now, checking what it checks."""
    if not webhook.is_active:
        raise DomainConflict("The webhook is disabled; enable it before recovering.")
    if until is not None and until <= since:
        raise DomainConflict("`until` must be after `since`.", field="until")
    return failed_in_window(webhook, since, until).count()


def start_recovery(webhook: Webhook, since: datetime, until: datetime | None = None) -> int:
    """Queues the recovery's first batch (after the commit) and says how many it will resend."""
    count = preview_recovery(webhook, since, until)
    if count:
        transaction.on_commit(lambda: _queue_batch(
            webhook.id, since.isoformat(), until.isoformat() if until else None, None))
    return count


def _queue_batch(webhook_id: str, since: str, until: str | None, after: list | None) -> None:
    # By name: delivery/tasks.py defines the task, and calls this module.
    current_app.send_task(RECOVER_TASK, args=[webhook_id, since, until, after])


@transaction.atomic
def recover_batch(webhook_id: str, since: str, until: str | None, after: list | None) -> int:
    """A batch of a background recovery (Celery's arguments are JSON: dates as ISO strings);
    the next batch is queued when this one commits."""
    batch = redeliver_failed_batch(
        webhook_id, parse_datetime(since), parse_datetime(until) if until else None,
        after=(parse_datetime(after[0]), after[1]) if after else None,
    )
    if batch.after is not None:
        cursor = [batch.after[0].isoformat(), batch.after[1]]
        transaction.on_commit(lambda: _queue_batch(webhook_id, since, until, cursor))
    return batch.redelivered


def replay_window(webhook: Webhook, since: datetime, until: datetime | None, *,
                  batch_size: int | None = None,
                  on_batch: Callable[[RedeliveredBatch], None] | None = None) -> tuple[int, int]:
    """All of a webhook's window now, batch after batch, each its own transaction: (redelivered,
    skipped)."""
    redelivered = skipped = 0
    after: Cursor | None = None
    while True:
        batch = redeliver_failed_batch(webhook.pk, since, until, after=after, size=batch_size)
        redelivered += batch.redelivered
        skipped += batch.skipped
        if on_batch is not None:
            on_batch(batch)
        if batch.after is None:
            return redelivered, skipped
        after = batch.after
