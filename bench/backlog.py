"""What a backlog of pending deliveries costs one drain batch: the drain's read of a
webhook's waiting first tries, and the claim of 25 of them, timed while other
webhooks have N deliveries pending (a receiver that is down, a burst that is still
draining). Run on SQLite, in one process, with the schema's index on next_try_at and with the
(status, next_try_at) index it replaced, so the two are compared in the same run:

    python -m bench.backlog [--pending 0,2000,20000] [--repeat 30]

It works in a throwaway SQLite database of its own and prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _setup(workdir: Path) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "webhooks_project.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'backlog.sqlite3'}",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "LOG_LEVEL": "WARNING",
    })
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fill(organization, webhook, event, count: int) -> list[str]:
    from django.utils import timezone

    from delivery.models import Delivery

    now = timezone.now()
    deliveries = [Delivery(event_id=event.id, webhook_id=webhook.id,
                           organization_id=organization.id, url=webhook.url, next_try_at=now)
                  for _ in range(count)]
    for start in range(0, count, 5000):
        Delivery.objects.bulk_create(deliveries[start:start + 5000])
    return [d.id for d in deliveries]


def _timed(func, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backlog", description=__doc__)
    parser.add_argument("--pending", default="0,2000,20000")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-backlog-") as workdir:
        _setup(Path(workdir))
        from django.conf import settings
        from django.db import connection, transaction
        from django.utils import timezone

        from accounts.services import create_organization
        from delivery import drain
        from delivery.models import Delivery
        from delivery.policy import RetryPolicy
        from delivery.tries import claim_tries
        from events.models import Event
        from subscriptions.services import create_webhook

        organization = create_organization("backlog")
        busy, timed = (
            create_webhook(organization, {"url": f"http://127.0.0.1:9/{name}",
                                          "triggers": ["TaskReady"]})[0]
            for name in ("busy", "timed")
        )
        event = Event.objects.create(organization=organization, type="TaskReady", body="{}",
                                     created_date=timezone.now())
        policy = RetryPolicy.from_settings(settings)
        indexes = {
            "next_try_at (now)": "CREATE INDEX backlog_idx ON delivery_delivery (next_try_at)",
            "status, next_try_at (before)":
                "CREATE INDEX backlog_idx ON delivery_delivery (status, next_try_at)",
        }
        print(f"{'pending elsewhere':>18} | {'index':28} | drain read ms | claim of 25 ms")
        pending = 0
        for target in (int(n) for n in args.pending.split(",")):
            _fill(organization, busy, event, target - pending)
            pending = target
            for label, create in indexes.items():
                with connection.cursor() as cursor:
                    cursor.execute("DROP INDEX IF EXISTS delivery_next_try_at")
                    cursor.execute("DROP INDEX IF EXISTS backlog_idx")
                    cursor.execute(create)

                _fill(organization, timed, event, 25)
                read_ms = _timed(lambda: drain.due_first_tries(timed.id, 25), args.repeat)
                batches = iter([_fill(organization, timed, event, 25)
                                for _ in range(args.repeat)])
                claim_ms = _timed(lambda b=batches: claim_tries(next(b), policy), args.repeat)
                with transaction.atomic():
                    Delivery.objects.filter(webhook=timed).delete()
                print(f"{pending:>18} | {label:28} | {read_ms:13.2f} | {claim_ms:14.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
