"""The delivery path publishes its tasks by name (delivery/dispatch.py, delivery/recovery.py),
so that the modules below the tasks never import them: each name must be a task the workers
run, with the arguments it is published with."""

import inspect

from delivery import dispatch, recovery, tasks
from webhooks_project.celery import app


def test_every_published_name_is_a_registered_task():
    for name in (dispatch.DELIVER_TASK, dispatch.DRAIN_TASK, recovery.RECOVER_TASK):
        assert name in app.tasks, name


def test_the_published_arguments_fit_the_tasks():
    assert app.tasks[dispatch.DELIVER_TASK].name == tasks.deliver.name
    inspect.signature(tasks.deliver.run).bind(["d1", "d2"])
    inspect.signature(tasks.drain_webhook.run).bind("w1")
    inspect.signature(tasks.recover_deliveries.run).bind(
        "w1", "2026-01-01T00:00:00+00:00", None, None)
