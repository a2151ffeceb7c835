"""The frame end to end: a task enqueued here runs in a real worker against the real Redis."""

import time

import pytest
from django.db import connection
from django.test import override_settings

from delivery.models import WorkerHeartbeat
from delivery.tasks import record_heartbeat

pytestmark = pytest.mark.integration


def test_task_runs_in_a_real_worker_and_writes_a_row(worker):
    assert not WorkerHeartbeat.objects.exists()
    record_heartbeat.delay()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not WorkerHeartbeat.objects.exists():
        time.sleep(0.1)
    beat = WorkerHeartbeat.objects.get()
    assert beat.hostname == worker.name
    assert worker.process.pid != __import__("os").getpid()


def test_healthz_reports_database_broker_and_worker(worker, client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert worker.name in body["checks"]["worker"]["names"]


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client):
    with override_settings():
        from webhooks_project.celery import app

        original = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        try:
            response = client.get("/healthz")
        finally:
            app.conf.broker_url = original
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert connection.vendor in {"sqlite", "postgresql"}
