"""Bench-only prototypes of changes proposed for the project code, applied by monkeypatching so
they can be measured before anyone edits delivery/, events/ or subscriptions/.

Workers: `celery -A bench.experiments worker ...` (`python -m bench.run --app bench.experiments`)
runs the project's app with the patches named in BENCH_EXPERIMENTS (comma-separated) applied.
The harness applies the same patches in its own process (the emitting side). Prototypes that were
measured and then adopted (lock-self, shared-producer, health-cheap, writer-lock, async-send)
are gone from here; their results stay in bench/results/exp-*.

quiet          the per-try INFO log line at DEBUG level.
no-group-commit  each claim and record in a transaction of its own, as before group commit
               (webhooks_project/group_commit.py): for measuring what it gives.
write-lock     one write transaction at a time per worker process (a threading.Lock around
               claim_tries and record_tries): threads queue on a lock that wakes them at once
               instead of SQLite's busy handler, which sleeps and retries (up to 100 ms a nap).
"""

from __future__ import annotations

import logging
import os

from celery.signals import worker_init

from webhooks_project.celery import app

__all__ = ["app", "apply"]

_applied: set[str] = set()


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

    tasks.claim_tries, tasks.record_tries = locked(tasks.claim_tries), locked(tasks.record_tries)


def _no_group_commit() -> None:
    from django.db import transaction

    import delivery.tries as tries

    class Alone:
        def run(self, func, *args):
            with transaction.atomic():
                return func(*args)

    tries._writes = Alone()


PATCHES = {"write-lock": _write_lock, "quiet": _quiet, "no-group-commit": _no_group_commit}


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
