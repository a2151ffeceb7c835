"""The one delivery pipeline of a worker process, the same for a lone delivery, a fan-out, a
drained stream, a retry and a sweep: admit -> claim -> sign and send -> record -> schedule what
follows.

Each try is a coroutine on the process's sending loop (delivery/http.py):
1. admit: it waits for a place to send (flow.Gate: the process's and the endpoint's limits, and
   a slow endpoint's slots across workers); nothing is claimed yet, so the wait costs no try and
   runs no lease. A try with no place within the admission wait is put back, untried.
2. claim: the try is claimed in the database (delivery/tries.py), which starts its lease.
3. sign and send: the POST goes out at once.
4. record: its result is recorded as soon as it arrives, whatever the other tries of the batch
   are doing, and the next try (if any) is scheduled from that moment.

The database work runs on one thread per process, through two coalescers: the claims (or the
records) that tries ask for while one transaction is under way share the next one. So a worker
process is one writer to the database however many tries it has in flight, and a busy batch
costs a few transactions instead of two per try, without any try waiting for another's POST.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import redis
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)
from django.conf import settings
from django.db import OperationalError, connection

from delivery import dispatch, throttle
from delivery.flow import Destination, Gate
from delivery.http import Post, WebhookSender, get_sender
from delivery.models import DeliveryStatus
from delivery.policy import RetryPolicy
from delivery.tries import (
    ClaimedTry,
    SentTry,
    TryOutcome,
    claim_tries,
    lease_seconds,
    record_tries,
)
from kernel.redis import redis_client
from kernel.signing import sign_headers
from kernel.ssrf import parse_networks

logger = logging.getLogger(__name__)

USER_AGENT = f"ps-webhooks/{version('ps-webhooks')}"
# A record that fails for a passing reason (SQLite busy past its timeout) is run again, up to
# this many rounds; one that still fails leaves its delivery leased, for the sweeper (the try
# counts as lost).
RECORD_ROUNDS = 3
# How long a record may wait for the results of the POSTs still out (see Pipeline): well under
# the 100 ms within which a try's record and its retry's scheduling are due. Only POSTs started
# less than this long ago count as coming: one to a receiver that takes seconds (a slow
# endpoint's) would otherwise hold every record of its process for the whole linger.
RECORD_LINGER = 0.05


def build_headers(event_id: str, body: bytes, secrets: list[str],
                  custom: dict[str, str] | None = None) -> dict[str, str]:
    """The webhook's custom headers (subscriptions/headers.py refuses every name set here),
    then the signature headers, Content-Type and User-Agent."""
    signed = sign_headers(event_id, int(time.time()), body, secrets) if secrets else {
        "webhook-id": event_id, "webhook-timestamp": str(int(time.time()))
    }
    headers = {**(custom or {}), **signed}
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = USER_AGENT
    return headers


def recordable(headers: dict[str, str], custom: dict[str, str] | None = None) -> dict[str, str]:
    """The headers as stored with the try: the signatures (derived from the secrets) and the
    custom headers' values (write-only, like secrets) redacted."""
    hidden = {"webhook-signature", *(custom or {})}
    return {k: ("<redacted>" if k in hidden else v) for k, v in headers.items()}


