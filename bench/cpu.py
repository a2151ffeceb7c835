"""Where a drain run's CPU goes: the processor time of each group of processes (workers,
receiver, Redis, the bench itself) and of the whole machine, sampled every 100 ms, so that a run's
share can be cut at its last healthy arrival. Linux only (/proc); elsewhere it records nothing.

The database server is left out of the groups: PostgreSQL's backends come and go, and a process
that exits takes its count with it. What the machine used beyond the groups is its share (and
any other load on the machine's)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_seconds(pid: int) -> tuple[float, float]:
    """(user, system) processor seconds of a process, all its threads."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0, 0.0
    # utime and stime: the 14th and 15th fields, counted from the one after the command name.
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def machine_seconds() -> tuple[float, float]:
    """(busy, total) processor seconds of the whole machine since boot, all cores."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


class CpuSampler:
    """Samples every group's processor seconds in a thread until stopped."""

    def __init__(self, groups: dict[str, list[int]], interval: float = 0.1) -> None:
        self.groups = groups
        self.interval = interval
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def sample(self) -> tuple[float, dict[str, float]]:
        values = {}
        for name, pids in self.groups.items():
            times = [process_seconds(p) for p in pids]
            values[name] = sum(user + system for user, system in times)
            # Kernel time apart: threads contending for locks and the GIL show up there.
            values[name + " sys"] = sum(system for _user, system in times)
        values["machine busy"], values["machine total"] = machine_seconds()
        return time.time(), values

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.sample())

    def between(self, start: float, end: float) -> dict[str, float]:
        """Processor seconds each group used from `start` to `end` (wall clock, time.time()),
        from the samples nearest outside them; 'machine busy' as a share of all cores."""
        if not self.samples or TICKS <= 0:
            return {}
        before = [s for s in self.samples if s[0] <= start] or self.samples[:1]
        after = [s for s in self.samples if s[0] >= end] or self.samples[-1:]
        (t0, v0), (t1, v1) = before[-1], after[0]
        used = {name: v1[name] - v0[name] for name in v0}
        total = used.pop("machine total")
        used["machine busy share"] = used["machine busy"] / total if total else 0.0
        used["seconds"] = t1 - t0
        return used
