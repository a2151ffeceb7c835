"""WebhookSender against real local HTTP(S) servers on 127.0.0.1."""

import shutil
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from delivery.http import Post, WebhookSender, get_sender, parse_retry_after

ALLOW_LOCAL = ["127.0.0.1/32"]
BODY = b'{"event": "test"}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # no delayed-ACK stalls between header and body writes

    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self, length, chunk, pause):
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.close_connection = True
        sent = 0
        while sent < length and not self.server.release.is_set():
            self.wfile.write(chunk)
            sent += len(chunk)
            time.sleep(pause)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.seen.append((self.path, dict(self.headers), body))
        try:
            if self.path == "/ok":
                self.reply(200, b"ok", [("Set-Cookie", "session=secret")])
            elif self.path == "/fail":
                self.reply(500, b"boom", [("Retry-After", "120")])
            elif self.path == "/redirect":
                self.reply(302, headers=[("Location", "/target")])
            elif self.path == "/hang":
                self.server.release.wait(5)
                self.reply(200, b"late")
            elif self.path == "/huge":
                self.stream(50 * 1024 * 1024, b"x" * 65536, 0)
            elif self.path == "/drip":
                self.stream(1000, b"y", 0.05)
            else:
                self.reply(404, b"not found")
        except OSError:
            self.close_connection = True  # the client stopped listening, as intended


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.seen = []
        self.release = threading.Event()

    @property
    def port(self):
        return self.server_address[1]

    def url(self, path, host="127.0.0.1", scheme="http"):
        return f"{scheme}://{host}:{self.port}{path}"

    def paths(self):
        return [path for path, _, _ in self.seen]


@contextmanager
def running(server):
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server():
    with running(Server()) as srv:
        yield srv


@contextmanager
def sender_with(**options):
    client = WebhookSender(**options)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def sender():
    with sender_with() as client:
        yield client


def resolver_for(*answers):
    """getaddrinfo stand-in: call n gets answers[n] (the last repeats); a tuple is several."""
    calls = []

    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        calls.append(host)
        answer = answers[min(len(calls), len(answers)) - 1]
        addresses = answer if isinstance(answer, tuple) else (answer,)
        family_of = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family_of[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    resolve.calls = calls
    return resolve


def post(client, url, **options):
    options = {"connect_timeout": 2.0, "read_timeout": 2.0, "excerpt_bytes": 1024,
               "allowed_networks": ALLOW_LOCAL, **options}
    headers = {"Content-Type": "application/json", "Host": "spoofed.example"}
    return client.send(url, BODY, headers, **options)


def test_success(server, sender):
    result = post(sender, server.url("/ok"))
    assert (result.status_code, result.body_excerpt, result.error) == (200, "ok", "")
    assert result.connected_address == "127.0.0.1" and result.duration_ms >= 0
    assert result.headers["Content-Length"] == "2" and result.retry_after is None
    [(path, headers, body)] = server.seen
    assert (path, body) == ("/ok", BODY)
    assert headers["Host"] == f"127.0.0.1:{server.port}"  # the caller cannot override it
    assert headers["Content-Type"] == "application/json"


def test_error_status_with_retry_after(server, sender):
    result = post(sender, server.url("/fail"))
    assert (result.status_code, result.body_excerpt, result.retry_after) == (500, "boom", 120.0)
    assert result.error == ""


def test_redirect_is_not_followed(server, sender):
    result = post(sender, server.url("/redirect"))
    assert result.status_code == 302 and result.headers["Location"] == "/target"
    time.sleep(0.1)
    assert server.paths() == ["/redirect"]


def test_read_timeout(server, sender):
    result = post(sender, server.url("/hang"), read_timeout=0.3)
    assert result.status_code is None
    assert "timeout" in result.error.lower() and "0.3s" in result.error
    assert 250 <= result.duration_ms < 1500


def test_huge_body_is_capped(server, sender):
    result = post(sender, server.url("/huge"), excerpt_bytes=1000)
    assert result.status_code == 200 and result.body_excerpt == "x" * 1000
    assert result.duration_ms < 2000


def test_slow_body_is_bounded_in_total(server, sender):
    # One byte every 50 ms never trips the read timeout, but the body deadline stops us.
    result = post(sender, server.url("/drip"), read_timeout=0.5)
    assert result.status_code == 200 and result.error == ""
    assert 0 < len(result.body_excerpt) < 1000 and set(result.body_excerpt) == {"y"}
    assert result.duration_ms < 1500


def test_keep_alive_reuses_one_connection(server, sender):
    results = [post(sender, server.url("/ok")) for _ in range(4)]
    assert [r.status_code for r in results] == [200] * 4
    assert server.connections == 1 and len(server.seen) == 4
    assert all("Cookie" not in headers for _, headers, _ in server.seen)  # cookies not kept


def test_local_address_refused_without_allowance(server, sender):
    result = post(sender, server.url("/ok"), allowed_networks=[])
    assert result.status_code is None and "destination refused" in result.error
    time.sleep(0.1)
    assert server.connections == 0 and server.seen == []


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "100.64.1.1", "fd00::1",
                "fe80::1"]
)
def test_name_resolving_to_internal_address_is_refused(server, address):
    resolver = resolver_for(address)
    with sender_with(resolver=resolver) as client:
        result = post(client, server.url("/ok", host="internal.test"))
    assert result.status_code is None
    assert f"internal.test resolves to {address}" in result.error
    assert resolver.calls == ["internal.test"] and server.connections == 0


