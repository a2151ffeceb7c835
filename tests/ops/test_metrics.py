"""GET /metrics: the exposition parses, its figures come from the database and Redis, and it is
protected."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from delivery.models import Attempt, Delivery, DeliveryStatus
from events.models import Event
from kernel.redis import redis_client
from ops.metrics import DeliveryCollector
from tests.support.builders import organization_with_admin

pytestmark = pytest.mark.django_db


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


@pytest.fixture
def data():
    organization, _ = organization_with_admin()
    now = timezone.now()
    event = Event.objects.create(organization=organization, type="TaskReady", created_date=now,
                                 body="{}")

    def delivery(status, age_seconds=0.0):
        created = Delivery.objects.create(event=event, organization=organization,
                                          url="https://receiver.example/", status=status)
        Delivery.objects.filter(pk=created.pk).update(
            created_date=now - timedelta(seconds=age_seconds))
        return created

    oldest = delivery(DeliveryStatus.PENDING, age_seconds=120)
    delivery(DeliveryStatus.PENDING, age_seconds=10)
    done = delivery(DeliveryStatus.SUCCEEDED)
    delivery(DeliveryStatus.SUCCEEDED)
    delivery(DeliveryStatus.FAILED)
    # Four tries in the window (30 ms, 400 ms, 2 s, 20 s) and one too old to count.
    for number, ms in enumerate([30, 400, 2000, 20000], start=1):
        Attempt.objects.create(delivery=done, number=number, started_at=now, duration_ms=ms)
    Attempt.objects.create(delivery=oldest, number=1, duration_ms=5,
                           started_at=now - timedelta(seconds=7200))
    return now


def test_metrics_reports_database_figures(client, settings, data):
    settings.DEBUG, settings.METRICS_TOKEN, settings.METRICS_WINDOW_SECONDS = True, "", 3600
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = families(response.content.decode())

    by_status = samples(found["webhook_deliveries"])
    assert by_status[("webhook_deliveries", (("status", "pending"),))] == 2
    assert by_status[("webhook_deliveries", (("status", "succeeded"),))] == 2
    assert by_status[("webhook_deliveries", (("status", "failed"),))] == 1
    assert by_status[("webhook_deliveries", (("status", "cancelled"),))] == 0

    age = found["webhook_oldest_pending_delivery_age_seconds"].samples[0].value
    assert 119 <= age < 180

    histogram = samples(found["webhook_try_duration_seconds"])
    bucket = "webhook_try_duration_seconds_bucket"
    assert histogram[(bucket, (("le", "0.05"),))] == 1
    assert histogram[(bucket, (("le", "0.5"),))] == 2
    assert histogram[(bucket, (("le", "2.5"),))] == 3
    assert histogram[(bucket, (("le", "30.0"),))] == 4
    assert histogram[(bucket, (("le", "+Inf"),))] == 4
    assert histogram[("webhook_try_duration_seconds_count", ())] == 4
    assert histogram[("webhook_try_duration_seconds_sum", ())] == pytest.approx(22.43)

    depth = samples(found["webhook_queue_depth"])
    assert {labels for _, labels in depth} == {(("queue", "webhooks"),),
                                               (("queue", "webhooks-retry"),)}
    assert all(value >= 0 for value in depth.values())
    assert found["webhook_broker_up"].samples[0].value == 1


def test_the_window_setting_bounds_the_histogram(client, settings, data):
    settings.DEBUG, settings.METRICS_TOKEN, settings.METRICS_WINDOW_SECONDS = True, "", 3 * 3600
    found = families(client.get("/metrics").content.decode())
    histogram = samples(found["webhook_try_duration_seconds"])
    assert histogram[("webhook_try_duration_seconds_count", ())] == 5


def test_queue_depth_is_read_from_redis_at_scrape_time():
    client = redis_client()
    names = ("metrics-test-first", "metrics-test-retry")
    client.delete(*names, f"{names[0]}\x06\x163")
    try:
        client.rpush(names[0], "a", "b", "c")
        client.rpush(f"{names[0]}\x06\x163", "d")  # a priority-3 message of the same queue
        client.rpush(names[1], "e")
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DeliveryCollector(queues=names))
        found = families(generate_latest(registry).decode())
        depth = samples(found["webhook_queue_depth"])
        assert depth[("webhook_queue_depth", (("queue", names[0]),))] == 4
        assert depth[("webhook_queue_depth", (("queue", names[1]),))] == 1
        client.lpop(names[0])
        depth = samples(families(generate_latest(registry).decode())["webhook_queue_depth"])
        assert depth[("webhook_queue_depth", (("queue", names[0]),))] == 3
    finally:
        client.delete(*names, f"{names[0]}\x06\x163")


def test_redis_down_is_reported_not_raised(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeliveryCollector())
    found = families(generate_latest(registry).decode())
    assert found["webhook_broker_up"].samples[0].value == 0
    assert "webhook_queue_depth" not in found
    assert "webhook_deliveries" in found


def test_open_without_a_token_only_in_debug(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 403
    settings.DEBUG = True
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("debug", [True, False])
def test_a_token_is_required_once_set(client, settings, debug):
    settings.DEBUG, settings.METRICS_TOKEN = debug, "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 403
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert ok.status_code == 200
    assert "webhook_deliveries" in families(ok.content.decode())
    assert client.post("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 405
