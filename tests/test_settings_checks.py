"""Settings come from the environment; unsafe ones are caught by Django system checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_deploy_check_warns_about_unsafe_production_settings():
    result = manage(
        "check", "--deploy", DEBUG="false", SECRET_KEY="x" * 60, ALLOWED_HOSTS="*",
        WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/8", DATABASE_URL="sqlite:////tmp/check.sqlite3",
    )
    output = result.stdout + result.stderr
    assert "webhooks.W001" in output and "webhooks.W003" in output and "webhooks.W002" in output


def test_retry_delays_longer_than_the_visibility_timeout_are_an_error():
    result = manage("check", WEBHOOK_RETRY_DELAYS="30,7000", CELERY_VISIBILITY_TIMEOUT="7200")
    assert result.returncode != 0
    assert "webhooks.E002" in result.stderr


def test_defaults_pass_the_checks():
    result = manage("check")
    assert result.returncode == 0, result.stderr
