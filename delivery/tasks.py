"""Celery tasks of the delivery app."""

from celery import shared_task
from django.utils import timezone

from delivery.models import WorkerHeartbeat


@shared_task(bind=True, name="delivery.tasks.record_heartbeat")
def record_heartbeat(self) -> str:
    """Sent by beat; the row it writes shows which workers are alive and that beat runs."""
    hostname = self.request.hostname or "unknown"
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen": timezone.now()}
    )
    return hostname
