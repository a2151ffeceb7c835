"""What SQLite writes to claim and to record one drain batch of 100, and how long each takes:
with a subscription's deliveries side by side (one subscription, as in (b)) or interleaved with
17 others' (events round robin, as in (c)); with the attempts' index on delivery alone (before)
or without it (now: the unique (delivery, number) index serves those lookups); and with each
batch's claim and record in a transaction of its own or 6 subscriptions' batches sharing one
(group commit, webhooks_project/group_commit.py). Each variant starts from the same history of
finished deliveries and their attempts, in one process, in a throwaway database, so they are
compared in the same run:

    python -m bench.batch_pages [--history 20000] [--deliveries 4500] [--group 6]

Prints medians per batch: claim and record in milliseconds, and the write-ahead log each one
appends, in KB (every page a transaction changes is appended once); a transaction of several
batches counts its share per batch.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.backlog import _setup

LAYOUTS = {"side by side (1 subscription)": 1, "interleaved (18 subscriptions)": 18}
ATTEMPT_INDEX = "CREATE INDEX batch_pages_idx ON delivery_attempt (delivery_id)"


def _history(organization, webhook, event, count: int) -> None:
    """Finished deliveries with one attempt each, so that the indexes are of a realistic size."""
    from django.utils import timezone

    from delivery.models import Attempt, Delivery
    from webhooks_project.inserts import insert_rows

    now = timezone.now()
    for start in range(0, count, 5000):
        deliveries = [Delivery(event_id=event.id, webhook_id=webhook.id,
                               organization_id=organization.id, url=webhook.url,
                               status="succeeded", tries=1, completed_date=now)
                      for _ in range(min(5000, count - start))]
        insert_rows(Delivery, deliveries)
        insert_rows(Attempt, [Attempt(delivery_id=d.id, number=1, started_at=now,
                                      request_headers={"webhook-id": d.id}, response_headers={})
                              for d in deliveries])


def _pending(organization, webhooks, event, count: int) -> list[list[str]]:
    """`count` pending deliveries, round robin over `webhooks`; their batches of 100, taking
    the subscriptions in turn (as their drains run side by side)."""
    from django.utils import timezone

    from delivery.models import Delivery
    from webhooks_project.inserts import insert_rows

    now = timezone.now()
    deliveries = [Delivery(event_id=event.id, webhook_id=webhook.id,
                           organization_id=organization.id, url=webhook.url, next_try_at=now)
                  for webhook in (webhooks[n % len(webhooks)] for n in range(count))]
    insert_rows(Delivery, deliveries)
    by_webhook: dict[str, list[str]] = {}
    for delivery in deliveries:
        by_webhook.setdefault(delivery.webhook_id, []).append(delivery.id)
    batches = [[ids[i:i + 100] for i in range(0, len(ids), 100)] for ids in by_webhook.values()]
    return [batch for turn in itertools.zip_longest(*batches) for batch in turn if batch]


def _measure(batches: list[list[str]], wal: Path, group: int) -> dict[str, float]:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from delivery.http import SendResult
    from delivery.policy import RetryPolicy
    from delivery.tries import claim_tries, record_tries

    policy = RetryPolicy.from_settings(settings)
    samples: dict[str, list[float]] = {"claim ms": [], "claim KB": [], "record ms": [],
                                       "record KB": []}

    def timed(stage: str, func, items: list) -> list:
        size, started = wal.stat().st_size, time.perf_counter()
        with transaction.atomic():  # each item's own transaction is a savepoint in this one
            results = [func(item) for item in items]
        samples[f"{stage} ms"].append((time.perf_counter() - started) * 1000 / len(items))
        samples[f"{stage} KB"].append((wal.stat().st_size - size) / 1024 / len(items))
        return results

    def answered(claims):
        return [(claim, SendResult(200, headers={"Content-Length": "2"}, body_excerpt="ok",
                                   duration_ms=1, connected_address="127.0.0.1",
                                   started_at=time.time()),
                 {"webhook-id": claim.event_id}, timezone.now()) for claim in claims]

    for start in range(0, len(batches), group):
        chunk = batches[start:start + group]
        claimed = timed("claim", lambda b: claim_tries(b, policy), chunk)
        timed("record", lambda c: record_tries(answered(c), policy), claimed)
    return {stage: statistics.median(values) for stage, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_pages", description=__doc__)
    parser.add_argument("--history", type=int, default=20000)
    parser.add_argument("--deliveries", type=int, default=4500)
    parser.add_argument("--group", type=int, default=6,
                        help="batches per transaction in the grouped variant")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as workdir:
        _setup(Path(workdir))
        from django.db import connection
        from django.utils import timezone

        from accounts.services import create_organization
        from events.models import Event
        from subscriptions.services import create_webhook

        organization = create_organization("pages")
        webhooks = [create_webhook(organization, {"url": f"http://127.0.0.1:9/{n}",
                                                  "triggers": ["TaskReady"]})[0]
                    for n in range(18)]
        event = Event.objects.create(organization=organization, type="TaskReady", body="{}",
                                     created_date=timezone.now())
        _history(organization, webhooks[0], event, args.history)
        wal = Path(connection.settings_dict["NAME"] + "-wal")
        variants = [("without (now)", 1), ("with (before)", 1), ("without (now)", args.group)]
        print(f"{'layout':32} | {'attempt index on delivery':25} | batches per transaction | "
              "claim ms | claim KB | record ms | record KB")
        for layout, subscriptions in LAYOUTS.items():
            for label, group in variants:
                with connection.cursor() as cursor:
                    cursor.execute("DROP INDEX IF EXISTS batch_pages_idx")
                    if label.startswith("with "):
                        cursor.execute(ATTEMPT_INDEX)
                batches = _pending(organization, webhooks[:subscriptions], event,
                                   args.deliveries)
                with connection.cursor() as cursor:
                    # The log grows with each commit instead of being copied back meanwhile.
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    cursor.execute("PRAGMA wal_autocheckpoint=0")
                m = _measure(batches, wal, group)
                print(f"{layout:32} | {label:25} | {group:23} | {m['claim ms']:8.2f} | "
                      f"{m['claim KB']:8.0f} | {m['record ms']:9.2f} | {m['record KB']:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
