"""The cost of the worst mapping an incoming webhook may have, over a 1 MB body.

    .venv/bin/python -m bench.jsonpath_mapping

The worst allowed mapping (incoming/jsonpath_subset.py) is MAX_PATHS paths of MAX_STEPS
wildcards each, over a body built so that every step of every path keeps MAX_MATCHES values,
the most it may without being refused: every path then does the most work the subset allows.
The body is padded to 1 MB with strings at the leaves. Prints the best and median of the runs.
"""

from __future__ import annotations

import json
import statistics
import time

from incoming.jsonpath_subset import MAX_MATCHES, MAX_PATHS, MAX_STEPS, find

BODY_BYTES = 1024 * 1024


def worst_body() -> object:
    """MAX_MATCHES chains of single-element lists, MAX_STEPS deep, with padding at the ends."""
    leaf = "p" * (BODY_BYTES // MAX_MATCHES)
    chain: object = leaf
    for _ in range(MAX_STEPS - 1):
        chain = [chain]
    return [chain for _ in range(MAX_MATCHES)]


def worst_mapping() -> list[str]:
    return ["$" + "[*]" * MAX_STEPS for _ in range(MAX_PATHS)]


def evaluate_mapping(paths: list[str], body: object) -> int:
    return sum(len(find(path, body)) for path in paths)


def measure(runs: int = 20) -> dict[str, float]:
    body = json.loads(json.dumps(worst_body()))  # as parsed from the wire: no shared objects
    size = len(json.dumps(body).encode())
    paths = worst_mapping()
    assert evaluate_mapping(paths, body) == MAX_PATHS * MAX_MATCHES
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        evaluate_mapping(paths, body)
        timings.append((time.perf_counter() - started) * 1000)
    return {"body_bytes": size, "best_ms": min(timings), "median_ms": statistics.median(timings)}


if __name__ == "__main__":
    result = measure()
    print(f"worst allowed mapping ({MAX_PATHS} paths x {MAX_STEPS} wildcard steps, "
          f"{MAX_MATCHES} values per step) over a {result['body_bytes']:,}-byte body: "
          f"best {result['best_ms']:.1f} ms, median {result['median_ms']:.1f} ms")
