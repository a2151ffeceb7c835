"""One strict JSON reader for the API and the public incoming endpoint.

Python's json module accepts more than RFC 8259 data that can be stored and sent again: NaN and
Infinity, numbers that overflow to infinity (1e400), integers of any size, lone UTF-16 surrogates
("\\ud800", which no UTF-8 text can hold), U+0000 (which PostgreSQL text refuses) and nesting so
deep that the parser itself raises RecursionError. Each of these once got in and failed later,
when it was stored or rendered (a 500 far from the request at fault). Here they are refused at
the door, with a message that names the rule and never repeats the offending text.
"""

from __future__ import annotations

import json
import math
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

# Integers are kept within a signed 64-bit range: what every database column and client can hold.
MAX_INTEGER = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRefused(ValueError):
    """A document that is not strict JSON; the message is safe to show (it quotes no input)."""


def _refuse_constant(name: str) -> object:
    raise JSONRefused(f"{name} is not a JSON number; send a finite number or null.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRefused("A number is out of range; send a finite number within ±1.8e308.")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise JSONRefused(f"An integer is out of range; integers must lie within ±{MAX_INTEGER}.")
    value = int(text)
    if abs(value) > MAX_INTEGER:
        raise JSONRefused(f"An integer is out of range; integers must lie within ±{MAX_INTEGER}.")
    return value


def max_depth() -> int:
    return settings.MAX_JSON_DEPTH


def depth_message(limit: int) -> str:
    return f"The JSON is nested deeper than {limit} levels."


def check_strings_and_depth(value: object, limit: int) -> None:
    """Raises JSONRefused if `value` nests deeper than `limit` levels or holds a string (key or
    value) with a lone surrogate or a NUL character. Iterative, so any depth is safe to walk."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if isinstance(item, dict):
            children = list(item.values())
            for key in item:
                _check_text(key)
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise JSONRefused(depth_message(limit))
        stack.extend((child, depth + 1) for child in children)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise JSONRefused("Strings must not contain NUL (\\u0000).")
    if _SURROGATE.search(text):
        raise JSONRefused("Strings must not contain lone UTF-16 surrogates (U+D800 to U+DFFF).")


def loads(text: str | bytes, *, limit: int | None = None) -> object:
    """The parsed document, or JSONRefused. Bytes must be UTF-8."""
    limit = max_depth() if limit is None else limit
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise JSONRefused("The body is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_bounded_int)
    except RecursionError:
        raise JSONRefused(depth_message(limit)) from None
    except JSONRefused:
        raise
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the document itself is never quoted back.
        raise JSONRefused(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except ValueError:
        raise JSONRefused("The body is not valid JSON.") from None
    check_strings_and_depth(data, limit)
    return data


class StrictJSONParser(BaseParser):
    """DRF's parser for application/json on top of `loads`: every refusal is a 400 ParseError."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return loads(raw)
        except JSONRefused as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def make_safe(value: object) -> object:
    """A copy of `value` that any JSON renderer accepts: non-finite floats become null and lone
    surrogates U+FFFD. For data stored before the strict parser existed."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {make_safe(key): make_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [make_safe(item) for item in value]
    return value


class SafeJSONRenderer(JSONRenderer):
    """DRF's JSON renderer that, when the data cannot be rendered as it is (a NaN or a lone
    surrogate stored before the strict parser), renders a safe copy rather than failing."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except (ValueError, UnicodeEncodeError):
            return super().render(make_safe(data), accepted_media_type, renderer_context)
