"""Auto-disable: a webhook whose deliveries have all failed for a span, and at least N in
a row, is disabled with a reason and its organization's Admins are told by email."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q

from accounts.models import Membership, Role
from delivery.models import WebhookHealth
from subscriptions.models import Webhook
from subscriptions.services import disable_webhook

logger = logging.getLogger(__name__)
# How stale `last_success_date` may get, in seconds, to spare a write per delivery.
SUCCESS_DATE_RESOLUTION = 10
# Webhooks this process has seen a health row for; rows go only with their webhook, so this
# spares the existence check on every success.
_has_row: set[str] = set()
# When this process last wrote a success of each webhook (monotonic clock).
_success_written: dict[str, float] = {}


def record_successes(webhook_ids: set[str], now) -> None:
    """One conditional UPDATE for all of them, and none for a webhook this process wrote a
    success of in the last SUCCESS_DATE_RESOLUTION seconds: a healthy, hot webhook's row
    is rewritten at most every few seconds instead of locked on every delivery. (A failure
    counted meanwhile by another process is cleared by the next success written.)"""
    clock = time.monotonic()
    # This process wrote a success for these moments ago: the row is fresh enough.
    webhook_ids = {w for w in webhook_ids
                   if w and clock - _success_written.get(w, -SUCCESS_DATE_RESOLUTION)
                   >= SUCCESS_DATE_RESOLUTION}
    if not webhook_ids:
        return
    _success_written.update(dict.fromkeys(webhook_ids, clock))
    WebhookHealth.objects.filter(
        Q(consecutive_failures__gt=0) | Q(last_success_date__isnull=True)
        | Q(last_success_date__lt=now - timedelta(seconds=SUCCESS_DATE_RESOLUTION)),
        webhook_id__in=webhook_ids,
    ).update(consecutive_failures=0, failing_since=None, last_success_date=now)
    unknown = webhook_ids - _has_row
    if unknown:
        # Only webhooks that still exist: one deleted during its delivery's try gets no row.
        missing = Webhook.objects.filter(id__in=unknown, health__isnull=True).values_list(
            "id", flat=True)
        WebhookHealth.objects.bulk_create(
            [WebhookHealth(webhook_id=w, last_success_date=now) for w in missing],
            ignore_conflicts=True,
        )
        _has_row.update(unknown)


def record_failure(webhook, now, count: int = 1) -> bool:
    """Counts deliveries that ended failed; returns True if the webhook got disabled."""
    _success_written.pop(webhook.id, None)  # the next success must clear the count
    health, _ = WebhookHealth.objects.get_or_create(webhook_id=webhook.id)
    WebhookHealth.objects.filter(pk=health.pk).update(
        consecutive_failures=F("consecutive_failures") + count, last_failure_date=now
    )
    WebhookHealth.objects.filter(pk=health.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    health.refresh_from_db()
    span = timedelta(seconds=settings.WEBHOOK_AUTO_DISABLE_AFTER)
    if (
        health.consecutive_failures >= settings.WEBHOOK_AUTO_DISABLE_MIN_FAILURES
        and health.failing_since <= now - span
        and webhook.is_active
    ):
        disable_for_failures(webhook, health)
        return True
    return False


def disable_for_failures(webhook, health: WebhookHealth) -> None:
    reason = (
        f"Disabled automatically: {health.consecutive_failures} deliveries in a row failed "
        f"since {health.failing_since:%Y-%m-%d %H:%M} UTC."
    )
    disable_webhook(webhook, reason=reason)
    admins = list(
        Membership.objects.filter(organization_id=webhook.organization_id, role=Role.ADMIN)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not admins:
        return
    subject = f"Webhook disabled: {webhook.url}"
    body = (
        f"{reason}\n\nWebhook {webhook.id} ({webhook.url}) no longer receives events. "
        "Fix the receiver, then enable the webhook again in the admin or with "
        f"POST /api/v1/webhooks/{webhook.id}/enable; POST /api/v1/webhooks/{webhook.id}/recover "
        "redelivers what failed meanwhile."
    )
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, admins, fail_silently=True)
    )
    logger.warning("webhook %s auto-disabled: %s", webhook.id, reason)
