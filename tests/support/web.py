"""A real gunicorn, started as the Procfile starts it (its config file, access log on), on the
test database, bound to 127.0.0.1 on a free port. Its output (access and error logs, and
Django's own logging at DEBUG) goes to one file the tests read."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class GunicornServer:
    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="gunicorn-", suffix=".log")[1])
        self.url = ""

    def __enter__(self) -> GunicornServer:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PYTHONUNBUFFERED": "1",
               "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "plain", **self.extra_env}
        args = [
            sys.executable, "-m", "gunicorn", "webhooks_project.wsgi",
            "-c", "python:webhooks_project.gunicorn_conf", "--bind", "127.0.0.1:0",
            "--workers", "1", "--threads", "2", "--timeout", "30",
            "--access-logfile", "-", "--error-logfile", "-", "--log-level", "debug",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", self.log())
            if found and "Booting worker" in self.log():
                self.url = found.group(1)
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start:\n{self.log()[-3000:]}")

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
