"""SSRF, end to end: refused at save (400 naming `url`) in every address form, and refused at
send, with no connection made, when a saved webhook's name later resolves somewhere private."""

import functools
import socket

import pytest
import urllib3.util.connection

from delivery import http as delivery_http
from delivery.models import Attempt, Delivery
from kernel import ssrf
from subscriptions import services as webhook_services
from tests.security.conftest import build_universe, call

PUBLIC = "93.184.216.34"


class FakeDns:
    """A getaddrinfo stand-in whose answer the test changes, recording every lookup."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        family = socket.AF_INET6 if ":" in self.address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (self.address, port))]


@pytest.fixture
def universe(orgs):
    return build_universe(orgs["a"])


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDns(PUBLIC)
    # The save-time check and the sender both resolve through kernel.ssrf.
    monkeypatch.setattr(
        webhook_services, "resolve_destination",
        functools.partial(ssrf.resolve_destination, resolver=fake),
    )
    return fake


@pytest.fixture
def connections(monkeypatch):
    """Every outgoing HTTP connection the sender tries to open (none should be)."""
    opened = []

    def refuse(address, *args, **kwargs):
        opened.append(address)
        raise OSError("the test forbids connecting")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    return opened


@pytest.mark.parametrize("address", [
    "10.0.0.5", "169.254.169.254", "100.64.0.1", "192.168.1.1",
    "::ffff:10.0.0.5", "::ffff:169.254.169.254", "fd00::1", "fe80::1", "::1", "0.0.0.0",
])
@pytest.mark.django_db(transaction=True)  # the pipeline reads from its own thread
def test_saved_webhook_whose_dns_turns_private_fails_at_send_without_connecting(
    client, universe, dns, connections, address
):
    from delivery.pipeline import Pipeline

    key = universe.org.keys["admin"]
    created = call(client, "post", "/api/v1/webhooks", key,
                   {"url": "https://hooks.example.test/in", "triggers": ["TaskReady"]})
    assert created.status_code == 201, created.json()
    assert dns.lookups == ["hooks.example.test"]

    dns.address = address  # the name is re-pointed after it was checked and saved
    sender = delivery_http.WebhookSender(resolver=dns)
    test = call(client, "post", f"/api/v1/webhooks/{created.json()['id']}/test", key)
    try:
        Pipeline(sender).deliver({test.json()["id"]: "https://hooks.example.test/in"})
    finally:
        sender.close()

    assert connections == [], "a connection was attempted to a refused address"
    attempts = list(Attempt.objects.filter(delivery_id=test.json()["id"]))
    assert attempts and all(a.response_status is None for a in attempts)
    assert all("not a public address" in a.error and address in a.error for a in attempts)
    assert all(a.connected_address == "" for a in attempts)
    delivery = Delivery.objects.get(pk=test.json()["id"])
    assert delivery.status != "succeeded"
    detail = call(client, "get", f"/api/v1/deliveries/{delivery.pk}", key).json()
    assert "not a public address" in detail["attempts"][0]["error"]


@pytest.mark.parametrize("url", [
    "http://[::1]/hook",
    "http://[::]/hook",
    "http://[fd00::1]/hook",  # unique local
    "http://[fc00::5]/hook",
    "http://[fe80::1]/hook",  # link-local
    "http://[fec0::1]/hook",  # site-local (deprecated)
    "http://[ff02::1]/hook",  # multicast
    "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
    "http://[::ffff:169.254.169.254]/latest/meta-data",  # IPv4-mapped metadata endpoint
    "http://[::ffff:a9fe:a9fe]/latest/meta-data",  # the same, in hex
    "http://[::ffff:127.0.0.1]/hook",  # mapped loopback: the 127/8 allowance is IPv4 only
    "http://[::10.0.0.1]/hook",  # IPv4-compatible
    "http://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::1]/hook",  # 6to4 of 10.0.0.1
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",  # shared address space
    "http://224.0.0.1/hook",  # multicast
    "http://240.0.0.1/hook",  # reserved
    "http://0.0.0.0/hook",
    "http://167772161/hook",  # 10.0.0.1 as a decimal number
    "http://0x0a000001/hook",  # 10.0.0.1 in hex
])
def test_saving_an_internal_destination_is_400_naming_url(client, universe, url):
    key = universe.org.keys["admin"]
    body = {"url": url, "triggers": ["TaskReady"]}
    response = call(client, "post", "/api/v1/webhooks", key, body)
    assert response.status_code == 400, (url, response.json())
    assert "url" in response.json()["details"], response.json()
    webhook = universe.objects["Webhook"]
    replaced = call(client, "put", f"/api/v1/webhooks/{webhook.pk}", key,
                    {"url": url, "triggers": ["TaskReady"]})
    assert replaced.status_code == 400 and "url" in replaced.json()["details"]


@pytest.mark.parametrize("address", ["::ffff:169.254.169.254", "fd12:3456::1", "10.1.2.3"])
def test_saving_a_name_that_resolves_internally_is_400(client, universe, dns, address):
    dns.address = address
    response = call(client, "post", "/api/v1/webhooks", universe.org.keys["admin"],
                    {"url": "https://internal.example.test/", "triggers": ["TaskReady"]})
    assert response.status_code == 400 and "url" in response.json()["details"]
    assert address in response.json()["details"]["url"][0]
