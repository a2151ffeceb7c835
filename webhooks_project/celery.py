import gc
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webhooks_project.settings")

app = Celery("webhooks_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def freeze_startup_objects(**kwargs) -> None:
    """The objects a worker holds from its start (Django, the app, the models) live as long as
    it does: kept out of the collector's full passes, which otherwise walk them all while every
    thread waits, one of them perhaps inside the database's write lock."""
    gc.collect()
    gc.freeze()
