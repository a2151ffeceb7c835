"""`make soak`: mixed events for a while (default 2 minutes) with faults injected, then a tally.

Faults: the receiver answers 500 to 20% of requests; the worker is restarted every 30 s
(alternately SIGTERM and SIGKILL); Redis is restarted once, halfway, losing its data. The run
ends with every event accounted for: each delivery succeeded, or failed after exactly 3 tries.
Exits non-zero otherwise. Everything runs on 127.0.0.1 and stops by itself.

    python -m tools.soak [--seconds 120] [--rate 10]
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from devtools.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SOAK_ENV = {
    "DJANGO_SETTINGS_MODULE": "webhooks_project.settings",
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_RETRY_DELAYS": "1,2",
    "WEBHOOK_CONNECT_TIMEOUT": "2",
    "WEBHOOK_READ_TIMEOUT": "2",
    "WEBHOOK_TRY_LEASE_MARGIN": "2",
    "WEBHOOK_SWEEP_INTERVAL": "2",
    "WEBHOOK_SWEEP_GRACE": "2",
    "LOG_LEVEL": "WARNING",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("SOAK_SECONDS", 120)))
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--restart-every", type=float, default=30.0)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    redis = RedisServer(data_dir=workdir / "redis").start()
    os.environ.update(SOAK_ENV, REDIS_URL=redis.url,
                      DATABASE_URL=os.environ.get("DATABASE_URL")
                      or f"sqlite:///{workdir / 'soak.sqlite3'}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.support.receiver import Receiver, Reply
    from tests.support.worker import BeatProcess, WorkerProcess

    rng = random.Random(7)

    def choose() -> Reply:
        return Reply(500, body=b"injected") if rng.random() < args.failure_rate else Reply(200)

    database_url = os.environ["DATABASE_URL"]
    receiver = Receiver(choose=choose).__enter__()
    worker = WorkerProcess(database_url, concurrency=16).start()
    beat = BeatProcess(database_url).start()
    try:
        produced = produce(args, receiver.url, worker, redis)
        print(f"produced {produced} events; draining…", flush=True)
        return tally(args.drain_timeout, receiver)
    finally:
        beat.stop()
        worker.stop()
        receiver.__exit__(None, None, None)
        redis.stop()


def produce(args, receiver_url: str, worker, redis) -> int:
    from accounts.models import Role
    from accounts.services import add_member, create_organization
    from datasets.services import create_data_set, create_record, delete_record, update_record
    from delivery.services import send_test
    from subscriptions.services import create_webhook

    organization = create_organization("Soak")
    actor = add_member(organization, "soak@example.com", Role.ADMIN).user
    data_set = create_data_set(organization, "Soak", [{"name": "N", "fieldType": "Number"}])
    field_id = data_set.fields.get().id
    webhook, _ = create_webhook(organization, {
        "url": receiver_url,
        "triggers": ["DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordDeleted"],
    })
    start = time.monotonic()
    next_restart, restarts, redis_restarted, produced, records = (
        start + args.restart_every, 0, False, 0, [])
    while time.monotonic() - start < args.seconds:
        now = time.monotonic()
        if now >= next_restart:
            restarts += 1
            sig = signal.SIGKILL if restarts % 2 == 0 else signal.SIGTERM
            print(f"{now - start:6.1f}s restart worker ({signal.Signals(sig).name})", flush=True)
            worker.stop(sig)
            worker.start()
            next_restart += args.restart_every
        if not redis_restarted and now - start >= args.seconds / 2:
            print(f"{now - start:6.1f}s restart Redis (its data is lost)", flush=True)
            redis.stop()
            redis.start()
            redis_restarted = True
        choice = random.random()
        if choice < 0.5 or not records:
            records.append(create_record(data_set, {field_id: produced}, actor=actor))
        elif choice < 0.8:
            update_record(random.choice(records), {field_id: produced}, actor=actor)
        elif choice < 0.9:
            delete_record(records.pop(random.randrange(len(records))), actor=actor)
        else:
            send_test(webhook)
        produced += 1
        time.sleep(max(0.0, 1 / args.rate))
    return produced


def tally(drain_timeout: float, receiver) -> int:
    from delivery.models import Delivery, DeliveryStatus
    from events.models import Event

    deadline = time.monotonic() + drain_timeout
    while time.monotonic() < deadline:
        if not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            break
        time.sleep(1)
    events = Event.objects.count()
    by_status = collections.Counter(Delivery.objects.values_list("status", flat=True))
    failed_tries = collections.Counter(
        Delivery.objects.filter(status=DeliveryStatus.FAILED).values_list("tries", flat=True))
    over = Delivery.objects.filter(tries__gt=3).count()
    received_ids = {r.headers.get("webhook-id") for r in receiver.requests}
    succeeded_ids = set(Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED)
                        .values_list("event_id", flat=True))
    missing = succeeded_ids - received_ids
    print("\nTally")
    print(f"  events:                 {events}")
    print(f"  deliveries:             {sum(by_status.values())}")
    for status in ("succeeded", "failed", "pending", "cancelled"):
        print(f"    {status:<21} {by_status.get(status, 0)}")
    print(f"  failed, by tries:       {dict(failed_tries)}")
    print(f"  tries over 3:           {over}")
    print(f"  requests received:      {len(receiver.requests)}")
    print(f"  succeeded, never seen:  {len(missing)}")
    ok = (
        sum(by_status.values()) == events
        and by_status.get("pending", 0) == 0
        and set(failed_tries) <= {3}
        and over == 0
        and not missing
        and by_status.get("succeeded", 0) + by_status.get("failed", 0) == events
    )
    print("RESULT: every event accounted for" if ok else "RESULT: NOT every event accounted for")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
