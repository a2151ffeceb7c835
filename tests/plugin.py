"""Starts the test session's own Redis before Django reads its settings, and stops it at the end.

It also sets the environment the tests (and the worker processes they start) share: short retry
delays and 127.0.0.1 allowed as a webhook destination, for the local receivers.

Loaded with `-p tests.redis_plugin` (pyproject addopts) so that it runs before pytest-django
configures Django: REDIS_URL must be in the environment by then. Tests never touch a developer's
Redis.
"""

import os
import tempfile
from pathlib import Path

import pytest

from devtools.redis_server import RedisServer

_server: RedisServer | None = None

TEST_ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "webhooks_project.settings",
    "DEBUG": "true",
    "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "WEBHOOK_RETRY_DELAYS": "0.2,0.4",
    "WEBHOOK_RETRY_JITTER": "0",
    "WEBHOOK_CONNECT_TIMEOUT": "2",
    "WEBHOOK_READ_TIMEOUT": "2",
    "WEBHOOK_SWEEP_GRACE": "1",
    "WEBHOOK_SWEEP_INTERVAL": "1",
    "WEBHOOK_TRY_LEASE_MARGIN": "1",
    "WEBHOOK_BATCH_SIZE": "2",
    "PUBLIC_BASE_URL": "http://testserver",
    # Tests count the tasks a worker ran from its log lines.
    "TASK_LOG_LEVEL": "INFO",
    # Many tests send wrong keys from 127.0.0.1; tests/security/test_limits.py sets its own rate.
    "API_KEY_FAILURE_RATE": "100000/min",
}


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _server
    for name, value in TEST_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if os.environ.get("TEST_REDIS_URL"):
        os.environ["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
        return
    _server = RedisServer(data_dir=Path(tempfile.mkdtemp(prefix="test-redis-"))).start()
    os.environ["REDIS_URL"] = _server.url
    os.environ["TEST_REDIS_URL"] = _server.url


def pytest_unconfigure(config):
    if _server is not None:
        _server.stop()
        os.environ.pop("TEST_REDIS_URL", None)


def session_redis() -> RedisServer | None:
    """The Redis this test session started (None when TEST_REDIS_URL was given)."""
    return _server
