"""Bench-only prototypes of changes proposed for the project code, applied by monkeypatching so
they can be measured before anyone edits delivery/, events/ or subscriptions/.

Workers: `celery -A bench.experiments worker ...` (`python -m bench.run --app bench.experiments`)
runs the project's app with the patches named in BENCH_EXPERIMENTS (comma-separated) applied.
The harness applies the same patches in its own process (the emitting side). Prototypes that were
measured and then adopted (lock-self, shared-producer, health-cheap, writer-lock) are gone from
here; their results stay in bench/results/exp-*.

quiet          the per-try INFO log line at DEBUG level.
write-lock     one write transaction at a time per worker process (a threading.Lock around
               claim_tries and record_tries): threads queue on a lock that wakes them at once
               instead of SQLite's busy handler, which sleeps and retries (up to 100 ms a nap).
async-send     a batch's POSTs multiplexed by one asyncio loop per worker process instead of the
               POST thread pool: plain HTTP/1.1 on keep-alive asyncio streams, written by hand
               for http:// receivers answering with a Content-Length (the bench's), with the
               same signing, SSRF check, timeouts and records. A prototype to measure what
               sending without a thread per request in flight gains, not a sender.
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


def _async_send() -> None:
    import asyncio
    import threading
    import time
    from collections import defaultdict

    from django.conf import settings
    from django.utils import timezone

    import delivery.tasks as tasks
    from delivery.http import SendResult, parse_retry_after
    from delivery.ssrf import UnsafeDestination, resolve_destination

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="webhook-async-send", daemon=True).start()
    idle: dict[tuple[str, int], list] = defaultdict(list)  # keep-alive connections, loop only

    async def exchange(dest, address: str, head: bytes, body: bytes, excerpt: int):
        key = (address, dest.port)
        if idle[key]:
            reader, writer = idle[key].pop()
        else:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, dest.port), settings.WEBHOOK_CONNECT_TIMEOUT)
        writer.write(head + body)
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                     settings.WEBHOOK_READ_TIMEOUT)
        lines = raw.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("Content-Length", 0))
        data = await asyncio.wait_for(reader.readexactly(length), settings.WEBHOOK_READ_TIMEOUT)
        idle[key].append((reader, writer))
        return int(lines[0].split(" ")[1]), headers, data[:excerpt]

    async def send_one(claim):
        body = claim.body.encode("utf-8")
        headers = tasks.build_headers(claim.event_id, body, claim.secrets)
        started_at, started = timezone.now(), time.monotonic()
        try:
            dest = resolve_destination(claim.url, settings.WEBHOOK_ALLOWED_NETWORKS)
            headers["Host"] = dest.host_header
            headers["Content-Length"] = str(len(body))
            head = (f"POST {dest.path_with_query} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("latin-1")
            status, got, excerpt = await exchange(
                dest, dest.addresses[0], head, body, settings.WEBHOOK_RESPONSE_EXCERPT_BYTES)
            result = SendResult(status, got, excerpt.decode("utf-8", "replace"),
                                duration_ms=int((time.monotonic() - started) * 1000),
                                retry_after=parse_retry_after(got.get("Retry-After")),
                                connected_address=dest.addresses[0])
        except (UnsafeDestination, OSError, TimeoutError, ValueError,
                asyncio.IncompleteReadError) as exc:
            result = SendResult(None, error=f"request failed: {exc!r}",
                                duration_ms=int((time.monotonic() - started) * 1000))
        return claim, result, tasks._recordable(headers), started_at

    async def send_all(claims):
        return await asyncio.gather(*(send_one(c) for c in claims))

    class AsyncPool:
        def map(self, _fn, claims):
            if not claims:
                return []
            return asyncio.run_coroutine_threadsafe(send_all(list(claims)), loop).result()

    pool = AsyncPool()
    tasks._pool = lambda: pool


PATCHES = {"write-lock": _write_lock, "quiet": _quiet, "async-send": _async_send}


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
