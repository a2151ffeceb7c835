"""Where the time goes: query counts of the emitting request and of one delivery, and a summary
of py-spy's collapsed stacks sampled from a worker during a drain."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

# Inclusive shares of these frames are printed first: the stages of a delivery, as shares of the
# samples not spent idle. A needle is a function name with the start of its file.
TASKS = ("deliver (delivery/", "drain_webhook (delivery/", "_claim_batch (delivery/",
         "_record_batch (delivery/")
SEND_LOOP = "run_forever (asyncio/"
STAGES = [
    ("delivery tasks and the pipeline's database thread", TASKS),
    ("  drain reads (due_first_tries)", ("due_first_tries (delivery/",)),
    ("  claims (claim_tries)", ("claim_tries (delivery/",)),
    ("  records (record_tries)", ("record_tries (delivery/",)),
    ("  slow-endpoint slots and rate limits (Redis)", ("take_slow_slot (delivery/",
                                                        "reserve (delivery/")),
    ("  slow-endpoint marks (Redis)", ("note_durations (delivery/",)),
    ("  publishing tasks", ("apply_async (celery/",)),
    ("  signing (build_headers)", ("build_headers (delivery/",)),
    ("  logging", ("logging/__init__",)),
    ("  BEGIN (SQLite: waiting for the write lock)", ("Atomic.__enter__",)),
    ("  COMMIT", ("Atomic.__exit__",)),
    ("  all SQL, BEGIN and COMMIT included", ("CursorWrapper.execute",)),
    ("the send loop (delivery/http.py on aiohttp)", (SEND_LOOP,)),
    ("celery/kombu outside the tasks and the loop", None),
]


def _frames(stack: str) -> list[str]:
    return [f for f in stack.split(";") if f]


def summarize_collapsed(path: Path, top: int = 15) -> str:
    """Inclusive and self shares from py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    paths: Counter[tuple[str, ...]] = Counter()
    stage: Counter[str] = Counter()
    total = working = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[_short(frame)] += count
        leaf[_short(frames[-1])] += count
        project = [i for i, f in enumerate(frames) if _ours(f, django=False)]
        if project:
            entry = next((f for f in frames[project[-1] + 1:] if _ours(f)), frames[-1])
            paths[(_short(frames[project[-1]]), _short(entry), _short(frames[-1]))] += count
        else:
            paths[(_short(frames[-1]),)] += count
        joined = ";".join(frames)
        busy = any(n in joined for n in TASKS + (SEND_LOOP,))
        if not busy and _idle_wait(frames[-1]):
            continue  # a pool thread with nothing to do
        working += count
        for name, needles in STAGES:
            if needles is None:
                if not busy:
                    stage[name] += count
            elif any(n in joined for n in needles):
                stage[name] += count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples, {working} of them not idle; stage shares are of those", "",
             f"{'stage':64} share"]
    for name, _needles in STAGES:
        lines.append(f"{name:64} {100 * stage[name] / max(working, 1):5.1f}%")
    lines += ["", f"top {top} functions, inclusive:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top + 8)
              if not f.startswith(("<module>", "_bootstrap", "run (threading", "worker ("))][:top]
    lines += ["", f"top {top} functions, self:"]
    lines += [f"{100 * n / total:5.1f}%  {f}" for f, n in leaf.most_common(top)]
    lines += ["", "top call paths (project and Django frames -> leaf):"]
    lines += [f"{100 * n / total:5.1f}%  " + " > ".join(p) for p, n in paths.most_common(8)]
    return "\n".join(lines)


def _ours(frame: str, django: bool = True) -> bool:
    # py-spy names files relative to sys.path: "delivery/tasks.py".
    needles = ("(delivery/", "(events/", "(subscriptions/", "(webhooks_project/", "(kernel/",
               "(api/", "(ops/")
    return any(n in frame for n in needles + (("django/",) if django else ()))


def _idle_wait(frame: str) -> bool:
    return any(n in frame for n in ("wait (threading", "_worker (concurrent", "get (queue",
                                    "select (selectors", "poll (selectors"))


def _short(frame: str) -> str:
    # "func (path/to/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            if marker == "lib/python3":
                where = where.split("/", 1)[-1]
    if "/work/" in where or where.startswith("/"):
        where = "/".join(where.split("/")[-2:])
    return f"{name} ({where})"


def query_counts(fanout_scenario, stream_scenario, consumers) -> dict:
    """Queries in the emitting request (fan-out of 50, and 1). (A delivery's own queries run on
    its worker's database thread: see delivery/pipeline.py.)"""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.scenarios import emit

    counts = {}
    consumers.pause()
    try:
        for label, scenario in (("emit, 50 matching subscriptions", fanout_scenario),
                                ("emit, 1 matching subscription", stream_scenario)):
            with CaptureQueriesContext(connection) as captured:
                emit(scenario, 0)
            counts[label] = len(captured.captured_queries)
    finally:
        consumers.resume()
    return counts