def test_dns_rebinding_has_no_window(server, monkeypatch):
    lookups = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    # The first answer passes the check; any later lookup would point at the metadata service.
    resolver = resolver_for("127.0.0.1", "169.254.169.254")
    with sender_with(resolver=resolver) as client:
        first = post(client, server.url("/ok", host="rebind.test"))
        assert first.status_code == 200 and first.connected_address == "127.0.0.1"
        # The socket layer only ever saw the checked address, never the name.
        assert resolver.calls == ["rebind.test"] and "rebind.test" not in lookups
        assert server.seen[0][1]["Host"] == f"rebind.test:{server.port}"
        # A new answer is checked on the next send, even with a pooled connection at hand.
        second = post(client, server.url("/ok", host="rebind.test"))
    assert second.status_code is None and "169.254.169.254" in second.error
    assert resolver.calls == ["rebind.test"] * 2 and len(server.seen) == 1


def test_connection_refused(sender):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = post(sender, f"http://127.0.0.1:{port}/")
    assert result.status_code is None and "refused" in result.error.lower()
    assert result.connected_address == "127.0.0.1"


def test_next_address_is_tried_when_connecting_fails(server):
    # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1 only).
    with sender_with(resolver=resolver_for(("127.0.0.2", "127.0.0.1"))) as client:
        url = server.url("/ok", host="multi.test")
        result = post(client, url, allowed_networks=["127.0.0.0/8"])
    assert result.status_code == 200 and result.connected_address == "127.0.0.1"


def test_parse_retry_after():
    now = time.time()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90, 1)
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now=now) == 0.0
    assert [parse_retry_after(v) for v in (None, "", "soon", "-5", "1e9")] == [None] * 5


def test_get_sender_is_one_per_process_and_usable_from_any_thread(server):
    mine = get_sender()
    assert get_sender() is mine
    others = []

    def from_another_thread():
        others.append((get_sender(), post(get_sender(), server.url("/ok"))))

    worker = threading.Thread(target=from_another_thread)
    worker.start()
    worker.join()
    assert others[0][0] is mine and others[0][1].status_code == 200


def test_send_many_keeps_the_order_and_each_result(server, sender):
    posts = [Post(server.url(path), BODY, {}) for path in ("/ok", "/fail", "/redirect", "/ok")]
    results = sender.send_many(posts, connect_timeout=2.0, read_timeout=2.0, excerpt_bytes=1024,
                               allowed_networks=ALLOW_LOCAL)
    assert [r.status_code for r in results] == [200, 500, 302, 200]
    assert sorted(path for path, _, _ in server.seen) == ["/fail", "/ok", "/ok", "/redirect"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (d / "ext.cnf").write_text(
        "subjectAltName=DNS:pinned.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    for command in (
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Test CA",
         "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign"],
        ["req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=pinned.test"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf"],
    ):
        subprocess.run(["openssl", *command], cwd=d, check=True, capture_output=True)
    return d


@pytest.fixture
def tls_server(certificates):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    server = Server()
    server.sni = []
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with running(server) as srv:
        yield srv


def test_https_uses_original_host_for_sni_and_certificate(tls_server, certificates):
    url = tls_server.url("/ok", host="pinned.test", scheme="https")
    with sender_with(resolver=resolver_for("127.0.0.1"),
                     ca_bundle=str(certificates / "ca.pem")) as client:
        results = [post(client, url) for _ in range(2)]
    assert [r.status_code for r in results] == [200, 200], results[0].error
    assert tls_server.sni == ["pinned.test"] and tls_server.connections == 1
    assert tls_server.seen[0][1]["Host"] == f"pinned.test:{tls_server.port}"


def test_https_rejects_certificate_for_another_host(tls_server, certificates):
    url = tls_server.url("/ok", host="other.test", scheme="https")
    with sender_with(resolver=resolver_for("127.0.0.1"),
                     ca_bundle=str(certificates / "ca.pem")) as client:
        result = post(client, url)
    assert result.status_code is None and result.error.startswith("TLS error")
    assert "other.test" in result.error and tls_server.seen == []


def test_https_rejects_untrusted_certificate(tls_server):
    with sender_with(resolver=resolver_for("127.0.0.1")) as client:
        result = post(client, tls_server.url("/ok", host="pinned.test", scheme="https"))
    assert result.status_code is None and "certificate verify failed" in result.error
