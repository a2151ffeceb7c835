import gc
import os

from celery import Celery
from celery.signals import task_prerun, worker_ready

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


@task_prerun.connect
def check_the_thread_connection(sender=None, **kwargs) -> None:
    """What Django does at the start of a request, at the start of a task: the thread's database
    connection is closed if it is broken, past CONN_MAX_AGE or left in a transaction, and kept
    otherwise (settings.CELERY_DB_REUSE_MAX stops Celery from closing it every time)."""
    from django.db import close_old_connections

    if sender is not None and getattr(sender.request, "is_eager", False):
        return  # run in the caller's thread, inside the caller's transaction
    close_old_connections()
