"""Pruning old deliveries, their attempts, and events nothing refers to any more, in bounded
batches so one run never holds long locks."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from delivery.models import Delivery, DeliveryStatus
from events.models import Event

MAX_BATCHES_PER_RUN = 50


def _delete_in_batches(queryset, batch_size: int) -> int:
    deleted = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        ids = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        # Deleting a delivery cascades to its attempts.
        queryset.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted


def prune(now=None) -> dict[str, int]:
    now = now or timezone.now()
    batch = settings.WEBHOOK_BATCH_SIZE
    succeeded_before = now - timedelta(days=settings.WEBHOOK_RETENTION_SUCCEEDED_DAYS)
    failed_before = now - timedelta(days=settings.WEBHOOK_RETENTION_FAILED_DAYS)
    final = [DeliveryStatus.FAILED, DeliveryStatus.CANCELLED]
    counts = {
        "succeeded": _delete_in_batches(
            Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED,
                                    completed_date__lt=succeeded_before), batch),
        "failed": _delete_in_batches(
            Delivery.objects.filter(status__in=final, completed_date__lt=failed_before), batch),
    }
    oldest_kept = min(succeeded_before, failed_before)
    orphans = Event.objects.filter(created_date__lt=oldest_kept).exclude(
        Exists(Delivery.objects.filter(event=OuterRef("pk")))
    )
    counts["events"] = _delete_in_batches(orphans, batch)
    return counts
