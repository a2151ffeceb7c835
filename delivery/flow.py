"""Flow control in a worker: how many tries a worker process lets out at once. Every part is
switchable by a setting, and none of them decides whether a delivery goes out or how often: that
is claimed in the database (delivery/tries.py). (How committed deliveries reach the workers is
delivery/dispatch.py's.)

Admitting tries (`Gate`), before any of them is claimed, so that a claimed try is sent at once
and its lease covers its POST, not a wait in a queue:
- WEBHOOK_MAX_POSTS_IN_FLIGHT: POSTs in flight per worker process.
- WEBHOOK_MAX_POSTS_PER_ENDPOINT: of those, to one endpoint (host and port), so a burst does
  not open dozens of connections to one receiver at once (0: no such limit).
- WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT: tries in flight to an endpoint marked slow, across every
  worker, counted in Redis (delivery/throttle.py; 0: off), so hanging receivers cannot take the
  POST slots healthy receivers need.
- A webhook's own rate limit (deliveries per second, delivery/rate.py), across every worker.
A try that is not admitted within WEBHOOK_ADMISSION_WAIT seconds is not claimed at all: it is
put back (`dispatch.put_back`) and tried again a moment later, with its tries untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import NamedTuple
from urllib.parse import urlsplit

from delivery import rate, throttle

SLOW_SLOT_POLL_SECONDS = 0.2


class Destination(NamedTuple):
    """Where a delivery goes, and what its admission depends on."""

    url: str
    webhook_id: str | None = None
    rate_limit: int | None = None  # deliveries per second of its webhook (delivery/rate.py)


def _host_and_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port


class Gate:
    """Admission of a worker process's tries, on its sending loop (used from that loop only).

    `admit(url, slow)` waits for a place and yields True, or yields False when none came within
    the admission wait; the place is given back when the block ends (the try is recorded)."""

    def __init__(self, max_in_flight: int, max_per_endpoint: int, wait_seconds: float, *,
                 slow_slot_seconds: float = 60.0) -> None:
        self.wait_seconds = wait_seconds
        # How long a slow endpoint's slot is held at most, if its holder dies: the pipeline
        # passes a try's lease (tries.lease_seconds).
        self._slow_slot_seconds = slow_slot_seconds
        self._in_flight = asyncio.Semaphore(max(1, max_in_flight))
        self._per_endpoint_limit = max_per_endpoint
        # Per host and port: its semaphore and how many tries hold or await it. An entry goes
        # when the last of them is done, so a long-lived worker keeps none for past receivers.
        self._per_endpoint: dict[tuple, tuple[asyncio.Semaphore, list[int]]] = {}
        # Per slow endpoint: the lock its tries take turns on to ask Redis, and how many wait.
        self._slow_askers: dict[str, list] = {}

    @property
    def endpoints_tracked(self) -> int:
        return len(self._per_endpoint)

    @contextlib.asynccontextmanager
    async def admit(self, destination: Destination | str, slow: bool) -> AsyncIterator[bool]:
        if isinstance(destination, str):
            destination = Destination(destination)
        if destination.rate_limit and destination.webhook_id:
            # Its moment comes first: a try waiting for its webhook's rate holds no place.
            wait = await asyncio.get_running_loop().run_in_executor(
                None, rate.reserve, destination.webhook_id, destination.rate_limit,
                self.wait_seconds)
            if wait is None:
                yield False
                return
            await asyncio.sleep(wait)
        url = destination.url
        places = await self._take(url, slow)
        try:
            yield places is not None
        finally:
            if places:
                self._give_back(places)

    async def _take(self, url: str, slow: bool) -> list | None:
        """The places this try needs, taken in order (the scarcest first: a try waiting for a
        slow endpoint's slot must not hold a place a healthy endpoint's try could use); None,
        holding nothing, when they did not all come within the wait."""
        taken: list = []
        try:
            if not slow and self._per_endpoint_limit <= 0 and not self._in_flight.locked():
                await self._in_flight.acquire()  # free: no wait, no timer
                return [self._in_flight]
            async with asyncio.timeout(self.wait_seconds):
                if slow:
                    taken.append(await self._slow_slot(url))
                if self._per_endpoint_limit > 0:
                    taken.append(await self._endpoint_place(url))
                await self._in_flight.acquire()
                taken.append(self._in_flight)
            return taken
        except TimeoutError:
            self._give_back(taken)
            return None
        except BaseException:
            self._give_back(taken)
            raise

    def _give_back(self, places: list) -> None:
        for place in reversed(places):
            if place is self._in_flight:
                place.release()
            elif isinstance(place, tuple) and place[0] == "slow":
                _, endpoint, token = place
                asyncio.get_running_loop().run_in_executor(
                    None, throttle.give_back_slow_slot, endpoint, token)
            else:
                key, semaphore, users = place
                semaphore.release()
                users[0] -= 1
                if not users[0]:
                    del self._per_endpoint[key]

    async def _endpoint_place(self, url: str) -> tuple:
        key = _host_and_port(url)
        entry = self._per_endpoint.get(key)
        if entry is None:
            entry = self._per_endpoint[key] = (asyncio.Semaphore(self._per_endpoint_limit), [0])
        semaphore, users = entry
        users[0] += 1
        try:
            await semaphore.acquire()
        except BaseException:
            users[0] -= 1
            if not users[0]:
                del self._per_endpoint[key]
            raise
        return key, semaphore, users

    async def _slow_slot(self, url: str) -> tuple:
        loop = asyncio.get_running_loop()
        endpoint = throttle.endpoint_of(url)
        # One try per endpoint and process asks Redis at a time; the others wait their turn
        # here, so a hundred tries queued for a slow receiver cost a few Redis calls a second,
        # not a hundred.
        asking = self._slow_askers.get(endpoint)
        if asking is None:
            asking = self._slow_askers[endpoint] = [asyncio.Lock(), 0]
        asking[1] += 1
        try:
            async with asking[0]:
                while True:
                    token = await loop.run_in_executor(
                        None, throttle.take_slow_slot, endpoint, self._slow_slot_seconds)
                    if token is not None:
                        return "slow", endpoint, token
                    await asyncio.sleep(SLOW_SLOT_POLL_SECONDS)
        finally:
            asking[1] -= 1
            if not asking[1]:
                del self._slow_askers[endpoint]
