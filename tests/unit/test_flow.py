"""Admission (delivery/flow.Gate): how many tries a worker process lets out at once, decided
before any of them is claimed."""

import asyncio
import time

from delivery.flow import Gate


def _run(gate: Gate, urls: list[str], hold: float) -> tuple[list[bool], list[tuple], int]:
    """Each URL asks the gate for a place and, if admitted, holds it for `hold` seconds.
    Returns who was admitted, (url, start, end) of each admitted hold, and the most at once."""
    spans, busy, most = [], [0], [0]

    async def one(url: str) -> bool:
        async with gate.admit(url, slow=False) as admitted:
            if not admitted:
                return False
            start = time.monotonic()
            busy[0] += 1
            most[0] = max(most[0], busy[0])
            await asyncio.sleep(hold)
            busy[0] -= 1
            spans.append((url, start, time.monotonic()))
            return True

    async def all_of_them():
        return await asyncio.gather(*(one(url) for url in urls))

    return asyncio.run(all_of_them()), spans, most[0]


def test_a_process_lets_out_at_most_its_posts_in_flight():
    gate = Gate(max_in_flight=2, max_per_endpoint=0, wait_seconds=5)
    admitted, spans, most = _run(gate, [f"http://127.0.0.1:{9000 + n}/" for n in range(5)], 0.1)
    assert all(admitted) and len(spans) == 5
    assert most == 2


def test_one_busy_endpoint_does_not_hold_up_another():
    gate = Gate(max_in_flight=2, max_per_endpoint=1, wait_seconds=5)
    urls = ["http://127.0.0.1:9001/a"] * 3 + ["http://127.0.0.1:9002/b"]
    started = time.monotonic()
    admitted, spans, _ = _run(gate, urls, 0.2)
    assert all(admitted)
    busy = sorted(s for s in spans if s[0].endswith("/a"))
    # One at a time to the busy endpoint...
    assert all(later[1] >= earlier[2] - 0.01
               for earlier, later in zip(busy, busy[1:], strict=False))
    # ...while the other endpoint's try was let out at once.
    ((_, other_start, _),) = [s for s in spans if s[0].endswith("/b")]
    assert other_start - started < 0.1
    assert gate.endpoints_tracked == 0  # an endpoint's place goes with its last try


def test_a_try_with_no_place_within_the_wait_is_not_admitted():
    gate = Gate(max_in_flight=1, max_per_endpoint=0, wait_seconds=0.2)
    started = time.monotonic()
    admitted, _, _ = _run(gate, ["http://127.0.0.1:9001/", "http://127.0.0.1:9002/"], 0.6)
    assert admitted == [True, False]
    assert time.monotonic() - started < 1.0  # the refused one gave up after its wait
