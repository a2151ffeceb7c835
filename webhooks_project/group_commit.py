"""Group commit: the write transactions that a process's threads want at the same moment run as
one, each in a savepoint of its own.

SQLite lets one connection write at a time, so worker threads that claim or record tries
queue for the lock (webhooks_project/sqlite_writers) and commit one after the other, each
paying a BEGIN, a COMMIT and a hand-over of the lock that wakes the next thread. Here the
thread that finds no transaction under way leads: it runs its own work and whatever the other
threads queued meanwhile in one transaction. A thread that finds a transaction under way
queues its work and waits; nothing waits for company, so a lone writer runs at once, as before.
A page that several pieces change (the deliveries of subscriptions whose events alternate share
pages) also goes to the write-ahead log once per group. Measured in bench/README.md, "Group
commit on SQLite": the mixed scenario's healthy deliveries a third faster.

Each piece of work runs in a savepoint and gets its own result or exception: one that fails
rolls back alone and raises in its own thread; the others commit. An error of the transaction
itself (the commit failing) raises in every thread whose work was in it, none of which then
took effect.

On PostgreSQL rows are locked one by one and transactions run side by side, so the work runs in
a transaction of its own there, as it does when its caller is inside a transaction already.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction

T = TypeVar("T")
logger = logging.getLogger(__name__)


class _Work:
    __slots__ = ("func", "args", "result", "error", "finished", "lead", "wake")

    def __init__(self, func: Callable, args: tuple) -> None:
        self.func, self.args = func, args
        self.result: object = None
        self.error: BaseException | None = None
        self.finished = False
        self.lead = False
        self.wake = threading.Event()


class GroupCommit:
    """Runs `run(func, *args)` calls of concurrent threads together, up to `max_works` in one
    transaction (which bounds how long the others wait for the write lock)."""

    def __init__(self, max_works: int = 8) -> None:
        self.max_works = max_works
        self._lock = threading.Lock()
        self._queue: list[_Work] = []
        self._busy = False
        self.transactions = 0  # committed or not; for tests

    def run(self, func: Callable[..., T], *args: object) -> T:
        if connection.vendor != "sqlite" or connection.in_atomic_block:
            # Inside a transaction of its own caller, the work joins that one: waiting for a
            # leader who waits for this thread's write lock would never end.
            with transaction.atomic():
                return func(*args)
        work = _Work(func, args)
        with self._lock:
            self._queue.append(work)
            if not self._busy:
                self._busy = work.lead = True
        if not work.lead:
            work.wake.wait()
        if work.lead:
            self._lead()
        if work.error is not None:
            raise work.error
        return work.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            works = self._queue[:self.max_works]
            del self._queue[:self.max_works]
        try:
            self._commit(works)
        finally:
            for work in works:
                if not work.finished:  # the leader was interrupted (KeyboardInterrupt...)
                    work.error = RuntimeError("The transaction was interrupted.")
                work.wake.set()
            with self._lock:
                # The next in line leads the next transaction, in its own thread: this one
                # goes back to its task.
                if self._queue:
                    following = self._queue[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._busy = False

    def _commit(self, works: list[_Work]) -> None:
        self.transactions += 1
        committed = []
        try:
            with transaction.atomic():
                # Registered first, so it runs first after the commit: an error in another
                # on-commit callback then does not count as the transaction's.
                transaction.on_commit(lambda: committed.append(True))
                for work in works:
                    # A lone piece needs no savepoint: its error rolls back the transaction.
                    try:
                        with transaction.atomic(savepoint=len(works) > 1):
                            work.result = work.func(*work.args)
                    except Exception as exc:
                        work.error = exc
        except Exception as exc:
            if committed:
                logger.exception("an on-commit callback failed after a group commit")
            else:
                # The transaction failed as a whole: none of its work took effect.
                for work in works:
                    if work.error is None:
                        work.error, work.result = exc, None
        for work in works:
            work.finished = True
