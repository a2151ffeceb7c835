"""A real gunicorn, started as the Procfile starts it (its config file, access log on), on the
test database, bound to 127.0.0.1 on a free port. Its output (access and error logs, and
Django's own logging at DEBUG) goes to one file the tests read."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from devtools.processes import start_gunicorn, stop_process


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
        self.process, self.url = start_gunicorn(
            self.log_path, env,
            ["--workers", "1", "--threads", "2", "--timeout", "30", "--access-logfile", "-",
             "--error-logfile", "-", "--log-level", "debug"],
            ready=lambda log: "Booting worker" in log, timeout=30)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process, timeout=15)
