"""The one way code reaches Redis (settings.REDIS_URL) outside Celery's broker and Django's
cache, which their own settings configure.

One client per process and URL, made on first use: its connection pool is shared by every
thread, and redis-py's pool notices a fork and opens new connections in the child, so a client
made before gunicorn or Celery forks is safe to use after. Short timeouts: every caller (flow
control, drain wake-ups, rate counters, /metrics) treats Redis as an optimisation or a report
and goes on without it, so a slow Redis must not hold a request or a worker thread for long.
Keyed by URL so that tests overriding REDIS_URL get a client for theirs.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """This process's client for settings.REDIS_URL."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
                _clients[url] = client
    return client
