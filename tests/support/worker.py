"""A real `celery worker` process on the test database and the test session's Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

from devtools.processes import stop_process
from webhooks_project.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
DELIVERY_QUEUES = ("webhooks", "webhooks-retry")
# A queue nothing is sent to: a worker started on it alone takes no tasks until told to consume.
IDLE_QUEUE = "test-idle"


def database_url_for_workers() -> str:
    """The URL of the database pytest-django created, for processes outside this one."""
    conf = connection.settings_dict
    if "sqlite" in conf["ENGINE"]:
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    host = conf["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{conf['PORT'] or 5432}/{conf['NAME']}"


class WorkerProcess:
    def __init__(self, database_url: str, concurrency: int = 8, queues: str = "",
                 env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.extra_env = env or {}
        self.concurrency = concurrency
        self.queues = queues or ",".join(DELIVERY_QUEUES)
        self.process: subprocess.Popen | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])
        self.name = f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"

    def start(self, timeout: float = 30.0) -> WorkerProcess:
        env = dict(os.environ, DATABASE_URL=self.database_url, PYTHONUNBUFFERED="1",
                   **self.extra_env)
        args = [
            sys.executable, "-m", "celery", "-A", "webhooks_project", "worker",
            "--pool", "threads", "--concurrency", str(self.concurrency),
            "-Q", self.queues, "-n", self.name,
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            try:
                if celery_app.control.ping(destination=[self.name], timeout=0.5):
                    return self
            except Exception:  # noqa: BLE001 - a broker connection broken by a Redis restart
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker did not answer a ping in {timeout} s:\n{self.log()}")

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def consume(self, queues: tuple[str, ...] = DELIVERY_QUEUES) -> None:
        """Start taking tasks from `queues`, after dropping what earlier tests left there (their
        rows are gone)."""
        with celery_app.connection_for_write() as connection:
            for queue in queues:
                connection.default_channel.queue_purge(queue)
        for queue in queues:
            self._control("add_consumer", queue)

    def settle(self, queues: tuple[str, ...] = DELIVERY_QUEUES, timeout: float = 30.0) -> None:
        """Stop taking tasks from `queues`, revoke the ones taken but not started (retries wait
        in the worker for their time) and wait for the running ones to end: nothing of this
        worker may write while the test's data is flushed (on PostgreSQL a claim or record
        holding row locks during the flush's TRUNCATE can deadlock it)."""
        if self.process is None or self.process.poll() is not None:
            return
        for queue in queues:
            self._control("cancel_consumer", queue)
        inspect = celery_app.control.inspect(destination=[self.name], timeout=2)
        revoked: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active, reserved, scheduled = inspect.active(), inspect.reserved(), inspect.scheduled()
            if None in (active, reserved, scheduled):
                continue  # no reply in time
            waiting = {task["id"] for task in reserved.get(self.name, [])}
            waiting |= {entry["request"]["id"] for entry in scheduled.get(self.name, [])}
            if waiting - revoked:
                celery_app.control.revoke(list(waiting - revoked), destination=[self.name],
                                          reply=True, timeout=5)
                revoked |= waiting
            if not active.get(self.name) and waiting <= revoked:
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker still busy {timeout} s after its consumers were cancelled")

    def _control(self, command: str, queue: str) -> None:
        replies = getattr(celery_app.control, command)(
            queue, destination=[self.name], reply=True, timeout=5
        )
        if not replies:
            raise RuntimeError(f"{command} {queue}: no reply from {self.name}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        stop_process(self.process, timeout=timeout, sig=sig)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


class BeatProcess:
    """`celery beat`: sends the sweeper (every WEBHOOK_SWEEP_INTERVAL) and the other periodic
    tasks to the workers."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.extra_env = env or {}
        self.dir = Path(tempfile.mkdtemp(prefix="beat-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> BeatProcess:
        env = dict(os.environ, DATABASE_URL=self.database_url, PYTHONUNBUFFERED="1",
                   **self.extra_env)
        log = (self.dir / "beat.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "webhooks_project", "beat",
             "--schedule", str(self.dir / "schedule"), "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        return self

    def log(self) -> str:
        return (self.dir / "beat.log").read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        stop_process(self.process, timeout=15)
