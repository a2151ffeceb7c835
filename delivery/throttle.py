"""At most N tries in flight to a SLOW endpoint, counted in Redis across every worker.

Without it a few receivers that hang until the read timeout would hold every worker thread and
starve healthy receivers. An endpoint (scheme, host, port and path of a URL) is marked slow for a
while when a try to it times out or takes longer than WEBHOOK_SLOW_RESPONSE_SECONDS; only then
is it limited, so a fast receiver can take as many deliveries at once as there are threads. A try
over the limit waits before it is claimed (delivery/flow.py), so waiting uses up no try and no
lease. If Redis cannot be asked, tries go ahead: the limit protects throughput, not correctness.
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections import defaultdict
from urllib.parse import urlsplit

import redis
from django.conf import settings

from kernel.redis import redis_client

logger = logging.getLogger(__name__)
# How long a slow endpoint stays limited without news; every slow batch starts it again.
SLOW_FOR_SECONDS = 300
# Redis key prefix of the slow marks: SLOW_KEY + endpoint.
SLOW_KEY = "webhooks:slow:"


def endpoint_of(url: str) -> str:
    # Per path, not per host: one slow endpoint must not limit its host's fast ones.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}{parts.path}"


def note_durations(durations: list[tuple[str, float | None]],
                   slow_before: set[str] | None = None) -> None:
    """(URL, seconds a try took, None if it timed out) for a batch of tries. An endpoint is slow
    while its tries are: marked when one timed out or their median took longer than
    WEBHOOK_SLOW_RESPONSE_SECONDS, cleared when they were fast again. (A median, and clearing,
    because a busy worker can stretch a few tries to a fast receiver past the threshold.)
    `slow_before`, the endpoints seen slow when the tries were admitted, spares clearing a flag
    that was not set: a fast batch then costs no Redis round trip; otherwise one."""
    if settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT <= 0:
        return  # nothing is limited, so nothing needs to know which endpoints are slow
    by_endpoint: dict[str, list[float | None]] = defaultdict(list)
    for url, seconds in durations:
        by_endpoint[endpoint_of(url)].append(seconds)
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
        return bool(redis_client().exists(SLOW_KEY + endpoint_of(url)))
    except redis.RedisError:
        return False


def slow_endpoints(urls) -> set[str]:
    """The endpoints of these URLs marked slow now: one Redis round trip. Nothing is slow when
    the limit is off or Redis cannot be asked (the limit protects throughput, not correctness)."""
    if settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT <= 0:
        return set()
    endpoints = sorted({endpoint_of(url) for url in urls})
    if not endpoints:
        return set()
    try:
        marks = redis_client().mget([SLOW_KEY + e for e in endpoints])
    except redis.RedisError as exc:
        logger.debug("slow marks not read (%s)", exc)
        return set()
    return {e for e, mark in zip(endpoints, marks, strict=True) if mark is not None}


def _slots_key(endpoint: str) -> str:
    return f"webhooks:inflight:{endpoint}"


def take_slow_slot(endpoint: str, ttl_seconds: float) -> str | None:
    """One of a slow endpoint's WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT slots, shared by every worker:
    a token to give back with `give_back_slow_slot`, or None when all are taken. Redis down:
    a token that holds nothing (the try goes ahead).

    Slots are members of a sorted set scored by when they were taken; a slot older than the
    longest a try can take is dropped, so a worker killed while holding one cannot leak it."""
    token, now, key = uuid.uuid4().hex, time.time(), _slots_key(endpoint)
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.zremrangebyscore(key, 0, now - ttl_seconds)
        pipe.zadd(key, {token: now})
        pipe.zrank(key, token)
        pipe.expire(key, int(ttl_seconds) + 1)
        rank = pipe.execute()[2]
        if rank is not None and rank < settings.WEBHOOK_MAX_INFLIGHT_PER_ENDPOINT:
            return token
        redis_client().zrem(key, token)
        return None
    except redis.RedisError as exc:
        logger.debug("in-flight limit not checked (%s)", exc)
        return ""


def give_back_slow_slot(endpoint: str, token: str) -> None:
    if not token:
        return
    try:
        redis_client().zrem(_slots_key(endpoint), token)
    except redis.RedisError:
        pass  # it expires with its score
