"""Where a batch is placed: the tries each worker node holds, counted in the real (session)
Redis (delivery/balance.py)."""

import uuid

import pytest
import redis

from delivery import balance
from delivery.throttle import redis_client


@pytest.fixture(autouse=True)
def own_keys(monkeypatch, settings):
    """Keys of this test's own: the session's worker beats under the real ones."""
    suffix = uuid.uuid4().hex
    monkeypatch.setattr(balance, "LOADS_KEY", f"test:loads:{suffix}")
    monkeypatch.setattr(balance, "SEEN_KEY", f"test:seen:{suffix}")
    settings.WEBHOOK_BATCH_CONCURRENCY = 64
    settings.WEBHOOK_BALANCE_BATCHES = True


def held(node: str) -> int:
    return int(redis_client().hget(balance.LOADS_KEY, node) or 0)


def live(*nodes: str) -> None:
    for node in nodes:
        balance.NodeHeartbeat(node)._call("reset")


def test_a_node_keeps_batches_while_its_post_threads_are_not_all_taken():
    live("a", "b")
    assert balance.place("a", 40) is None
    assert balance.place("a", 23) is None  # 63 held: under one POST pool (64)
    assert (held("a"), held("b")) == (63, 0)


def test_a_busy_node_hands_a_batch_to_the_least_loaded_live_node():
    live("a", "b", "c")
    balance.adjust("a", 300)
    balance.adjust("b", 120)
    balance.adjust("c", 80)
    assert balance.place("a", 100) == "c"
    # Counted where it went, at once: the next batch placed sees it.
    assert (held("a"), held("b"), held("c")) == (300, 120, 180)
    assert balance.place("a", 100) == "b"
    assert balance.place("a", 100) == "c"
    assert balance.place("a", 100) is None  # b and c would now hold more than a: kept
    assert (held("a"), held("b"), held("c")) == (400, 220, 280)


def test_a_batch_stays_when_moving_it_would_only_move_the_imbalance():
    live("a", "b")
    balance.adjust("a", 150)
    balance.adjust("b", 100)
    assert balance.place("a", 100) is None  # b would hold 200 against a's 150
    assert held("a") == 250


def last_heard_earlier(node: str, ms: int) -> None:
    seen = int(redis_client().hget(balance.SEEN_KEY, node))
    redis_client().hset(balance.SEEN_KEY, node, seen - ms)


def test_a_node_not_heard_of_lately_gets_nothing():
    live("a", "b")
    balance.adjust("a", 500)
    last_heard_earlier("b", balance.LIVE_MS + 1)
    assert balance.place("a", 100) is None
    assert held("b") == 0


def test_counts_go_back_down_and_never_below_zero():
    live("a")
    balance.adjust("a", 100)
    balance.adjust("a", -100)
    assert held("a") == 0
    balance.adjust("a", -5)  # e.g. a batch of a node that restarted meanwhile
    assert held("a") == 0


def test_a_restarted_node_starts_from_zero_and_long_dead_nodes_are_forgotten():
    live("a", "dead")
    balance.adjust("a", 250)
    last_heard_earlier("dead", balance.FORGET_MS + 1)
    live("a")
    assert held("a") == 0
    assert not redis_client().hexists(balance.SEEN_KEY, "dead")
    assert not redis_client().hexists(balance.LOADS_KEY, "dead")


def test_a_node_that_shuts_down_leaves_at_once():
    heartbeat = balance.NodeHeartbeat("gone").start()
    live("a")
    balance.adjust("a", 500)
    heartbeat.stop()
    assert balance.place("a", 100) is None
    assert not redis_client().hexists(balance.LOADS_KEY, "gone")


def test_no_balancing_when_turned_off_or_outside_a_worker(settings):
    live("a", "b")
    balance.adjust("a", 500)
    assert balance.place(None, 100) is None  # eager or outside a worker: no node
    settings.WEBHOOK_BALANCE_BATCHES = False
    assert balance.place("a", 100) is None
    assert held("b") == 0


def test_without_redis_a_batch_stays_where_it_is(monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    monkeypatch.setattr(balance, "redis_client", lambda: dead)
    monkeypatch.setattr(balance, "_script", None)
    assert balance.place("a", 100) is None
    balance.adjust("a", 100)  # no error either
