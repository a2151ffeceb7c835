"""`make run`'s ports and links (devtools.devstack.configure_ports, PUBLIC_BASE_URL in
settings) and /healthz answering 503 without an ERROR line."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.devstack import PortError, configure_ports

ROOT = Path(__file__).resolve().parent.parent


def test_web_port_sets_the_bind_and_the_links():
    env = configure_ports({"WEB_PORT": "8080"})
    assert env["WEB_BIND"] == "127.0.0.1:8080"
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8080"
    env = configure_ports({"WEB_BIND": "0.0.0.0:9000"})
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:9000"
    env = configure_ports({"WEB_BIND": "localhost:9001"})
    assert env["PUBLIC_BASE_URL"] == "http://localhost:9001"
    env = configure_ports({"WEB_PORT": "8080", "PUBLIC_BASE_URL": "https://hooks.example"})
    assert env["PUBLIC_BASE_URL"] == "https://hooks.example"
    assert configure_ports({})["WEB_BIND"] == "127.0.0.1:8000"


@pytest.mark.parametrize("env, message", [
    ({"WEB_PORT": "eighty"}, "WEB_PORT='eighty' is not a port number"),
    ({"WEB_PORT": "70000"}, "is not a port number"),
    ({"WEB_PORT": "8080", "WEB_BIND": "127.0.0.1:8081"}, "not both"),
    ({"RECEIVER_PORT": "-1"}, "RECEIVER_PORT='-1'"),
])
def test_bad_ports_are_named(env, message):
    with pytest.raises(PortError, match=message):
        configure_ports(env)


def test_settings_derive_the_public_url_from_web_bind():
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_BASE_URL"}
    env["WEB_BIND"] = "0.0.0.0:8123"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
         " print(settings.PUBLIC_BASE_URL)"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    ).stdout
    assert out.strip() == "http://127.0.0.1:8123"


@pytest.mark.parametrize("variable", ["REDIS_PORT", "WEB_PORT", "RECEIVER_PORT"])
def test_a_busy_port_stops_make_run_before_it_starts_anything(variable, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items()
               if k not in {"REDIS_URL", "TEST_REDIS_URL", "WEB_BIND"}}
        env.update({variable: str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"})
        done = subprocess.run([sys.executable, "-m", "devtools.devstack"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert str(port) in done.stderr and "already in use" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "db").exists()


def test_healthz_503_is_a_warning_not_an_error(client, db, caplog, monkeypatch):
    from webhooks_project.celery import app

    # A broker nothing listens on (port 1), as while Redis is still starting: a real 503.
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    caplog.set_level(logging.INFO)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    warnings = [r for r in caplog.records if r.name == "ops.service_health"]
    assert warnings and warnings[0].levelno == logging.WARNING