class Coalescer:
    """Runs `work(items)` on `executor` with every item submitted while the previous call was
    under way; each submitter gets its own item's result (or the call's exception).

    With `linger` set, a call first waits up to that many seconds for more items while
    `more_coming()` says some are on their way, so a busy moment costs one call, not many."""

    def __init__(self, work: Callable[[list], Sequence], executor: ThreadPoolExecutor, *,
                 linger: float = 0.0, more_coming: Callable[[], bool] = lambda: False) -> None:
        self._work = work
        self._executor = executor
        self._linger = linger
        self._more_coming = more_coming
        self._waiting: list[tuple[Any, asyncio.Future]] = []
        self._arrived: asyncio.Event | None = None
        self._running = False

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if self._arrived is not None:
            self._arrived.set()
        if not self._running:
            self._running = True
            loop.create_task(self._run())
        return await future

    async def _gather_more(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._linger
        while self._more_coming() and (left := deadline - loop.time()) > 0:
            self._arrived = asyncio.Event()
            try:
                async with asyncio.timeout(left):
                    await self._arrived.wait()
            except TimeoutError:
                break
            finally:
                self._arrived = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                if self._linger:
                    await self._gather_more()
                batch, self._waiting = self._waiting, []
                try:
                    results = await loop.run_in_executor(
                        self._executor, self._work, [item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - handed to each submitter
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
        finally:
            self._running = False


class PostsUnderWay:
    """The POSTs a process has out, to tell whether an answer may come in a moment: one
    started within the last few milliseconds may (a healthy receiver answers in that time),
    one out for longer is a slow receiver's, not worth holding a record for."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._started: dict[object, float] = {}  # insertion order: oldest first

    def start(self) -> object:
        token = object()
        self._started[token] = self._clock()
        return token

    def end(self, token: object) -> None:
        del self._started[token]

    def young(self, seconds: float) -> bool:
        """True when a POST started less than `seconds` ago is still out."""
        if not self._started:
            return False
        return self._clock() - next(reversed(self._started.values())) < seconds


# What became of a delivery handed to the pipeline that it did not send: not due, final or
# claimed elsewhere (not this batch's to send); or no place within the admission wait (put back,
# untried, tried again later).
_SKIPPED, _PUT_BACK = "skipped", "put back"


# On SQLite, the worker's writer asks for the database's write lock every millisecond or two
# (a short busy timeout of its own, and a retry here) instead of napping in SQLite's busy
# handler, whose naps grow to 100 ms: a web process writing back to back would otherwise take
# the lock again before the nap ends, every time, and leave the claims and records waiting.
SQLITE_BUSY_MS = 2
SQLITE_LOCK_PAUSE = 0.0005
LOCK_WAIT_SECONDS = 30.0


def _holding_the_write_lock(work: Callable, *args):
    if connection.vendor != "sqlite":
        return work(*args)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        try:
            return work(*args)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(SQLITE_LOCK_PAUSE)


def _open_database_connection() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except OperationalError as exc:
        # The first claim opens it, or reports it.
        logger.warning("database not reachable at start-up (%s)", exc)


def _on_database_error() -> None:
    # The next call starts from a new connection: this one may be broken (a restarted server).
    connection.close()


def _claim_batch(delivery_ids: list[str]) -> list[ClaimedTry | None]:
    try:
        return _holding_the_write_lock(_claim, delivery_ids)
    except Exception:
        _on_database_error()
        raise


def _claim(delivery_ids: list[str]) -> list[ClaimedTry | None]:
    claims = {c.delivery_id: c for c in claim_tries(list(dict.fromkeys(delivery_ids)),
                                                    RetryPolicy.from_settings(settings))}
    # Two tasks may hold the same delivery (a sweep while it waited): one claim, one sender.
    return [claims.pop(delivery_id, None) for delivery_id in delivery_ids]


def _record_batch(sent: list[SentTry]) -> list[TryOutcome | None]:
    policy = RetryPolicy.from_settings(settings)
    for round_number in range(1, RECORD_ROUNDS + 1):
        try:
            outcomes = _holding_the_write_lock(
                functools.partial(record_tries, send_next=_send_next), sent, policy)
            break
        except OperationalError as exc:
            logger.warning("tries not recorded yet (%s); round %d of %d", exc, round_number,
                           RECORD_ROUNDS)
            _on_database_error()
            time.sleep(0.2 * round_number)
        except Exception:
            logger.exception("%d tries not recorded; the sweeper will count them as lost",
                             len(sent))
            _on_database_error()
            return [None] * len(sent)
    else:
        logger.error("%d tries not recorded; the sweeper will count them as lost", len(sent))
        return [None] * len(sent)
    for item in sent:
        outcome = outcomes.get(item.claim.delivery_id)
        if outcome is not None:
            _log(item, outcome)
    dispatch.enqueue_retries({delivery_id: outcome.retry_in
                              for delivery_id, outcome in outcomes.items()
                              if outcome.retry_in is not None})
    return [outcomes.get(item.claim.delivery_id) for item in sent]


def _send_next(turn_came: dict[str, Destination]) -> None:
    """On the database thread, once a record committed: the deliveries of ordered webhooks
    whose turn came with it go into this process's pipeline at once, instead of waiting for
    a task to bring them. They are due in the database already: if this process dies before
    they are claimed, the sweeper finds them."""
    if turn_came:
        get_pipeline().send_soon(turn_came)


def _log(item: SentTry, outcome: TryOutcome) -> None:
    # A try that succeeded is at DEBUG: its record is in the database (admin, API, metrics), and
    # a line per delivery costs a busy worker more than the record does. A failure is at INFO.
    level = logging.DEBUG if outcome.status == DeliveryStatus.SUCCEEDED else logging.INFO
    if not logger.isEnabledFor(level):
        return
    claim, result = item.claim, item.result
    logger.log(
        level,
        "delivery %s try %d -> %s (%s)", claim.delivery_id, claim.number, outcome.status,
        result.status_code or result.error,
        extra={"event_id": claim.event_id, "delivery_id": claim.delivery_id,
               "try": claim.number, "outcome": outcome.status},
    )


class Pipeline:
    """A worker process has one (`get_pipeline`); `sender` is the process's by default."""

    def __init__(self, sender: WebhookSender | None = None) -> None:
        self._sender = sender or get_sender()
        self._loop = self._sender.loop
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-db")
        self._allowed_networks = list(parse_networks(settings.WEBHOOK_ALLOWED_NETWORKS))
        self._posting = PostsUnderWay(self._loop.time)
        self._claims = Coalescer(_claim_batch, self._database)
        # A try's record may wait a moment for the results of the POSTs still out, so that a
        # busy process writes a few record transactions a second instead of one per answer.
        self._records = Coalescer(_record_batch, self._database, linger=RECORD_LINGER,
                                  more_coming=functools.partial(
                                      self._posting.young, RECORD_LINGER))
        self._soon: set[Future] = set()  # send_soon's batches under way
        self._soon_lock = threading.Lock()
        self._closing = False  # a warm shutdown began: nothing more starts from inside
        self.gate = Gate(settings.WEBHOOK_MAX_POSTS_IN_FLIGHT,
                         settings.WEBHOOK_MAX_POSTS_PER_ENDPOINT,
                         settings.WEBHOOK_ADMISSION_WAIT, slow_slot_seconds=lease_seconds())

    def prepare(self) -> None:
        """Opens what a try needs before the first one comes (the sending loop and its session
        exist already): the database thread's connection and Redis's. Otherwise a new worker's
        first deliveries each wait for a connection to be made, tens of milliseconds on
        PostgreSQL, and a quiet system's tail latency is its start-up."""
        self._database.submit(_open_database_connection).result(timeout=30)
        try:
            redis_client().ping()
        except redis.RedisError as exc:
            logger.warning("Redis not reachable at start-up (%s)", exc)

    def read(self, work: Callable[..., Any], *args: Any) -> Any:
        """`work(*args)` on the process's database thread, whose connection stays open: a
        task's own thread has its connection checked (a SELECT 1) at every task, which was a
        few percent of a light-load worker's processor time."""
        def run() -> Any:
            try:
                return work(*args)
            except Exception:
                _on_database_error()
                raise

        return self._database.submit(run).result()

    def deliver(self, destinations: dict[str, Destination | str],
                after_claims: Callable[[], None] | None = None) -> int:
        """Sends the next try of each of these deliveries (id -> its Destination, or URL) that
        is due; returns how many it sent, once every one is recorded, skipped or put back.
        `after_claims` runs (on another thread) once every one of them has been claimed or
        passed over."""
        if not destinations:
            return 0
        urls = {d: (t if isinstance(t, Destination) else Destination(t))
                for d, t in destinations.items()}
        # Asked here, on the caller's thread, which waits anyway: one hop less for every batch.
        slow = throttle.slow_endpoints([t.url for t in urls.values()])
        future = asyncio.run_coroutine_threadsafe(self._deliver(urls, slow, after_claims),
                                                  self._loop)
        return future.result()

    def send_soon(self, destinations: dict[str, Destination]) -> None:
        """Sends these deliveries through the pipeline without waiting for them (from any
        thread): for tries whose moment came inside the process. Once the worker is shutting
        down they are left where they are, due in the database, for another worker."""
        with self._soon_lock:
            if self._closing:
                return
            future = asyncio.run_coroutine_threadsafe(self._send_soon(destinations), self._loop)
            self._soon.add(future)
        future.add_done_callback(self._forget_soon)

    def _forget_soon(self, future: Future) -> None:
        with self._soon_lock:
            self._soon.discard(future)

    def finish(self, timeout: float) -> int:
        """A warm shutdown waits for the tries this process sent outside any task (send_soon)
        as Celery waits for its tasks: no new one starts, and those under way get up to
        `timeout` seconds to be answered and recorded. Otherwise the process would exit with
        them claimed and unrecorded, and each would be sent again after its lease. Returns how
        many batches were still under way when the time was up."""
        with self._soon_lock:
            self._closing = True
            under_way = list(self._soon)
        _done, left = wait(under_way, timeout=timeout)
        return len(left)

    async def _send_soon(self, destinations: dict[str, Destination]) -> None:
        loop = asyncio.get_running_loop()
        try:
            slow = await loop.run_in_executor(
                None, throttle.slow_endpoints, [t.url for t in destinations.values()])
            await self._deliver(destinations, slow, None)
        except Exception:
            # They stay due in the database: a later wake-up or the sweeper sends them.
            logger.exception("%d deliveries whose turn came not sent here", len(destinations))

    async def _deliver(self, urls: dict[str, Destination], slow: set[str],
                       after_claims: Callable[[], None] | None) -> int:
        loop = asyncio.get_running_loop()
        left = len(urls)

        def passed_claim() -> None:
            nonlocal left
            left -= 1
            if not left and after_claims is not None:
                loop.run_in_executor(None, after_claims)

        results = await asyncio.gather(*(
            self._one(delivery_id, target, throttle.endpoint_of(target.url) in slow,
                      passed_claim)
            for delivery_id, target in urls.items()))
        put_back = [d for d, r in zip(urls, results, strict=True) if r is _PUT_BACK]
        sent = [r for r in results if isinstance(r, SentTry)]
        if put_back:
            await loop.run_in_executor(self._database, _holding_the_write_lock,
                                       dispatch.put_back, put_back)
        if sent:
            await loop.run_in_executor(None, throttle.note_durations, [
                (item.claim.url, None if item.result.status_code is None
                 and "timeout" in item.result.error.lower() else item.result.duration_ms / 1000)
                for item in sent
            ], slow)
        return len(sent)

    async def _one(self, delivery_id: str, target: Destination, slow: bool,
                   passed_claim: Callable[[], None]) -> SentTry | str:
        async with self.gate.admit(target, slow) as admitted:
            if not admitted:
                passed_claim()
                return _PUT_BACK
            try:
                claim = await self._claims.submit(delivery_id)
            except OperationalError as exc:
                # The claim rolled back (e.g. SQLite busy past its timeout): no try was used.
                logger.warning("delivery %s not claimed (%s); put back", delivery_id, exc)
                return _PUT_BACK
            except Exception:
                logger.exception("delivery %s not claimed; put back", delivery_id)
                return _PUT_BACK
            finally:
                passed_claim()
            if claim is None:
                return _SKIPPED
            posting = self._posting.start()
            try:
                sent = await self._send(claim)
            finally:
                self._posting.end(posting)
            # Its place is given back only once the try is recorded: so a process never holds
            # more claimed, unrecorded tries than its POST limit (all that a kill can send
            # twice), and a slow database slows the claiming instead of piling up results.
            await self._records.submit(sent)
        return sent

    async def _send(self, claim: ClaimedTry) -> SentTry:
        body = claim.body.encode("utf-8")
        headers = build_headers(claim.event_id, body, claim.secrets, claim.headers)
        result = await self._sender.post(
            Post(claim.url, body, headers),
            connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT,
            read_timeout=settings.WEBHOOK_READ_TIMEOUT,
            excerpt_bytes=settings.WEBHOOK_RESPONSE_EXCERPT_BYTES,
            allowed_networks=self._allowed_networks,
        )
        return SentTry(claim, result, recordable(headers, claim.headers),
                       datetime.fromtimestamp(result.started_at, UTC))


_pipelines: dict[int, Pipeline] = {}
_pipelines_lock = threading.Lock()


# Time for a try sent at the last moment: connect, read its answer, record it.
SHUTDOWN_MARGIN = 5.0


@worker_shutdown.connect
@worker_process_shutdown.connect
def finish_on_shutdown(**kwargs) -> None:
    with _pipelines_lock:
        pipeline = _pipelines.get(os.getpid())
    if pipeline is None:
        return
    left = pipeline.finish(settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT
                           + SHUTDOWN_MARGIN)
    if left:
        logger.warning("%d batches of tries still under way at shutdown: the sweeper sends them "
                       "again after their lease", left)


@worker_process_init.connect
def prepare_in_child(**kwargs) -> None:
    """A prefork pool's child: the process that sends."""
    get_pipeline().prepare()


@worker_ready.connect
def prepare_on_ready(sender=None, **kwargs) -> None:
    """A threads or solo pool sends from the worker's own process; a prefork pool's parent
    sends nothing (its children prepare themselves)."""
    if not isinstance(getattr(sender, "pool", None), PreforkPool):
        get_pipeline().prepare()


def get_pipeline() -> Pipeline:
    """The process's pipeline, created on first use (again in a forked child)."""
    with _pipelines_lock:
        pipeline = _pipelines.get(os.getpid())
        if pipeline is None:
            pipeline = _pipelines[os.getpid()] = Pipeline()
        return pipeline
