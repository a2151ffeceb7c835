"""GET /metrics: Prometheus exposition of the delivery system's state.

Every figure is read from the database and Redis when Prometheus scrapes, not counted in the
memory of one process, so it is right however many web and worker processes run on however many
machines; any web process can be scraped.

Protected: open when METRICS_TOKEN is empty and DEBUG is on, otherwise only with
`Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta

import redis
from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from delivery.dispatch import RETRY_QUEUE
from delivery.models import Attempt, Delivery, DeliveryStatus
from kernel.redis import redis_client

logger = logging.getLogger(__name__)

# Upper bounds, in seconds, of the try-duration histogram buckets.
TRY_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
# Kombu's Redis transport keeps a queue's messages of priority p > 0 under `<queue>\x06\x16<p>`.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


def default_queues() -> tuple[str, ...]:
    return (settings.CELERY_TASK_DEFAULT_QUEUE, RETRY_QUEUE)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


class DeliveryCollector(Collector):
    """Reads the figures at collect() time; nothing is kept between scrapes."""

    def __init__(self, queues: Iterable[str] | None = None):
        self._queues = tuple(queues) if queues is not None else None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._deliveries()
        yield self._try_durations()
        yield from self._queues_depth()

    def _deliveries(self) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "webhook_deliveries", "Deliveries stored in the database, by status.",
            labels=["status"],
        )
        counts = dict.fromkeys(DeliveryStatus.values, 0)
        for row in Delivery.objects.order_by().values("status").annotate(n=Count("pk")):
            counts[row["status"]] = row["n"]
        for status, count in counts.items():
            by_status.add_metric([status], count)
        yield by_status

        oldest = Delivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
            oldest=Min("created_date")
        )["oldest"]
        age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
        yield GaugeMetricFamily(
            "webhook_oldest_pending_delivery_age_seconds",
            "Age of the oldest pending delivery (0 when none is pending).", value=age,
        )

    def _try_durations(self) -> Metric:
        window = float(settings.METRICS_WINDOW_SECONDS)
        since = timezone.now() - timedelta(seconds=window)
        recent = Attempt.objects.filter(started_at__gte=since, duration_ms__isnull=False)
        aggregates = {
            f"le{i}": Count("pk", filter=Q(duration_ms__lte=bound * 1000))
            for i, bound in enumerate(TRY_DURATION_BUCKETS)
        }
        row = recent.order_by().aggregate(total=Count("pk"), sum_ms=Sum("duration_ms"),
                                          **aggregates)
        buckets = [(_le(bound), row[f"le{i}"]) for i, bound in enumerate(TRY_DURATION_BUCKETS)]
        buckets.append(("+Inf", row["total"]))
        return HistogramMetricFamily(
            "webhook_try_duration_seconds",
            f"Duration of the delivery tries started in the last {window:g} seconds "
            "(METRICS_WINDOW_SECONDS).",
            buckets=buckets, sum_value=(row["sum_ms"] or 0) / 1000.0,
        )

    def _queues_depth(self) -> Iterator[Metric]:
        queues = self._queues if self._queues is not None else default_queues()
        depth = GaugeMetricFamily(
            "webhook_queue_depth", "Tasks waiting in each Celery queue (Redis list length).",
            labels=["queue"],
        )
        try:
            # The broker is the Redis at REDIS_URL (settings.CELERY_BROKER_URL).
            pipe = redis_client().pipeline(transaction=False)
            for queue in queues:
                pipe.llen(queue)
                for step in _PRIORITY_STEPS:
                    pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("metrics: cannot read queue lengths from Redis: %s", exc)
            yield GaugeMetricFamily("webhook_broker_up", "Whether Redis answered.", value=0)
            return
        per_queue = len(_PRIORITY_STEPS) + 1
        for index, queue in enumerate(queues):
            depth.add_metric([queue], sum(lengths[index * per_queue:(index + 1) * per_queue]))
        yield GaugeMetricFamily("webhook_broker_up", "Whether Redis answered.", value=1)
        yield depth


registry = CollectorRegistry(auto_describe=False)
registry.register(DeliveryCollector())


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return bool(settings.DEBUG)
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


@require_GET
def metrics(request):
    if not allowed(request):
        return HttpResponseForbidden("Forbidden: send Authorization: Bearer <METRICS_TOKEN>.\n",
                                     content_type="text/plain")
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
