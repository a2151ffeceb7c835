import ipaddress
import socket

import pytest

from kernel.ssrf import (
    CheckedDestination,
    UnsafeDestination,
    is_forbidden_address,
    parse_networks,
    resolve_destination,
    validate_url_syntax,
)


def resolver_for(*addresses, calls=None):
    """A getaddrinfo stand-in answering every name with `addresses`."""

    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        if calls is not None:
            calls.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def failing_resolver(host, port, family=0, type=0, proto=0, flags=0):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com:8443/hook?x=1",
        "HTTPS://Example.COM/path",
        "http://[2606:4700::1]/",
    ],
)
def test_valid_syntax(url):
    assert validate_url_syntax(url).hostname


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("//example.com/", "scheme"),
        ("http:///path", "no host"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http://example.com:99999/", "malformed"),
        ("http://example.com:0/", "port"),
        ("http://example.com/a b", "whitespace"),
        ("http://exam\nple.com/", "whitespace"),
        ("http://[::1/", "malformed"),
        ("http://example.com/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_invalid_syntax(url, message):
    with pytest.raises(UnsafeDestination, match=message):
        validate_url_syntax(url)


def test_length_limit_is_configurable():
    validate_url_syntax("http://example.com/" + "a" * 100, max_length=200)
    with pytest.raises(UnsafeDestination):
        validate_url_syntax("http://example.com/" + "a" * 100, max_length=50)


def test_parse_networks():
    parsed = parse_networks(["10.0.0.0/8", " 127.0.0.1 ", "", "fd00::/8"])
    assert parsed == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("fd00::/8"),
    )
    with pytest.raises(ValueError, match="invalid network"):
        parse_networks(["10.0.0.1/8"])  # host bits set: almost certainly a typo


FORBIDDEN = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.1.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",
    "::1",
    "::",
    "fd00::1",
    "fc00::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
]

PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8",
          "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_addresses(address):
    assert is_forbidden_address(address, [])
    assert is_forbidden_address(ipaddress.ip_address(address), [])


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address):
    assert not is_forbidden_address(address, [])


def test_allowed_networks_make_exceptions():
    assert not is_forbidden_address("127.0.0.1", ["127.0.0.1/32"])
    assert not is_forbidden_address("10.1.2.3", parse_networks(["10.0.0.0/8"]))
    assert is_forbidden_address("127.0.0.2", ["127.0.0.1/32"])
    # An allowance covers the address as written, not other spellings that reach it.
    assert is_forbidden_address("::ffff:127.0.0.1", ["127.0.0.1/32"])


def test_resolve_public_name():
    calls = []
    dest = resolve_destination(
        "https://Hooks.Example.com/in?a=1#frag", [], resolver_for("93.184.215.14", calls=calls)
    )
    assert dest == CheckedDestination("https", "hooks.example.com", 443, "/in?a=1",
                                      ("93.184.215.14",))
    assert dest.host_header == "hooks.example.com"
    assert dest.url_for("93.184.215.14") == "https://93.184.215.14:443/in?a=1"
    assert calls == ["hooks.example.com"]


def test_resolve_keeps_port_and_deduplicates():
    dest = resolve_destination(
        "http://example.com:8080", [], resolver_for("8.8.8.8", "2606:4700::1111", "8.8.8.8")
    )
    assert dest.port == 8080 and dest.path_with_query == "/"
    assert dest.addresses == ("8.8.8.8", "2606:4700::1111")
    assert dest.host_header == "example.com:8080"
    assert dest.url_for("2606:4700::1111") == "http://[2606:4700::1111]:8080/"


def test_literal_ip_is_checked_without_dns():
    def no_dns(*args, **kwargs):
        raise AssertionError("DNS must not be used for a literal address")

    dest = resolve_destination("http://8.8.8.8/x", [], no_dns)
    assert dest.addresses == ("8.8.8.8",) and dest.host == "8.8.8.8"
    assert resolve_destination("http://[2606:4700::1111]/", [], no_dns).host_header == (
        "[2606:4700::1111]"
    )
    for url in ("http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data"):
        with pytest.raises(UnsafeDestination, match="not a public address"):
            resolve_destination(url, [], no_dns)


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "100.64.1.1", "fd00::1"]
)
def test_name_resolving_to_internal_address_is_refused(address):
    with pytest.raises(UnsafeDestination, match=f"resolves to {address}"):
        resolve_destination("https://internal.example/", ["127.0.0.1/32"], resolver_for(address))


def test_every_resolved_address_must_be_allowed():
    resolver = resolver_for("93.184.215.14", "10.0.0.1")
    with pytest.raises(UnsafeDestination, match="10.0.0.1"):
        resolve_destination("https://mixed.example/", [], resolver)


def test_allowed_network_permits_resolved_address():
    dest = resolve_destination("http://localhost:8000/", ["127.0.0.0/8"], resolver_for("127.0.0.1"))
    assert dest.addresses == ("127.0.0.1",)


def test_unresolvable_host():
    with pytest.raises(UnsafeDestination, match="could not resolve"):
        resolve_destination("https://nope.invalid/", [], failing_resolver)
    with pytest.raises(UnsafeDestination, match="could not resolve"):
        resolve_destination("https://empty.example/", [], resolver_for())


def test_international_host_name_is_sent_as_punycode():
    calls = []
    dest = resolve_destination("https://bücher.example/", [], resolver_for("8.8.8.8", calls=calls))
    assert dest.host == "xn--bcher-kva.example" and calls == [dest.host]
