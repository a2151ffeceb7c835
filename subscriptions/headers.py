"""Custom headers a webhook sends on every try: which names and values are accepted.

Receivers behind API gateways want a header of their own (an API key, a routing tag). The
values are treated like secrets: write-only in the API and the admin, and redacted in the
stored record of each try. Names that would change how the request is framed or routed, or that
the signature and its verification depend on, are refused.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_HEADERS = 20
MAX_NAME_LENGTH = 64
MAX_VALUE_LENGTH = 1024
MAX_TOTAL_BYTES = 8192
# RFC 9110 token characters.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII and spaces or tabs inside: no control characters, so no header splitting.
_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")
REFUSED = frozenset({
    # framing and routing, and what this service sets itself
    "host", "content-length", "content-type", "content-encoding", "transfer-encoding",
    "user-agent", "expect", "cookie",
    # hop-by-hop (RFC 9110 7.6.1)
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
    "proxy-authenticate", "proxy-authorization",
})
REFUSED_PREFIXES = ("webhook-", "proxy-")


def validate_headers(value: object) -> dict[str, str]:
    """The headers as they will be sent, or a ValidationError naming each bad entry as
    `headers.<name>` (or `headers` for the whole)."""
    if not isinstance(value, dict):
        raise ValidationError({"headers": "Must be an object of header names and values."})
    if len(value) > MAX_HEADERS:
        raise ValidationError({"headers": f"At most {MAX_HEADERS} headers."})
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, header_value in value.items():
        where = f"headers.{name}"[:100]
        if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            errors[where] = (f"A header name is 1 to {MAX_NAME_LENGTH} letters, digits or "
                             "!#$%&'*+-.^_`|~.")
            continue
        lowered = name.lower()
        if lowered in REFUSED or lowered.startswith(REFUSED_PREFIXES):
            errors[where] = "This header is set by the service or changes how the request " \
                            "travels; it cannot be customised."
            continue
        if lowered in seen:
            errors[where] = "Given twice (header names are case-insensitive)."
            continue
        if (not isinstance(header_value, str) or len(header_value) > MAX_VALUE_LENGTH
                or not _VALUE.fullmatch(header_value)):
            errors[where] = (f"A value is 1 to {MAX_VALUE_LENGTH} visible ASCII characters "
                             "(spaces inside allowed).")
            continue
        seen.add(lowered)
        cleaned[name] = header_value
    if errors:
        raise ValidationError(errors)
    if sum(len(k) + len(v) + 4 for k, v in cleaned.items()) > MAX_TOTAL_BYTES:
        raise ValidationError({"headers": f"At most {MAX_TOTAL_BYTES} bytes of headers."})
    return cleaned
