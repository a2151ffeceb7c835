"""Waking the workers from a background thread, so the request that changed something does not
wait for Redis.

A committed change hands its wake-up (`dispatch.wake`) to this process's publisher thread and
returns; the thread publishes moments later, in commit order. The Delivery rows are already
committed, so a wake-up lost with its process (killed between the commit and the publish) only
delays those deliveries until the sweeper finds them (WEBHOOK_SWEEP_GRACE). On a normal exit the
queue is flushed first.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue

logger = logging.getLogger(__name__)
FLUSH_AT_EXIT_SECONDS = 5.0


class BackgroundPublisher:
    def __init__(self) -> None:
        self._jobs: SimpleQueue[Callable[[], object]] = SimpleQueue()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def submit(self, job: Callable[[], object]) -> None:
        self._ensure_thread()
        self._jobs.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits until every job submitted so far has run; False on timeout."""
        if self._pid != os.getpid():
            return True
        done = threading.Event()
        self._jobs.put(done.set)
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        # A thread does not survive fork(): a forked web or worker process starts its own.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._jobs = SimpleQueue()
                threading.Thread(target=self._run, name="webhook-publisher", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:  # the sweeper re-enqueues whatever a failed wake-up left behind
                logger.exception("wake-up failed")


publisher = BackgroundPublisher()
atexit.register(publisher.flush, FLUSH_AT_EXIT_SECONDS)
