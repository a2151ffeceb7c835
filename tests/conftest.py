"""Fixtures shared by the suite: two organizations with members and API keys, a real Celery
worker process and a real HTTP receiver."""

import pytest

from tests.support.builders import Org, organization_with_members
from tests.support.receiver import Receiver
from tests.support.worker import IDLE_QUEUE, WorkerProcess, database_url_for_workers


@pytest.fixture
def orgs(db) -> dict[str, Org]:
    """Organizations "a" and "b", each with an Admin, a Member and a Guest who have API keys."""
    return {"a": organization_with_members("a"), "b": organization_with_members("b")}


@pytest.fixture(scope="session")
def worker_process(django_db_setup, django_db_blocker):
    """One real `celery worker` (threads pool) for the session, on the test database and Redis.

    It takes delivery tasks only while a test holds the `worker` fixture: a test without it
    still enqueues (its events' deliveries), and a worker running those during the flush that
    ends the test could deadlock it."""
    with django_db_blocker.unblock():
        url = database_url_for_workers()
    worker = WorkerProcess(database_url=url, queues=IDLE_QUEUE).start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(worker_process, transactional_db):
    """A live worker; tests that use it commit their data so the worker can see it."""
    worker_process.ensure_running()
    worker_process.consume()
    yield worker_process
    worker_process.settle()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The default PBKDF2 takes a large share of a second per user on a small machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
