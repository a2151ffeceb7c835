"""At most N tries in flight to a SLOW destination host, counted in Redis across every worker.

Without it a few receivers that hang until the read timeout would hold every worker thread and
starve healthy receivers. A host is marked slow for a while when a try to it times out; only
then is it limited, so a fast receiver can take as many deliveries at once as there are
threads. A try over the limit is put back for a moment without using a try. If Redis cannot be
asked, tries go ahead: the limit protects throughput, not correctness.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
_client: redis.Redis | None = None
# How long a host that timed out stays limited; every new timeout starts the span again.
SLOW_FOR_SECONDS = 300


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
    return _client


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or parts.scheme}"


def mark_slow(url: str) -> None:
    try:
        _redis().set(f"webhooks:slow:{_host(url)}", 1, ex=SLOW_FOR_SECONDS)
    except redis.RedisError:
        pass


@contextmanager
def host_slot(url: str, ttl_seconds: float) -> Iterator[bool]:
    """Yields True with a slot held for the URL's host, False when the host is at its limit.

    Slots are members of a sorted set scored by when they were taken; a slot older than the
    longest a try can take is dropped, so a worker killed while holding one cannot leak it.
    """
    limit = settings.WEBHOOK_MAX_INFLIGHT_PER_HOST
    if limit <= 0:
        yield True
        return
    host, token, now = _host(url), uuid.uuid4().hex, time.time()
    key = f"webhooks:inflight:{host}"
    try:
        pipe = _redis().pipeline()
        pipe.zremrangebyscore(key, 0, now - ttl_seconds)
        pipe.zadd(key, {token: now})
        pipe.zcard(key)
        pipe.expire(key, int(ttl_seconds) + 1)
        pipe.exists(f"webhooks:slow:{host}")
        results = pipe.execute()
        count, slow = results[2], results[4]
    except redis.RedisError as exc:
        logger.debug("in-flight limit not checked (%s)", exc)
        yield True
        return
    try:
        yield not slow or count <= limit
    finally:
        try:
            _redis().zrem(key, token)
        except redis.RedisError:
            pass
