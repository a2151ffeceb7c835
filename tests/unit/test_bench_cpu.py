"""The bench's processor-time accounting (bench/cpu.py, bench/scenarios.cpu_per_delivery)."""

from __future__ import annotations

import os
import sys
import time

import pytest

from bench.cpu import CpuSampler, machine_seconds, process_seconds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _spin(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def test_process_seconds_counts_this_process_work():
    before = sum(process_seconds(os.getpid()))
    _spin(0.3)
    after = sum(process_seconds(os.getpid()))
    assert 0.2 <= after - before <= 1.0
    assert process_seconds(2**22 + 7) == (0.0, 0.0)  # no such process: nothing, no error


def test_sampler_cuts_a_window_between_samples():
    with CpuSampler({"me": [os.getpid()]}, interval=0.05) as cpu:
        time.sleep(0.2)
        started = time.time()
        _spin(0.3)
        ended = time.time()
        time.sleep(0.2)
    used = cpu.between(started, ended)
    # The window is widened to the samples just outside it: at most one interval each side.
    assert 0.25 <= used["me"] <= 0.3 + 0.2
    assert used["me sys"] <= used["me"]
    assert 0 < used["machine busy share"] <= 1
    assert used["seconds"] >= ended - started
    busy, total = machine_seconds()
    assert 0 < busy < total


def test_cpu_per_delivery_divides_by_the_counted_deliveries():
    from bench.scenarios import cpu_per_delivery

    used = {"workers": 2.0, "workers sys": 0.5, "machine busy": 3.0,
            "machine busy share": 0.75, "seconds": 2.0}
    assert cpu_per_delivery(used, 1000) == {
        "workers": 2.0, "workers sys": 0.5, "machine busy": 3.0, "machine busy share": 0.75}
    assert cpu_per_delivery({}, 10) == {}
