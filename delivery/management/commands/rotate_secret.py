"""Rotate a webhook's signing secret; the new one is printed once and never again."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from subscriptions.models import Webhook
from subscriptions.services import rotate_secret


class Command(BaseCommand):
    help = ("Give a webhook a new signing secret. Its current secrets keep signing for the "
            "grace period, so receivers can switch without rejecting deliveries.")

    def add_arguments(self, parser):
        parser.add_argument("webhook_id")
        parser.add_argument(
            "--grace", type=int, default=None,
            help="Seconds the current secrets keep signing "
                 "(default: WEBHOOK_SECRET_ROTATION_GRACE).",
        )

    def handle(self, *args, **options):
        grace = options["grace"]
        if grace is not None and grace < 0:
            raise CommandError("--grace must not be negative.")
        webhook = Webhook.objects.filter(pk=options["webhook_id"]).first()
        if webhook is None:
            raise CommandError(f"No webhook {options['webhook_id']}.")
        secret = rotate_secret(webhook, grace_seconds=grace)
        grace = settings.WEBHOOK_SECRET_ROTATION_GRACE if grace is None else grace
        self.stderr.write(
            f"New signing secret of webhook {webhook.pk} ({webhook.url}); it is shown only "
            f"now. The previous secrets keep signing for {grace} seconds."
        )
        self.stdout.write(secret)
