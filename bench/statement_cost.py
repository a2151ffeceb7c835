"""What a lone delivery's database work costs the worker in processor time, step by step, in one
process: the task's read of its deliveries (`drain.due_first_tries`), the claim
(`tries.claim_tries`) and the record of a 200 (`tries.record_tries`), one delivery at a time, as
a worker at light load does them; and, for comparison, the read's statement run from its SQL
text, without the ORM's building of the query. Nothing is sent: no worker runs, and the
webhook's URL is never posted to.

    python -m bench.statement_cost [--deliveries 300] [--rounds 3]
    python -m tests.support.postgres .venv/bin/python -m bench.statement_cost

On SQLite (a fresh file unless DATABASE_URL is set) the database's own work is in the figure; on
PostgreSQL it is the server's, apart. Prints processor milliseconds per delivery of each step,
each round.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from devtools.redis_server import RedisServer

TEXT_READ = "read from its SQL text"


def _measure(deliveries: int) -> dict[str, float]:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from delivery import drain
    from delivery.http import SendResult
    from delivery.policy import RetryPolicy
    from delivery.services import send_test
    from delivery.tries import SentTry, claim_tries, record_tries
    from subscriptions.services import create_webhook
    from tests.support.builders import organization_with_admin

    organization, membership = organization_with_admin()
    webhook = create_webhook(organization, {"url": "http://127.0.0.1:9/statement-cost",
                                            "triggers": ["TaskReady"]},
                             actor=membership.user)[0]
    policy = RetryPolicy.from_settings(settings)
    # The same read from its SQL text, built once (a day ahead, so every new delivery is due):
    # what the statement costs without the ORM's building of it, for comparison only.
    read_sql, read_params = (
        drain.first_tries_due(webhook.id, timezone.now() + timedelta(days=1))
        [:drain.batch_size()].values_list(*drain.DESTINATION_COLUMNS).query.sql_with_params())
    spent = {"read": 0.0, "claim": 0.0, "record": 0.0}
    text_read = 0.0
    for _ in range(deliveries):
        delivery_id = send_test(webhook).id
        started = time.process_time()
        with connection.cursor() as cursor:
            cursor.execute(read_sql, read_params)
            assert cursor.fetchall()
        text_read += time.process_time() - started
        started = time.process_time()
        drain.due_first_tries(webhook.id, drain.batch_size())
        read = time.process_time()
        (claim,) = claim_tries([delivery_id], policy)
        claimed = time.process_time()
        record_tries([SentTry(claim, SendResult(status_code=200, duration_ms=3), {},
                              timezone.now())], policy)
        recorded = time.process_time()
        spent["read"] += read - started
        spent["claim"] += claimed - read
        spent["record"] += recorded - claimed
    return {**{step: seconds / deliveries * 1000 for step, seconds in spent.items()},
            TEXT_READ: text_read / deliveries * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="statement-cost-"))
    redis = RedisServer(data_dir=workdir / "redis").start()
    try:
        os.environ["REDIS_URL"] = redis.url
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webhooks_project.settings")
        os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        logging.disable(logging.WARNING)
        for number in range(1, args.rounds + 1):
            costs = _measure(args.deliveries)
            print(f"{connection.vendor}, round {number}: processor ms per delivery: "
                  + ", ".join(f"{step} {ms:.2f}" for step, ms in costs.items())
                  + "; read, claim and record together "
                  + f"{sum(ms for step, ms in costs.items() if step != TEXT_READ):.2f}",
                  flush=True)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
