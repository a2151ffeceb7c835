"""At most N tries in flight to a SLOW endpoint, counted in Redis across every worker.

Without it a few receivers that hang until the read timeout would hold every worker thread and
starve healthy receivers. An endpoint (scheme, host, port and path of a URL) is marked slow for a
while when a try to it times out or takes longer than WEBHOOK_SLOW_RESPONSE_SECONDS; only then
is it limited, so a fast receiver can take as many deliveries at once as there are threads. A try
over the limit is put back for a moment without using a try. If Redis cannot be asked, tries go
ahead: the limit protects throughput, not correctness.
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
_client: redis.Redis | None = None
# How long a slow endpoint stays limited without news; every slow batch starts it again.
SLOW_FOR_SECONDS = 300
# Redis key prefix of the slow marks: SLOW_KEY + endpoint.
SLOW_KEY = "webhooks:slow:"


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
    return _client


def _endpoint(url: str) -> str:
    # Per path, not per host: one slow endpoint must not limit its host's fast ones.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


def note_durations(durations: list[tuple[str, float | None]],
                   slow_before: set[str] | None = None) -> None:
    """(URL, seconds a try took, None if it timed out) for a batch of tries. An endpoint is slow
    while its tries are: marked when one timed out or their median took longer than
    WEBHOOK_SLOW_RESPONSE_SECONDS, cleared when they were fast again. (A median, and clearing,
    because a busy worker can stretch a few tries to a fast receiver past the threshold.)
    `slow_before`, the endpoints the slots saw slow (SlotGrant.slow), spares clearing a flag
    that was not set: a fast batch then costs no Redis round trip; otherwise one."""
    if settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT <= 0:
        return  # nothing is limited, so nothing needs to know which endpoints are slow
    by_endpoint: dict[str, list[float | None]] = defaultdict(list)
    for url, seconds in durations:
        by_endpoint[_endpoint(url)].append(seconds)
    threshold = settings.WEBHOOK_SLOW_RESPONSE_SECONDS
    try:
        pipe = redis_client().pipeline(transaction=False)
        for endpoint, times in by_endpoint.items():
            key = SLOW_KEY + endpoint
            if None in times or statistics.median(times) > threshold:
                pipe.set(key, 1, ex=SLOW_FOR_SECONDS)
            elif slow_before is None or endpoint in slow_before:
                pipe.delete(key)
        if len(pipe):
            pipe.execute()
    except redis.RedisError:
        pass


def endpoint_is_slow(url: str) -> bool:
    try:
        return bool(redis_client().exists(SLOW_KEY + _endpoint(url)))
    except redis.RedisError:
        return False


@dataclass
class SlotGrant:
    allowed: set[str]  # delivery ids that may go now
    slow: set[str] = field(default_factory=set)  # endpoints marked slow when the slots were taken


@contextmanager
def endpoint_slots(urls: dict[str, str], ttl_seconds: float) -> Iterator[SlotGrant]:
    """Takes in-flight slots for deliveries (id -> URL); yields a SlotGrant: every id may go
    except those over a slow endpoint's limit. One Redis round trip to take the slots (it also
    reads which endpoints are slow), one to give them back.

    Slots are members of a sorted set scored by when they were taken; a slot older than the
    longest a try can take is dropped, so a worker killed while holding one cannot leak it.
    """
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT
    if limit <= 0 or not urls:
        yield SlotGrant(set(urls))
        return
    by_endpoint: dict[str, list[str]] = defaultdict(list)
    for delivery_id, url in urls.items():
        by_endpoint[_endpoint(url)].append(delivery_id)
    grant, taken, now = SlotGrant(set()), {}, time.time()
    try:
        pipe = redis_client().pipeline(transaction=False)
        for endpoint, ids in by_endpoint.items():
            key = f"webhooks:inflight:{endpoint}"
            taken[key] = [uuid.uuid4().hex for _ in ids]
            pipe.zremrangebyscore(key, 0, now - ttl_seconds)
            pipe.zadd(key, dict.fromkeys(taken[key], now))
            pipe.zcard(key)
            pipe.expire(key, int(ttl_seconds) + 1)
            pipe.exists(SLOW_KEY + endpoint)
        results = pipe.execute()
        refused = redis_client().pipeline(transaction=False)
        for number, (endpoint, ids) in enumerate(by_endpoint.items()):
            key = f"webhooks:inflight:{endpoint}"
            count, slow = results[5 * number + 2], results[5 * number + 4]
            if slow:
                grant.slow.add(endpoint)
            room = len(ids) if not slow else max(0, limit - (count - len(ids)))
            grant.allowed.update(ids[:room])
            if room < len(ids):
                # Refused tries give their slots back at once; they are not in flight.
                refused.zrem(key, *taken[key][room:])
                taken[key] = taken[key][:room]
        if len(refused):
            refused.execute()
    except redis.RedisError as exc:
        logger.debug("in-flight limit not checked (%s)", exc)
        grant = SlotGrant(set(urls))
    try:
        yield grant
    finally:
        try:
            pipe = redis_client().pipeline(transaction=False)
            for key, tokens in taken.items():
                if tokens:
                    pipe.zrem(key, *tokens)
            pipe.execute()
        except redis.RedisError:
            pass
