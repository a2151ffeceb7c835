"""The bench's profile summary (bench/profile.py) and the healthy span of a scenario."""

from __future__ import annotations

from bench.profile import summarize_collapsed
from bench.scenarios import Scenario

TASK = ("thread (1): webhook-db;Thread.run (threading.py:1);"
        "_worker (concurrent/futures/thread.py:8);"
        "_claim_batch (delivery/pipeline.py:168);claims (delivery/pipeline.py:205)")
LOOP = "thread (2): webhook-send;Thread.run (threading.py:1);run_forever (asyncio/base_events.py:9)"


def _share(summary: str, stage: str) -> float:
    line = next(line for line in summary.splitlines() if line.startswith(stage))
    return float(line.rsplit(None, 1)[1].rstrip("%"))


def test_stages_are_shares_of_the_samples_not_idle(tmp_path):
    raw = tmp_path / "profile.txt"
    raw.write_text("\n".join([
        f"{TASK};claim_tries (delivery/tries.py:130);execute (x.py:1) 3",
        f"{TASK};record_tries (delivery/tries.py:160) 1",
        f"{LOOP};_post (delivery/http.py:210) 4",
        "thread (3): pool;Thread.run (threading.py:1);_worker (concurrent/futures/thread.py:83);"
        "get (queue.py:1) 10",  # a pool thread with nothing to do
        "thread (4): consumer;Consumer.loop (celery/worker/loops.py:1);on_message (kombu/x.py:1) 2",
    ]))
    summary = summarize_collapsed(raw)
    assert summary.startswith("20 samples, 10 of them not idle")
    assert _share(summary, "delivery tasks") == 40.0
    assert _share(summary, "  claims (claim_tries)") == 30.0
    assert _share(summary, "  records (record_tries)") == 10.0
    assert _share(summary, "the send loop") == 40.0
    assert _share(summary, "celery/kombu outside") == 20.0


def test_healthy_deliveries_leave_out_the_slow_targets():
    targets = [("data set", n) for n in range(20)]
    mixed = Scenario("mixed", "", 1, 5000, targets, {"/slow/0", "/slow/1"})
    assert mixed.healthy_deliveries == 4500
    assert Scenario("mixed", "", 1, 45, targets, {"/slow/0", "/slow/1"}).healthy_deliveries == 39
    fanout = Scenario("fanout", "", 50, 100, [("data set", 1)])
    assert fanout.healthy_deliveries == fanout.deliveries == 5000
