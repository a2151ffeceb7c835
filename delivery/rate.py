"""A webhook's rate limit (deliveries per second), shared by every worker through Redis.

Each admitted try reserves the next free moment of its webhook, one `1 / rate` apart (GCRA with
no burst: a theoretical arrival time per webhook, kept in Redis and advanced by one script, on
Redis's clock so that machines' clocks do not matter). The try waits until its moment before it
is claimed, so waiting uses up no try. A try whose moment is further off than it may wait is
not given one: it is put back, untried. Redis down: no limit (it protects the receiver's quota,
not the delivery's correctness).
"""

from __future__ import annotations

import logging

import redis

from kernel.redis import redis_client

logger = logging.getLogger(__name__)

KEY = "webhooks:rate:"
# Moments are spaced a little wider than 1 / rate: a try that starts late (its claim shared a
# transaction with others) must not bring a later window over the limit.
SPACING_MARGIN = 1.1
# ARGV: interval (ms), longest wait (ms). Returns the wait in ms, or -1 when it is too long.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval, longest = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(tat, now)
local wait = at - now
if wait > longest then
  return -1
end
redis.call('SET', KEYS[1], at + interval, 'PX', math.ceil(wait + interval + 1000))
return wait
"""
_script = None


def reserve(webhook_id: str, per_second: int, longest_wait: float) -> float | None:
    """Seconds to wait before this webhook's next try may start, reserved; None when that is
    more than `longest_wait`."""
    global _script
    try:
        if _script is None:
            _script = redis_client().register_script(_SCRIPT)
        wait_ms = _script(keys=[KEY + webhook_id],
                          args=[1000.0 * SPACING_MARGIN / per_second,
                                int(longest_wait * 1000)])
    except redis.RedisError as exc:
        logger.debug("rate limit of %s not applied (%s)", webhook_id, exc)
        return 0.0
    wait_ms = float(wait_ms)
    return None if wait_ms < 0 else wait_ms / 1000
