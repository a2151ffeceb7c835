"""Redeliver the failed deliveries of a time window: one new delivery each (same body and
webhook-id, a fresh 3 tries), in event order, in bounded batches, now (delivery.recovery)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from delivery.recovery import preview_recovery, replay_window
from subscriptions.models import Webhook


def parse_moment(value: str, option: str) -> datetime:
    """An ISO-8601 date-time (UTC when it has no offset) or a date (its midnight, UTC)."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time()) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"{option}: {value!r} is not an ISO-8601 date or date-time.")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = ("Redeliver failed deliveries whose event falls in [--since, --until), oldest event "
            "first. Deliveries already redelivered are skipped.")

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="ISO-8601 date or date-time.")
        parser.add_argument("--until", help="ISO-8601 date or date-time (default: now).")
        parser.add_argument("--webhook", help="Only this webhook's deliveries (its id).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only count what would be redelivered.")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="Deliveries per transaction (default: WEBHOOK_BATCH_SIZE).")

    def handle(self, *args, **options):
        since = parse_moment(options["since"], "--since")
        until = parse_moment(options["until"], "--until") if options["until"] else None
        if until is not None and until <= since:
            raise CommandError("--until must be after --since.")
        batch_size = options["batch_size"] or settings.WEBHOOK_BATCH_SIZE
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")

        if options["webhook"]:
            webhook = Webhook.objects.filter(pk=options["webhook"]).first()
            if webhook is None:
                raise CommandError(f"No webhook {options['webhook']}.")
            if not webhook.is_active:
                raise CommandError(f"Webhook {webhook.pk} is disabled; enable it first.")
            webhooks = [webhook]
        else:
            # Deliveries of disabled or deleted webhooks cannot be redelivered.
            webhooks = [w for w in Webhook.objects.order_by("pk") if w.is_active]

        plan = [(w, preview_recovery(w, since, until)) for w in webhooks]
        plan = [(w, n) for w, n in plan if n]
        total = sum(n for _, n in plan)
        window = f"{since.isoformat()} .. {until.isoformat() if until else 'now'}"
        if options["dry_run"]:
            for webhook, count in plan:
                self.stdout.write(f"  {webhook.pk}  {webhook.url}: {count}")
            self.stdout.write(f"Would redeliver {total} failed deliveries ({window}).")
            return

        done = skipped = 0
        with tqdm(total=total, unit="delivery", desc="replay", file=self.stderr._out,
                  disable=None) as bar:
            for webhook, _ in plan:
                redelivered, skipped_now = replay_window(
                    webhook, since, until, batch_size=batch_size,
                    on_batch=lambda batch: bar.update(batch.redelivered + batch.skipped),
                )
                done += redelivered
                skipped += skipped_now
        line = f"Redelivered {done} failed deliveries ({window})."
        if skipped:
            line += f" Skipped {skipped} whose webhook is disabled or deleted."
        self.stdout.write(line)
