"""The processes a benchmark run starts and stops itself: Redis, the receiver, a fresh database,
the project's Celery workers and the baseline's Celery worker."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from devtools.processes import stop_process
from devtools.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class PoolConfig:
    workers: int = 2
    pool: str = "threads"
    concurrency: int = 32
    prefetch: int = 4

    def describe(self) -> str:
        return (f"{self.workers} worker process(es) x --pool {self.pool} --concurrency "
                f"{self.concurrency}, prefetch multiplier {self.prefetch}")


class ReceiverProcess:
    def __init__(self, log_dir: Path, slow_delay: float = 2.0) -> None:
        self.log_path = log_dir / "receiver.log"
        self.slow_delay = slow_delay
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._session = requests.Session()

    def start(self) -> ReceiverProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", "--port", "0",
             "--slow-delay", str(self.slow_delay)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log_path.open("ab"),
            stdin=subprocess.DEVNULL, text=True,
        )
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self) -> int:
        return self._session.get(self.base_url + "/_count", timeout=10).json()["count"]

    def drain(self) -> list[tuple[float, str, str]]:
        return [tuple(a) for a in self._session.get(self.base_url + "/_drain", timeout=30).json()]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count() >= count:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._session.close()
        stop_process(self.process, timeout=20.0)


@dataclass
class CeleryWorkers:
    """`count` worker processes of one Celery app, started and pinged."""

    app_module: str
    queues: str
    env: dict[str, str]
    config: PoolConfig
    log_dir: Path
    label: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def start(self, control_app, timeout: float = 60.0) -> CeleryWorkers:
        for number in range(self.config.workers):
            name = f"bench-{self.label}-{number}-{os.getpid()}@localhost"
            log = (self.log_dir / f"worker-{self.label}-{number}.log").open("ab")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", self.app_module, "worker",
                 "--pool", self.config.pool, "--concurrency", str(self.config.concurrency),
                 "--prefetch-multiplier", str(self.config.prefetch),
                 "-Q", self.queues, "-n", name, "--without-gossip", "--without-mingle",
                 "--without-heartbeat", "--loglevel", "INFO"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            ))
            self.names.append(name)
        deadline = time.monotonic() + timeout
        waiting = set(self.names)
        while waiting and time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{self.label} worker exited early; see {self.log_dir}")
            for reply in control_app.control.ping(destination=list(waiting), timeout=0.5):
                waiting -= set(reply)
        if waiting:
            self.stop()
            raise RuntimeError(f"{self.label} workers did not answer a ping: {waiting}")
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            stop_process(process, timeout=20.0)


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'bench.sqlite3'}"


def child_environment(database_url: str, redis_url: str, baseline_redis_url: str,
                      config: PoolConfig) -> dict[str, str]:
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="webhooks_project.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        BENCH_REDIS_URL=baseline_redis_url,
        WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
        WEBHOOK_MAX_PER_ORGANIZATION="50",
        CELERY_WORKER_PREFETCH_MULTIPLIER=str(config.prefetch),
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-" + secrets.token_urlsafe(32),
        PYTHONUNBUFFERED="1",
    )


def migrate(env: dict[str, str], log_dir: Path) -> None:
    with (log_dir / "migrate.log").open("ab") as log:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True, timeout=300)


__all__ = ["CeleryWorkers", "PoolConfig", "ReceiverProcess", "RedisServer", "child_environment",
           "migrate", "sqlite_url"]
