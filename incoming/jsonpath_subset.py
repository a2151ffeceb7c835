"""The JSONPath subset an incoming webhook's mapping may use, and its evaluator (docs/incoming.md).

Full JSONPath lets one mapping cost as much as the sender likes: recursive descent ($..name)
walks the whole body once per `..`, filters run an expression per node. On a public endpoint
taking up to 600 requests a minute per token that is a denial of service (3 s for $..name over
428 KB, 5-18 s for $..deep..name over 1 MB). The subset keeps what a mapping needs, and every
step's cost bounded:

    $                   the whole body
    .name  ['name']     a member of an object ("name" in double quotes too)
    [3]  [-1]           an element of an array (negative: from the end)
    .*  [*]             every member or element

At most MAX_STEPS steps per path, at most MAX_MATCHES values at any step (more is a 400 naming
the field, never a silent cut), and at most MAX_PATHS paths per incoming webhook. So a whole
mapping visits at most MAX_PATHS x MAX_STEPS x (MAX_MATCHES + 1) values, whatever the body.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from itertools import islice

MAX_STEPS = 16
MAX_MATCHES = 100
MAX_PATHS = 100
MAX_PATH_LENGTH = 500

_NAME = re.compile(r"\.([A-Za-z_][\w-]*)")
_WILDCARD = re.compile(r"\.\*|\[\s*\*\s*\]")
_INDEX = re.compile(r"\[\s*(-?\d{1,9})\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")
_ESCAPE = re.compile(r"\\(.)")

NAME, INDEX, WILDCARD = "name", "index", "wildcard"


class PathNotAllowed(ValueError):
    """A path outside the subset; the message says what is not allowed and what to write."""


class TooManyMatches(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    kind: str
    key: str | int | None = None


def _unsupported(path: str, position: int) -> PathNotAllowed:
    rest = path[position:]
    if rest.startswith(".."):
        return PathNotAllowed(
            "Recursive descent (..) is not supported; name each level, e.g. $.order.customer."
        )
    if rest.startswith("[?"):
        return PathNotAllowed("Filters ([?...]) are not supported.")
    if rest.startswith("[") and ":" in rest.split("]")[0]:
        return PathNotAllowed("Slices ([a:b]) are not supported; use an index or [*].")
    if rest.startswith("[") and "," in rest.split("]")[0]:
        return PathNotAllowed("Unions ([a,b]) are not supported; map each value separately.")
    return PathNotAllowed(
        f"Unsupported syntax at character {position + 1}; use $, .name, ['name'], [n], "
        ".* or [*]."
    )


@functools.lru_cache(maxsize=4096)
def compile_path(path: str) -> tuple[Step, ...]:
    """The steps of `path`, or PathNotAllowed."""
    if len(path) > MAX_PATH_LENGTH:
        raise PathNotAllowed(f"A JSONPath may be at most {MAX_PATH_LENGTH} characters long.")
    if not path.startswith("$"):
        raise PathNotAllowed("A JSONPath starts with $, e.g. $.customer.email.")
    steps: list[Step] = []
    position = 1
    while position < len(path):
        if path.startswith("..", position):
            raise _unsupported(path, position)
        if found := _WILDCARD.match(path, position):
            steps.append(Step(WILDCARD))
        elif found := _NAME.match(path, position):
            steps.append(Step(NAME, found.group(1)))
        elif found := _INDEX.match(path, position):
            steps.append(Step(INDEX, int(found.group(1))))
        elif found := _QUOTED.match(path, position):
            quoted = found.group(1) if found.group(1) is not None else found.group(2)
            steps.append(Step(NAME, _ESCAPE.sub(r"\1", quoted)))
        else:
            raise _unsupported(path, position)
        position = found.end()
        if len(steps) > MAX_STEPS:
            raise PathNotAllowed(f"A JSONPath may have at most {MAX_STEPS} steps.")
    return tuple(steps)


def find(path: str, document: object) -> list:
    """Every value `path` matches in `document`, in document order; TooManyMatches past
    MAX_MATCHES at any step."""
    current = [document]
    for step in compile_path(path):
        following: list = []
        for node in current:
            if step.kind == NAME:
                if isinstance(node, dict) and step.key in node:
                    following.append(node[step.key])
            elif step.kind == INDEX:
                if isinstance(node, list) and -len(node) <= step.key < len(node):
                    following.append(node[step.key])
            elif isinstance(node, dict | list):
                children = node.values() if isinstance(node, dict) else node
                following.extend(islice(children, MAX_MATCHES + 1 - len(following)))
            if len(following) > MAX_MATCHES:
                raise TooManyMatches(
                    f"The JSONPath {path} matches more than {MAX_MATCHES} values."
                )
        current = following
        if not current:
            break
    return current
