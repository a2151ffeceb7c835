"""The two baselines every figure is compared with, on the same receiver:

* a bare `requests.Session` loop in one thread (keep-alive, no Celery, no database);
* a bare Celery task doing one `requests.post` (no Django, no database), run by its own worker
  process: `celery -A bench.baselines worker --pool threads`, with the same pool, concurrency
  and prefetch settings as the project's workers.

The broker is read from BENCH_REDIS_URL, so this module never imports Django.
"""

from __future__ import annotations

import os
import time

import requests
from celery import Celery

QUEUE = "bench-baseline"

# Not the current app: in the harness process the project's shared tasks must keep resolving to
# the project's app.
app = Celery("bench_baselines", set_as_current=False,
             broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"))
app.conf.update(
    task_default_queue=QUEUE,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=int(os.environ.get("CELERY_WORKER_PREFETCH_MULTIPLIER", "4")),
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": 7200},
    worker_hijack_root_logger=False,
)


@app.task(name="bench.baselines.post", acks_late=True, ignore_result=True)
def post(url: str, event_id: str, body: str) -> int:
    response = requests.post(
        url, data=body.encode(), timeout=(5, 15),
        headers={"webhook-id": event_id, "Content-Type": "application/json"},
    )
    return response.status_code


def requests_loop(url: str, count: int, body: bytes) -> tuple[float, float]:
    """POSTs `count` times over one keep-alive session; returns (start, end) wall-clock times."""
    with requests.Session() as session:
        started = time.time()
        for number in range(count):
            session.post(url, data=body, timeout=(5, 15),
                         headers={"webhook-id": f"loop-{number}",
                                  "Content-Type": "application/json"})
        return started, time.time()
