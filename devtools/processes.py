"""Child processes of the tests, the benchmarks and `make run`: stopping one, and starting
gunicorn as the Procfile does, on 127.0.0.1 and a free port."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")


def stop_process(process: subprocess.Popen | None, timeout: float = 10.0,
                 sig: int = signal.SIGTERM) -> None:
    """Sends `sig` and waits up to `timeout` seconds for the process to end; kills it then."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_gunicorn(log_path: Path, env: dict[str, str], args: list[str],
                   ready: Callable[[str], bool], timeout: float
                   ) -> tuple[subprocess.Popen, str]:
    """gunicorn with the project's config file, bound to 127.0.0.1 on a free port, its output
    appended to `log_path`; `args` adds to the command line. Returns the process and its URL
    once `ready(log)` holds, or raises (the process stopped) when it does not in time."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "webhooks_project.wsgi",
             "-c", "python:webhooks_project.gunicorn_conf", "--bind", "127.0.0.1:0", *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = _LISTENING.search(text)
        if found and ready(text):
            return process, found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
