"""A worker's task thread keeps its database connection from one task to the next, and drops
it when Django would drop a request's: broken, past CONN_MAX_AGE, or left in a transaction.

Celery's Django fixup is driven here the way a worker drives it around every task; the
connection is the thread's own, outside any test transaction."""

import threading
import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from delivery.tasks import deliver
from webhooks_project.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _in_a_task_thread(tasks: int, before_each=None) -> list:
    """The raw connection each of `tasks` tasks found, in one thread, as a worker runs them."""
    fixup = DjangoWorkerFixup(app)
    seen: list = []

    def run() -> None:
        try:
            for _ in range(tasks):
                if before_each is not None:
                    before_each()
                fixup.on_task_prerun(sender=deliver)
                task_prerun.send(sender=deliver, task_id="t", task=deliver, args=(), kwargs={})
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                seen.append(connection.connection)
                task_postrun.send(sender=deliver, task_id="t", task=deliver, args=(), kwargs={})
                fixup.on_task_postrun(sender=deliver)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen


def test_a_task_thread_keeps_its_connection_across_tasks():
    seen = _in_a_task_thread(5)
    assert len(seen) == 5
    assert all(raw is seen[0] for raw in seen)


def test_a_connection_past_its_age_is_replaced_before_the_next_task():
    def age_out() -> None:
        if connection.connection is not None:
            connection.close_at = time.monotonic() - 1

    seen = _in_a_task_thread(3, before_each=age_out)
    assert len({id(raw) for raw in seen}) == 3


def test_a_connection_left_in_a_transaction_is_replaced_before_the_next_task():
    def leave_a_transaction_open() -> None:
        if connection.connection is not None:
            connection.set_autocommit(False)

    seen = _in_a_task_thread(3, before_each=leave_a_transaction_open)
    assert len({id(raw) for raw in seen}) == 3
