"""Recover: redeliver every failed delivery of a subscription in a time window, in event
order, in bounded batches (one Celery task per batch, each queuing the next)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from delivery.dispatch import create_deliveries, enqueue_after_commit
from delivery.models import Delivery, DeliveryStatus
from kernel.domain_errors import DomainConflict
from subscriptions.models import Webhook


def failed_in_window(webhook: Webhook, since: datetime, until: datetime | None):
    """Failed deliveries of the window not already redelivered, oldest event first."""
    queryset = Delivery.objects.filter(
        webhook=webhook, status=DeliveryStatus.FAILED, event__created_date__gte=since,
        redeliveries__isnull=True,
    )
    if until is not None:
        queryset = queryset.filter(event__created_date__lt=until)
    return queryset.order_by("event__created_date", "event_id")


def preview_recovery(webhook: Webhook, since: datetime, until: datetime | None = None) -> int:
    """How many deliveries start_recovery would resend now, checking what it checks."""
    if not webhook.is_active:
        raise DomainConflict("The webhook is disabled; enable it before recovering.")
    if until is not None and until <= since:
        raise DomainConflict("`until` must be after `since`.", field="until")
    return failed_in_window(webhook, since, until).count()


def start_recovery(webhook: Webhook, since: datetime, until: datetime | None = None) -> int:
    count = preview_recovery(webhook, since, until)
    if count:
        from delivery.tasks import recover_deliveries

        transaction.on_commit(lambda: recover_deliveries.delay(
            webhook.id, since.isoformat(), until.isoformat() if until else None, None
        ))
    return count


@transaction.atomic
def recover_batch(webhook_id: str, since: str, until: str | None, after: list | None) -> int:
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    if webhook is None or not webhook.is_active:
        return 0
    queryset = failed_in_window(webhook, parse_datetime(since),
                                parse_datetime(until) if until else None)
    if after:
        created, event_id = parse_datetime(after[0]), after[1]
        queryset = queryset.filter(
            Q(event__created_date__gt=created)
            | Q(event__created_date=created, event_id__gt=event_id)
        )
    batch = list(queryset.select_related("event")[: settings.WEBHOOK_BATCH_SIZE])
    if not batch:
        return 0
    now = timezone.now()
    recovered = []
    for original in batch:
        recovered += create_deliveries([(original.event, webhook)], now=now,
                                       redelivery_of=original)
    enqueue_after_commit(recovered)
    last = batch[-1].event
    if len(batch) == settings.WEBHOOK_BATCH_SIZE:
        from delivery.tasks import recover_deliveries

        cursor = [last.created_date.isoformat(), last.id]
        transaction.on_commit(lambda: recover_deliveries.delay(webhook_id, since, until, cursor))
    return len(batch)
