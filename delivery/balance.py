"""Spreading batches over the worker nodes by the tries each holds.

A batch belongs to the worker that took its task from the queue, and a worker takes tasks while it
has a free task thread: far more tries than its POST threads send at once. When many batches
arrive together (a burst over many subscriptions), one worker can take several more than another
and go on alone, on one core, long after the other has finished (bench/README.md, "(c) on
PostgreSQL").

So every worker node keeps in Redis the number of tries it holds (placed on it and not yet
recorded), and a batch is placed before it is claimed: on its own node, unless that node has at
least a POST pool's worth waiting and another live node would hold no more than this one does
even with the batch; then the batch goes to that node's own queue (Celery's `worker_direct`),
once. One script does the reading, the choice and the counting, so batches placed at the same
moment on two nodes see each other. Balancing only saves time: without Redis a batch stays where
it is, and a handed-over batch that is lost (its node died) leaves its deliveries due, for the
next drain or the sweeper.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

from delivery.throttle import redis_client

logger = logging.getLogger(__name__)

LOADS_KEY = "webhooks:node-tries"
SEEN_KEY = "webhooks:node-seen"
HEARTBEAT_SECONDS = 1.0
# A node not heard of for this long is not sent batches; after FORGET_MS it is forgotten.
LIVE_MS = 3000
FORGET_MS = 60000

# ARGV: operation, node, tries, threshold. Returns the node the tries were placed on.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op, node, tries = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('HSET', KEYS[2], node, now)
if op == 'leave' then
  redis.call('HDEL', KEYS[1], node)
  redis.call('HDEL', KEYS[2], node)
  return node
end
if op == 'reset' then
  redis.call('HSET', KEYS[1], node, 0)
  local seen = redis.call('HGETALL', KEYS[2])
  for i = 1, #seen, 2 do
    if now - tonumber(seen[i + 1]) > tonumber(ARGV[6]) then
      redis.call('HDEL', KEYS[1], seen[i])
      redis.call('HDEL', KEYS[2], seen[i])
    end
  end
  return node
end
local target = node
if op == 'place' then
  local mine = tonumber(redis.call('HGET', KEYS[1], node) or '0')
  if mine >= tonumber(ARGV[4]) then
    local seen = redis.call('HGETALL', KEYS[2])
    local least = nil
    for i = 1, #seen, 2 do
      if seen[i] ~= node and now - tonumber(seen[i + 1]) <= tonumber(ARGV[5]) then
        local held = tonumber(redis.call('HGET', KEYS[1], seen[i]) or '0')
        if held + tries <= mine and (least == nil or held < least) then
          least, target = held, seen[i]
        end
      end
    end
  end
end
if redis.call('HINCRBY', KEYS[1], target, tries) < 0 then
  redis.call('HSET', KEYS[1], target, 0)
end
return target
"""
_script: redis.commands.core.Script | None = None


def _run(operation: str, node: str, tries: int = 0) -> str:
    global _script
    if _script is None:
        _script = redis_client().register_script(_SCRIPT)
    placed = _script(keys=[LOADS_KEY, SEEN_KEY], args=[
        operation, node, tries, settings.WEBHOOK_BATCH_CONCURRENCY, LIVE_MS, FORGET_MS,
    ])
    return placed.decode() if isinstance(placed, bytes) else placed


def place(node: str | None, tries: int) -> str | None:
    """Counts `tries` on the node that is to send them; returns that node when it is another
    one (the caller hands the batch over), None when the batch stays here."""
    if not node or not settings.WEBHOOK_BALANCE_BATCHES:
        return None
    try:
        target = _run("place", node, tries)
    except redis.RedisError as exc:
        logger.debug("batch not placed (%s); it stays here", exc)
        return None
    return None if target == node else target


def adjust(node: str | None, tries: int) -> None:
    """Adds `tries` (negative: subtracts) to what the node holds."""
    if not node or not tries or not settings.WEBHOOK_BALANCE_BATCHES:
        return
    try:
        _run("adjust", node, tries)
    except redis.RedisError as exc:
        logger.debug("tries held by %s not counted (%s)", node, exc)


class NodeHeartbeat:
    """Keeps a worker node among the live ones while it runs (even idle, when it is the one
    that should get batches); started when the worker is ready, stopped when it shuts down."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="webhook-node-heartbeat",
                                        daemon=True)

    def start(self) -> NodeHeartbeat:
        # A restarted node holds nothing: what it counted before it died is gone.
        self._call("reset")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._call("leave")

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._call("adjust")

    def _call(self, operation: str) -> None:
        try:
            _run(operation, self.node)
        except redis.RedisError as exc:
            logger.debug("node %s: %s not recorded (%s)", self.node, operation, exc)
