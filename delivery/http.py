"""The HTTP client that POSTs webhooks to subscriber URLs.

The host is resolved and checked once (`resolve_destination`) and the connection goes to one of
those checked addresses, so DNS cannot answer differently a moment later (rebinding), while the
Host header, TLS SNI and certificate verification still use the original host name. Redirects
are never followed: a 3xx could point anywhere, internal addresses included.
"""

from __future__ import annotations

import email.utils
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from http.client import HTTPException
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from delivery.ssrf import IPNetwork, Resolver, UnsafeDestination, resolve_destination

# Carries the original host name from send() to the adapter on the PreparedRequest.
_PINNED_HOST_ATTR = "webhook_pinned_host"
_MAX_ADDRESS_ATTEMPTS = 3
_READ_CHUNK = 65536
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}(\.[0-9]+)?")
_NETWORK_ERRORS = (requests.RequestException, Urllib3Error, HTTPException, OSError)


@dataclass
class SendResult:
    """One delivery attempt. `status_code` is None exactly when no HTTP response arrived, and
    `error` then says why; once a status arrived, a failure while reading the body is not an
    error (the excerpt is just shorter)."""

    status_code: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str = ""
    error: str = ""
    duration_ms: int = 0
    retry_after: float | None = None
    connected_address: str = ""


class PinnedHostAdapter(HTTPAdapter):
    """Connects to the IP address in the URL but speaks TLS to the original host name.

    server_hostname (SNI) and assert_hostname (certificate check) are part of urllib3's pool
    key, so keep-alive connections are pooled per (scheme, address, port, host name).
    """

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        hostname = getattr(request, _PINNED_HOST_ATTR, None)
        if hostname:
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs


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
    # Only a failure to establish the connection proves the request was never sent, which is
    # what makes trying the host's next address safe (no duplicate delivery).
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, ConnectTimeoutError)


def _describe(exc: BaseException, where: str, connect_timeout: float, read_timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timeout: no connection to {where} within {connect_timeout:g}s"
    if isinstance(exc, requests.ReadTimeout):
        return f"read timeout: no response from {where} within {read_timeout:g}s"
    # requests wraps urllib3 which wraps the socket error; the innermost one says what happened.
    root, seen = exc, set()
    while id(root) not in seen:
        seen.add(id(root))
        nested = [getattr(root, "reason", None), *root.args, root.__cause__, root.__context__]
        root = next((e for e in nested if isinstance(e, BaseException)), root)
    detail = str(root) or type(root).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error with {where}: {detail}"
    if _is_connect_failure(exc):
        return f"could not connect to {where}: {detail}"
    return f"request to {where} failed: {detail}"


class WebhookSender:
    """Sends webhook POSTs, reusing keep-alive connections per destination.

    Not thread-safe: it wraps a requests.Session, which must not be shared between threads.
    Use one instance per worker thread, normally through `get_sender()`.
    """

    def __init__(
        self, *, pool_connections: int = 32, pool_maxsize: int = 2, ca_bundle: str | None = None,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        self.pid = os.getpid()
        self._resolver = resolver
        self._verify: bool | str = ca_bundle or True
        self._session = session = requests.Session()
        # Environment proxies would resolve names themselves, bypassing the address checks, and
        # .netrc credentials must never reach subscriber URLs.
        session.trust_env = False
        # Requests go to IP addresses, so stored cookies would leak between all subscribers
        # sharing an address (shared hosting, load balancers).
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # The body is read raw: no compression keeps the excerpt readable and rules out
        # decompression bombs.
        session.headers["Accept-Encoding"] = "identity"
        adapter = PinnedHostAdapter(
            pool_connections=pool_connections, pool_maxsize=pool_maxsize, max_retries=0
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        connect_timeout: float,
        read_timeout: float,
        excerpt_bytes: int,
        allowed_networks: Iterable[str | IPNetwork],
    ) -> SendResult:
        """POST `body` to `url`. Never raises for network or destination problems."""
        started = time.monotonic()
        try:
            dest = resolve_destination(url, allowed_networks, self._resolver)
        except UnsafeDestination as exc:
            return _failure(started, str(exc), "")
        merged = {k: v for k, v in headers.items() if k.lower() != "host"}
        merged["Host"] = dest.host_header
        error = address = ""
        for address in dest.addresses[:_MAX_ADDRESS_ATTEMPTS]:
            request = requests.Request("POST", dest.url_for(address), data=body, headers=merged)
            prepared = self._session.prepare_request(request)
            # Certificates never carry the trailing dot of a fully qualified name.
            setattr(prepared, _PINNED_HOST_ATTR, dest.host.rstrip("."))
            try:
                response = self._session.send(
                    prepared, stream=True, allow_redirects=False, proxies={}, verify=self._verify,
                    timeout=(connect_timeout, read_timeout),
                )
            except _NETWORK_ERRORS as exc:
                where = f"{address}:{dest.port}"
                where = where if dest.host == address else f"{dest.host} ({where})"
                error = _describe(exc, where, connect_timeout, read_timeout)
                if _is_connect_failure(exc):
                    continue
                break
            excerpt = _read_excerpt(response, excerpt_bytes, time.monotonic() + read_timeout)
            return SendResult(
                status_code=response.status_code,
                headers=dict(response.headers),
                body_excerpt=excerpt.decode("utf-8", errors="replace"),
                duration_ms=int((time.monotonic() - started) * 1000),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                connected_address=address,
            )
        return _failure(started, error, address)


def _failure(started: float, error: str, address: str) -> SendResult:
    elapsed = int((time.monotonic() - started) * 1000)
    return SendResult(None, error=error, duration_ms=elapsed, connected_address=address)


def _read_excerpt(response: requests.Response, limit: int, deadline: float) -> bytes:
    """Read at most `limit` body bytes, giving up at `deadline`; always closes the response.

    read1() returns after a single socket read, so a receiver trickling bytes can overrun the
    deadline by one read timeout at most. A body read to its end hands the connection back to
    the pool for keep-alive; otherwise closing the response discards the connection.
    """
    chunks: list[bytes] = []
    received = 0
    try:
        while received < limit and time.monotonic() < deadline:
            chunk = response.raw.read1(min(limit - received, _READ_CHUNK), decode_content=False)
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
    except _NETWORK_ERRORS:
        pass  # the status is already known; a partial excerpt is good enough for the log
    finally:
        response.close()
    return b"".join(chunks)


_local = threading.local()


def get_sender(*, pool_connections: int = 32, pool_maxsize: int = 2) -> WebhookSender:
    """The calling thread's WebhookSender, created on first use (pool sizes apply then).

    A sender inherited through fork() is replaced: its pooled sockets belong to the parent.
    """
    sender: WebhookSender | None = getattr(_local, "sender", None)
    if sender is None or sender.pid != os.getpid():
        sender = WebhookSender(pool_connections=pool_connections, pool_maxsize=pool_maxsize)
        _local.sender = sender
    return sender
