"""Bench-only prototypes of changes proposed for the project code, applied by monkeypatching so
they can be measured before anyone edits delivery/, events/ or subscriptions/.

Workers: `celery -A bench.experiments worker ...` (`python -m bench.run --app bench.experiments`)
runs the project's app with the patches named in BENCH_EXPERIMENTS (comma-separated) applied.
The harness applies the same patches in its own process (the emitting side).

lock-self      select_for_update(of=("self",)) in claim_try/record_try: PostgreSQL refuses
               FOR UPDATE on the nullable side of the LEFT JOIN that select_related("webhook")
               makes, so on PostgreSQL every delivery task fails without it.
shared-producer  enqueue() publishes all of a commit's tasks through one producer (one broker
               connection checked out once) instead of one checkout per task.
quiet          the per-try INFO log line at DEBUG level.
health-cheap   record_success() as one conditional UPDATE that, in steady state (no failures,
               last_success_date under 10 s old), matches no row: no SELECT ... FOR UPDATE on
               the webhook's health row by every successful try, so tries to one subscription
               no longer queue on that row lock until their transaction commits.
write-lock     one write transaction at a time per worker process (a threading.Lock around
               claim_try and record_try): threads queue on a lock that wakes them at once
               instead of SQLite's busy handler, which sleeps and retries (up to 100 ms a nap).
"""

from __future__ import annotations

import logging
import os

from celery.signals import worker_init

from webhooks_project.celery import app

__all__ = ["app", "apply"]

_applied: set[str] = set()


def _lock_self() -> None:
    from django.db.models.query import QuerySet

    original = QuerySet.select_for_update

    def select_for_update(self, nowait=False, skip_locked=False, of=(), no_key=False):
        return original(self, nowait=nowait, skip_locked=skip_locked, of=of or ("self",),
                        no_key=no_key)

    QuerySet.select_for_update = select_for_update


def _shared_producer() -> None:
    import delivery.dispatch as dispatch

    def enqueue(delivery_ids: list[str]) -> int:
        from delivery.tasks import deliver_webhook

        sent = 0
        try:
            with app.producer_or_acquire() as producer:
                for delivery_id in delivery_ids:
                    deliver_webhook.apply_async(args=[delivery_id], retry=False,
                                                producer=producer)
                    sent += 1
        except Exception as exc:  # noqa: BLE001 - as the original: the sweeper catches up
            dispatch.logger.warning("Could not enqueue %d deliveries (%s).",
                                    len(delivery_ids) - sent, exc)
        return sent

    dispatch.enqueue = enqueue


def _quiet() -> None:
    logging.getLogger("delivery.tasks").setLevel(logging.WARNING)


def _write_lock() -> None:
    import threading

    import delivery.tasks as tasks

    lock = threading.Lock()

    def locked(func):
        def wrapper(*args, **kwargs):
            with lock:
                return func(*args, **kwargs)
        return wrapper

    tasks.claim_try, tasks.record_try = locked(tasks.claim_try), locked(tasks.record_try)


def _health_cheap() -> None:
    from datetime import timedelta

    from django.db.models import Q

    import delivery.health as health

    model = health.WebhookHealth

    def record_success(webhook_id: str, now) -> None:
        stale = now - timedelta(seconds=10)
        updated = model.objects.filter(webhook_id=webhook_id).filter(
            Q(consecutive_failures__gt=0) | Q(failing_since__isnull=False)
            | Q(last_success_date__isnull=True) | Q(last_success_date__lt=stale)
        ).update(consecutive_failures=0, failing_since=None, last_success_date=now)
        if not updated and not model.objects.filter(webhook_id=webhook_id).exists():
            model.objects.get_or_create(webhook_id=webhook_id,
                                        defaults={"last_success_date": now})

    health.record_success = record_success


PATCHES = {"health-cheap": _health_cheap, "write-lock": _write_lock, "lock-self": _lock_self,
           "shared-producer": _shared_producer, "quiet": _quiet}


def apply(names: str | None = None) -> list[str]:
    names = os.environ.get("BENCH_EXPERIMENTS", "") if names is None else names
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name not in PATCHES:
            raise ValueError(f"unknown experiment {name!r}; known: {', '.join(PATCHES)}")
        if name not in _applied:
            PATCHES[name]()
            _applied.add(name)
    return sorted(_applied)


@worker_init.connect
def _apply_in_worker(**_kwargs) -> None:
    # Connected after the Django fixup's own worker_init handler, so Django is set up by now.
    apply()
