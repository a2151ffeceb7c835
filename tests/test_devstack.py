"""`make run`'s launcher: the whole system comes up, and Ctrl-C leaves no process behind."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from devtools.redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def _get_json(url: str):
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        return response.status, json.loads(response.read())


def test_devstack_serves_healthz_and_ctrl_c_stops_everything(tmp_path):
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"REDIS_URL", "TEST_REDIS_URL", "PUBLIC_BASE_URL", "WEB_BIND"}}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        WEB_PORT=str(port),
        REDIS_PORT=str(redis_port),
        WORKER_CONCURRENCY="4",
        RECEIVER_PORT=str(free_port()),
    )
    log = (tmp_path / "devstack.log").open("wb")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "devtools.devstack"], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        healthy = None
        while time.monotonic() < deadline:
            try:
                status, body = _get_json(f"http://127.0.0.1:{port}/healthz")
                if status == 200:
                    healthy = body
                    break
            except OSError:
                pass
            time.sleep(0.5)
        output = (tmp_path / "devstack.log").read_text(errors="replace")
        assert healthy is not None, output[-3000:]
        assert healthy["checks"]["worker"]["count"] >= 1
        assert "login: admin" in output
        # The ports asked for, and links that follow the web port without PUBLIC_BASE_URL.
        assert f"Redis started on redis://127.0.0.1:{redis_port}/0" in output
        assert f"Admin:    http://127.0.0.1:{port}/admin/" in output
        # The summary again once everything answers, below the processes' start-up logs.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "=== Ready ===" not in output:
            time.sleep(0.5)
            output = (tmp_path / "devstack.log").read_text(errors="replace")
        ready = output.split("=== Ready ===", 1)
        assert len(ready) == 2 and "web.1 started" in ready[0], output[-3000:]
        assert "API key:  psk_" in ready[1] and f"http://127.0.0.1:{port}/admin/" in ready[1]
        # /healthz polled from the start answered 503 until the worker was up: no ERROR.
        assert " ERROR " not in output and "[ERROR]" not in output, output[-3000:]
        # The demo's first run and record flow to the local receiver, signed.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and output.count("signature valid") < 3:
            time.sleep(0.5)
            output = (tmp_path / "devstack.log").read_text(errors="replace")
        assert "ChecklistCreated" in output and "DataSetRecordCreated" in output, output[-3000:]
        assert "INVALID" not in output
        started = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in started)
        assert "redis-server" in names and "gunicorn" in names and "celery" in names
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(launcher.pid, signal.SIGINT)
        launcher.wait(timeout=60)
        gone, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
