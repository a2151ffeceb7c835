"""Delete deliveries (with their attempts) past their retention, and events nothing refers to,
as beat does every hour, until nothing is left to prune."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from delivery.retention import prune


class Command(BaseCommand):
    help = ("Delete succeeded deliveries older than WEBHOOK_RETENTION_SUCCEEDED_DAYS, failed or "
            "cancelled ones older than WEBHOOK_RETENTION_FAILED_DAYS, and orphaned events.")

    def handle(self, *args, **options):
        now = timezone.now()
        totals = {"succeeded": 0, "failed": 0, "events": 0}
        self.stdout.write(
            f"Keeping succeeded deliveries {settings.WEBHOOK_RETENTION_SUCCEEDED_DAYS:g} days, "
            f"failed and cancelled ones {settings.WEBHOOK_RETENTION_FAILED_DAYS:g} days."
        )
        # Each prune() run deletes a bounded number of batches; repeat until one deletes nothing.
        with tqdm(unit="row", desc="prune", file=self.stderr._out, disable=None) as bar:
            while True:
                counts = prune(now=now)
                for key, value in counts.items():
                    totals[key] = totals.get(key, 0) + value
                deleted = sum(counts.values())
                bar.update(deleted)
                bar.set_postfix(totals)
                if not deleted:
                    break
        self.stdout.write(
            f"Pruned {totals['succeeded']} succeeded and {totals['failed']} failed or cancelled "
            f"deliveries, and {totals['events']} events."
        )
