"""`manage.py webhook_receiver` as a developer runs it: a real process that verifies with the
local database's webhook secrets and any --secret, prints one line per request, and fails
clearly on a busy port."""

import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from delivery.models import DeliveryStatus
from delivery.services import send_test
from kernel.signing import generate_secret
from subscriptions.services import create_webhook
from tests.delivery.helpers import wait_for_delivery
from tests.support.builders import organization_with_admin
from tests.support.local_receiver import ROOT, LocalReceiver
from tests.support.worker import database_url_for_workers


def post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def signed(secret: str, body: bytes, msg_id: str = "msg_1") -> dict:
    from datetime import UTC, datetime

    now = datetime.now(tz=UTC)
    signature = StandardWebhook(secret).sign(msg_id, now, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


@pytest.mark.integration
def test_verifies_real_deliveries_with_every_webhook_secret_in_the_database(worker):
    organization, membership = organization_with_admin()
    with LocalReceiver("--show-body", database_url=database_url_for_workers()) as local:
        first, _ = create_webhook(organization, {
            "name": "First", "url": local.url + "first", "triggers": ["TaskReady"]})
        second, _ = create_webhook(organization, {
            "name": "Second", "url": local.url + "second", "triggers": ["DataSetRecordCreated"]})
        for webhook, event_type in ((first, "TaskApproved"), (second, "DataSetRecordCreated")):
            delivery = wait_for_delivery(send_test(webhook, event_type).id,
                                         DeliveryStatus.SUCCEEDED)
            line = local.wait_for_line(rf"POST /{webhook.name.lower()} ")
            assert f"{event_type} (test) id={delivery.event_id}" in line
            assert f"signature valid (webhook {webhook.name} ({webhook.id}))" in line
            assert line.endswith("answering 200")
        local.wait_for_line(r'^\s+"type": "DataSetRecordCreated",')  # --show-body


def test_secrets_given_on_the_command_line_and_what_is_not_verified():
    one, two = generate_secret(), generate_secret()
    with LocalReceiver("--no-database", "--secret", one, "--secret", two) as local:
        body = b'{"id":"evt_1","type":"TaskReady","data":{}}'
        assert post(local.url + "hooks/a", body, signed(two, body, "evt_1")) == 200
        line = local.wait_for_line(r"#1 ")
        assert line == ("#1 POST /hooks/a TaskReady id=evt_1 signature valid (--secret); "
                        "answering 200")
        assert post(local.url + "b", body, signed(generate_secret(), body)) == 200
        assert "signature INVALID (" in local.wait_for_line(r"#2 POST /b ")
        assert post(local.url + "c", body, {"content-type": "application/json"}) == 200
        assert "INVALID (no webhook-signature header)" in local.wait_for_line(r"#3 POST /c ")
        request = urllib.request.Request(local.url + "d", method="GET")
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == 405
        assert local.wait_for_line(r"#4 GET /d ").endswith("answering 405")


def test_busy_port_is_a_one_line_error_with_exit_status_2():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "manage.py", "webhook_receiver", "--port", str(port),
             "--no-database"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, done.stderr
    assert f"Port {port} on 127.0.0.1 is already in use" in errors[0]
    assert "Traceback" not in done.stderr
