import gc
import os

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webhooks_project.settings")

app = Celery("webhooks_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def freeze_startup_objects(**kwargs) -> None:
    """The objects a worker holds from its start (Django, the app, the models) live as long as
    it does: kept out of the collector's full passes, which otherwise walk them all while every
    thread waits, one of them perhaps inside the database's write lock (bench/README.md)."""
    gc.collect()
    gc.freeze()


_heartbeat = None


@worker_ready.connect
def start_node_heartbeat(sender=None, **kwargs) -> None:
    global _heartbeat
    from django.conf import settings

    from delivery.balance import NodeHeartbeat

    if settings.WEBHOOK_BALANCE_BATCHES:
        _heartbeat = NodeHeartbeat(sender.hostname).start()


@worker_shutdown.connect
def stop_node_heartbeat(**kwargs) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
