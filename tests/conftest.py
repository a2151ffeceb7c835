"""Fixtures shared by the suite: a real Celery worker process and a real HTTP receiver."""

import pytest

from tests.support.receiver import Receiver
from tests.support.worker import WorkerProcess, database_url_for_workers


@pytest.fixture(scope="session")
def worker_process(django_db_setup, django_db_blocker):
    """One real `celery worker` (threads pool) for the session, on the test database and Redis."""
    with django_db_blocker.unblock():
        url = database_url_for_workers()
    worker = WorkerProcess(database_url=url).start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(worker_process, transactional_db):
    """A live worker; tests that use it commit their data so the worker can see it."""
    worker_process.ensure_running()
    return worker_process


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 takes a large share of a second per user on a small machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
