"""The HTTP client that POSTs deliveries to webhook URLs.

Every worker process sends from one asyncio event loop (its own thread), on aiohttp's keep-alive
connections: many POSTs are in flight side by side without a thread each, so sending many at
once does not cost the interpreter a hand-over of the GIL at every system call. The delivery
pipeline awaits `WebhookSender.post` on that loop; other callers use `send` or `send_many`.

The host is resolved and checked once (`resolve_destination`) and the connection goes to one of
those checked addresses, so DNS cannot answer differently a moment later (rebinding), while the
Host header, TLS SNI and certificate verification still use the original host name. Redirects
are never followed: a 3xx could point anywhere, internal addresses included.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from urllib.parse import urlsplit

import aiohttp

from kernel.ssrf import IPNetwork, Resolver, UnsafeDestination, resolve_destination

_MAX_ADDRESS_ATTEMPTS = 3
_READ_CHUNK = 65536
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}(\.[0-9]+)?")
_NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, ssl.SSLError, OSError, ValueError)


@dataclass
class SendResult:
    """What one try got back. `status_code` is None exactly when no HTTP response arrived, and
    `error` then says why; once a status arrived, a failure while reading the body is not an
    error (the excerpt is just shorter)."""

    status_code: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str = ""
    error: str = ""
    duration_ms: int = 0
    retry_after: float | None = None
    connected_address: str = ""
    started_at: float = 0.0  # wall clock (time.time()) when the POST started


@dataclass(frozen=True)
class Post:
    """One POST for `send_many`."""

    url: str
    body: bytes
    headers: Mapping[str, str]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait according to a Retry-After header (delta-seconds or an HTTP-date)."""
    value = (value or "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP-dates are always GMT
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _is_connect_failure(exc: BaseException) -> bool:
    # The connection was never made (refused, unreachable, timed out): the next address may do.
    if isinstance(exc, aiohttp.ClientSSLError):
        return False
    return isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _describe(exc: BaseException, where: str, connect_timeout: float, read_timeout: float) -> str:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"connect timeout: no connection to {where} within {connect_timeout:g}s"
    if isinstance(exc, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        return f"read timeout: no response from {where} within {read_timeout:g}s"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        cause = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
        return f"TLS error with {where}: {cause}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        errno = getattr(exc.os_error, "errno", None)
        detail = os.strerror(errno) if errno else str(exc.os_error)
        return f"could not connect to {where}: {detail}"
    return f"request to {where} failed: {exc or type(exc).__name__}"


_loop_lock = threading.Lock()
_loop_state: tuple[int, asyncio.AbstractEventLoop] | None = None


def _event_loop() -> asyncio.AbstractEventLoop:
    """The process's sending loop, started on first use (again in a forked child)."""
    global _loop_state
    with _loop_lock:
        if _loop_state is None or _loop_state[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="webhook-send", daemon=True).start()
            _loop_state = (os.getpid(), loop)
        return _loop_state[1]


class WebhookSender:
    """Sends webhook POSTs from the process's event loop, reusing keep-alive connections per
    destination. Safe to call from any thread. It sends each POST at once: how many go out
    together is decided before a try is claimed (delivery/flow.py), never by a queue here,
    so a claimed try's lease is spent on its POST and not on a wait."""

    def __init__(
        self, *, ca_bundle: str | None = None, resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self._resolver = resolver
        self._tls = ssl.create_default_context(cafile=ca_bundle)
        self._loop = _event_loop()
        self._session: aiohttp.ClientSession = self._run(self._open())

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    async def _open(self) -> aiohttp.ClientSession:
        # The pool is keyed by address, port, TLS context and server name, so a connection made
        # for one host name is never reused for another that resolves to the same address.
        connector = aiohttp.TCPConnector(limit=0, ssl=self._tls, use_dns_cache=False)
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            trust_env=False, headers={"Accept-Encoding": "identity"},
        )

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        self._run(self._session.close())

    def send(self, url: str, body: bytes, headers: Mapping[str, str], **options) -> SendResult:
        """POST `body` to `url` (options as for `send_many`). Never raises for network or
        destination problems."""
        return self.send_many([Post(url, body, headers)], **options)[0]

    def send_many(
        self, posts: Sequence[Post], *, connect_timeout: float, read_timeout: float,
        excerpt_bytes: int, allowed_networks: Iterable[str | IPNetwork],
    ) -> list[SendResult]:
        """POSTs side by side; results in the order of `posts`."""
        allowed = list(allowed_networks)

        async def all_of_them() -> list[SendResult]:
            return await asyncio.gather(*(
                self.post(p, connect_timeout=connect_timeout, read_timeout=read_timeout,
                          excerpt_bytes=excerpt_bytes, allowed_networks=allowed)
                for p in posts))

        return self._run(all_of_them()) if posts else []

    async def _destination(self, url: str, allowed: list):
        host = urlsplit(url).hostname or ""
        try:
            ipaddress.ip_address(host)
        except ValueError:  # a name: resolving it blocks, so not on the loop
            return await self._loop.run_in_executor(
                None, resolve_destination, url, allowed, self._resolver)
        return resolve_destination(url, allowed, self._resolver)

    async def post(self, post: Post, *, connect_timeout: float, read_timeout: float,
                   excerpt_bytes: int, allowed_networks: list) -> SendResult:
        """One POST, awaited on this sender's loop. Never raises for network or destination
        problems."""
        started, wall = time.monotonic(), time.time()
        try:
            dest = await self._destination(post.url, allowed_networks)
        except UnsafeDestination as exc:
            return _failure(started, wall, str(exc), "")
        return await self._post(dest, post, connect_timeout, read_timeout, excerpt_bytes,
                                started, wall)

    async def _post(self, dest, post: Post, connect_timeout: float, read_timeout: float,
                    excerpt_bytes: int, started: float, wall: float) -> SendResult:
        merged = {k: v for k, v in post.headers.items() if k.lower() != "host"}
        merged["Host"] = dest.host_header
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout,
                                        sock_read=read_timeout)
        server_name = dest.host.rstrip(".") if dest.scheme == "https" else None
        error = address = ""
        for address in dest.addresses[:_MAX_ADDRESS_ATTEMPTS]:
            try:
                response = await self._session.post(
                    dest.url_for(address), data=post.body, headers=merged,
                    allow_redirects=False, timeout=timeout, server_hostname=server_name)
            except _NETWORK_ERRORS as exc:
                where = f"{address}:{dest.port}"
                where = where if dest.host == address else f"{dest.host} ({where})"
                error = _describe(exc, where, connect_timeout, read_timeout)
                if _is_connect_failure(exc):
                    continue
                break
            excerpt = await _read_excerpt(response, excerpt_bytes,
                                          time.monotonic() + read_timeout)
            return SendResult(
                status_code=response.status,
                headers=dict(response.headers),
                body_excerpt=excerpt.decode("utf-8", errors="replace"),
                duration_ms=int((time.monotonic() - started) * 1000),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                connected_address=address,
                started_at=wall,
            )
        return _failure(started, wall, error, address)


def _failure(started: float, wall: float, error: str, address: str) -> SendResult:
    elapsed = int((time.monotonic() - started) * 1000)
    return SendResult(None, error=error, duration_ms=elapsed, connected_address=address,
                      started_at=wall)


async def _read_excerpt(response: aiohttp.ClientResponse, limit: int, deadline: float) -> bytes:
    """Read at most `limit` body bytes, giving up at `deadline`. A body read to its end hands
    the connection back to the pool for keep-alive; otherwise it is closed."""
    chunks: list[bytes] = []
    received = 0
    try:
        while received < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            chunk = await asyncio.wait_for(
                response.content.read(min(limit - received, _READ_CHUNK)), remaining)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    except _NETWORK_ERRORS:
        pass  # the status is already known; a partial excerpt is good enough for the log
    finally:
        if response.content.at_eof():
            response.release()
        else:
            response.close()
    return b"".join(chunks)


_senders: dict[int, WebhookSender] = {}
_senders_lock = threading.Lock()


def get_sender() -> WebhookSender:
    """The process's WebhookSender, created on first use.

    A sender inherited through fork() is replaced: its pooled sockets belong to the parent.
    """
    with _senders_lock:
        sender = _senders.get(os.getpid())
        if sender is None:
            sender = _senders[os.getpid()] = WebhookSender()
            atexit.register(sender.close)  # its connections closed while the loop still runs
        return sender
