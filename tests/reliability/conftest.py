"""Fault injection with real processes: tests here start, kill and restart their own workers,
a beat process (the sweeper) and the session's Redis."""

import contextlib

import pytest

from tests.plugin import session_redis
from tests.support.worker import BeatProcess, WorkerProcess, database_url_for_workers
from webhooks_project.celery import app as celery_app


@pytest.fixture
def stack(worker_process, transactional_db, django_db_blocker):
    """Replaces the session worker with workers of the test's own, plus beat; restores after."""
    worker_process.stop()
    started: list = []

    class Stack:
        redis = session_redis()

        def worker(self, **env) -> WorkerProcess:
            process = WorkerProcess(
                database_url_for_workers(), concurrency=int(env.pop("concurrency", 8)),
                queues=env.pop("queues", ""), env={k: str(v) for k, v in env.items()},
            ).start()
            started.append(process)
            return process

        def beat(self, **env) -> BeatProcess:
            process = BeatProcess(database_url_for_workers(),
                                  env={k: str(v) for k, v in env.items()}).start()
            started.append(process)
            return process

        def restart_redis(self) -> None:
            """Stop and start the broker on the same port; its data is lost (no persistence)."""
            self.redis.stop()
            self.redis.start()

    if session_redis() is None:
        pytest.skip("needs the session's own Redis (TEST_REDIS_URL was given)")
    try:
        yield Stack()
    finally:
        for process in reversed(started):
            with contextlib.suppress(Exception):
                process.stop()
        # Tasks the test left behind (drains, retries, requeued at shutdown) belong to data the
        # flush is about to delete: a worker running them during the flush could deadlock it.
        with contextlib.suppress(Exception), celery_app.connection_for_write() as connection:
            for queue in ("webhooks", "webhooks-retry"):
                connection.default_channel.queue_purge(queue)
        if session_redis().process is None or session_redis().process.poll() is not None:
            session_redis().start()
        worker_process.ensure_running()
