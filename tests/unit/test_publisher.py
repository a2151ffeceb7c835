"""The publisher thread runs wake-ups in order, off the caller's thread, and survives a
failing one."""

import threading

from delivery.publisher import BackgroundPublisher


def test_jobs_run_in_order_on_another_thread_and_a_failure_does_not_stop_it():
    publisher = BackgroundPublisher()
    ran: list[tuple[int, str]] = []

    def job(number: int):
        return lambda: ran.append((number, threading.current_thread().name))

    def failing():
        raise RuntimeError("Redis down")

    publisher.submit(job(1))
    publisher.submit(failing)
    publisher.submit(job(2))
    assert publisher.flush(timeout=5)
    assert [n for n, _ in ran] == [1, 2]
    assert {name for _, name in ran} == {"webhook-publisher"}


def test_flush_without_any_job_returns_at_once():
    assert BackgroundPublisher().flush(timeout=0.1)
