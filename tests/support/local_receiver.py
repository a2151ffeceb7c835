"""`manage.py webhook_receiver` run as a real process on a free port, its output collected."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from devtools.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]


class LocalReceiver:
    def __init__(self, *args: str, database_url: str | None = None) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if database_url:
            env["DATABASE_URL"] = database_url
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "webhook_receiver", "--port", "0", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.wait_for_line(r"Receiving webhooks on (http://\S+/)", timeout=30)
        self.url = re.search(r"(http://\S+/)", first).group(1)

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        with self._cond:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in {self.lines!r}")
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> LocalReceiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
