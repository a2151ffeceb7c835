"""Destination checks that keep webhook deliveries away from internal networks (SSRF).

Whoever sets up a webhook chooses the URL we POST to, so a URL must never let them reach the
loopback interface, the private network or a cloud metadata endpoint. The host is resolved once
here and the sender connects to exactly the addresses that were checked, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot redirect the request.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Called like socket.getaddrinfo(host, port, type=socket.SOCK_STREAM); tests inject fakes.
Resolver = Callable[..., list[tuple[Any, ...]]]

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeDestination(ValueError):
    """The webhook URL is malformed or points somewhere deliveries must not go."""


@dataclass(frozen=True)
class CheckedDestination:
    """A checked destination: connect only to `addresses`, and name `host` in Host/SNI."""

    scheme: str
    host: str
    port: int
    path_with_query: str
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == _DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The request URL with the host replaced by one of the checked addresses."""
        if ":" in address:
            # A zone index ("%eth0") must be percent-encoded inside a URL.
            address = "[" + address.replace("%", "%25") + "]"
        return f"{self.scheme}://{address}:{self.port}{self.path_with_query}"


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    """Parse CIDR strings such as "10.1.0.0/16" or "127.0.0.1" (a single address)."""
    networks: list[IPNetwork] = []
    for value in values:
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(value)
            continue
        text = str(value).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as exc:
            raise ValueError(f"invalid network {text!r} in allowed networks: {exc}") from None
    return tuple(networks)


def validate_url_syntax(url: str, max_length: int = 2048) -> urllib.parse.SplitResult:
    """Check the shape of a webhook URL without resolving it; raise UnsafeDestination."""
    if not isinstance(url, str) or not url:
        raise UnsafeDestination("URL is empty")
    if len(url) > max_length:
        raise UnsafeDestination(f"URL is longer than {max_length} characters")
    # urlsplit silently drops tabs and newlines, which would make the URL we check differ from
    # the one a person reads; control characters are also a header-injection vector.
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeDestination("URL contains whitespace or control characters")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"URL is malformed: {exc}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise UnsafeDestination("URL scheme must be http or https")
    if "@" in parts.netloc:
        raise UnsafeDestination("URL must not contain a user name or password")
    if not parts.hostname:
        raise UnsafeDestination("URL has no host")
    if port == 0:
        raise UnsafeDestination("URL port must be between 1 and 65535")
    return parts


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a transition-mechanism IPv6 address reaches, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in prefix for prefix in _NAT64_PREFIXES) or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _forbidden_ipv4(ip: ipaddress.IPv4Address) -> bool:
    # The flags overlap on purpose: their definitions shift between Python versions, and on 3.11
    # 100.64.0.0/10 is not is_private while multicast counts as is_global.
    return (ip in _SHARED_ADDRESS_SPACE or ip.is_private or ip.is_loopback or ip.is_link_local
            or ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def is_forbidden_address(ip: str | IPAddress, allowed_networks: Iterable[str | IPNetwork]) -> bool:
    """True if deliveries must not connect to `ip`, unless it lies in `allowed_networks`."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    allowed = parse_networks(allowed_networks)
    # Allowances match the address as written: "127.0.0.1/32" does not cover ::ffff:127.0.0.1,
    # so an exception made for one form cannot be reached through another.
    if any(address in net for net in allowed):
        return False
    if address.version == 4:
        return _forbidden_ipv4(address)

    embedded = _embedded_ipv4(address)
    if address.ipv4_mapped is not None or address in _IPV4_COMPATIBLE:
        # These prefixes sit inside ::/8, which is_reserved flags; decide on the IPv4 address.
        return _forbidden_ipv4(address.ipv4_mapped or embedded)
    if any(address in prefix for prefix in _NAT64_PREFIXES):
        # A NAT64 gateway forwards to the embedded IPv4 address, which decides.
        return embedded is None or _forbidden_ipv4(embedded)
    if embedded is not None and _forbidden_ipv4(embedded):
        return True  # 6to4 wrapping a private IPv4 address
    # Site-local fec0::/10 is deprecated but still counts as is_global on 3.11.
    return (address.is_private or address.is_loopback or address.is_link_local
            or address.is_site_local or address.is_multicast or address.is_reserved
            or address.is_unspecified or not address.is_global)


def _normalise_host(hostname: str) -> str:
    try:
        # Host header, SNI and certificate checks all need the ASCII (punycode) form.
        return hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeDestination(f"host {hostname!r} is not a valid domain name") from None


def resolve_destination(
    url: str,
    allowed_networks: Iterable[str | IPNetwork],
    resolver: Resolver = socket.getaddrinfo,
) -> CheckedDestination:
    """Validate `url`, resolve its host once and check every address it resolves to."""
    parts = validate_url_syntax(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS[scheme]
    raw_host = parts.hostname or ""
    allowed = parse_networks(allowed_networks)

    try:
        literal: IPAddress | None = ipaddress.ip_address(raw_host)
    except ValueError:
        literal = None
    if literal is not None:
        host = raw_host
        addresses = [str(literal)]
    else:
        host = _normalise_host(raw_host)
        try:
            infos = resolver(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise UnsafeDestination(f"could not resolve host {host!r}: {exc}") from None
        # Round-robin answers repeat; keep the resolver's order, which encodes its preference.
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise UnsafeDestination(f"could not resolve host {host!r}: no addresses")

    # Every answer must be acceptable: a name resolving to one public and one internal address
    # would otherwise reach the internal one whenever the connection picks it.
    for address in addresses:
        try:
            forbidden = is_forbidden_address(address, allowed)
        except ValueError:
            raise UnsafeDestination(f"host {host!r} resolved to an invalid address") from None
        if forbidden:
            subject = address if literal is not None else f"{host} resolves to {address}, which"
            raise UnsafeDestination(
                f"destination refused: {subject} is not a public address "
                "(private, loopback, link-local or reserved networks are not allowed)"
            )

    path = parts.path or "/"
    path_with_query = f"{path}?{parts.query}" if parts.query else path
    return CheckedDestination(scheme, host, port, path_with_query, tuple(addresses))
