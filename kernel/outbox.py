"""The transactional outbox. Receivers add pending events to the buffer of the domain change
under way; when the change's outermost block ends, still inside its transaction, the events are
handed to the writer, which renders and stores them with one Delivery per matching webhook
and queues their delivery tasks for after the commit. A change that rolls back leaves nothing
behind.

The domain calls this module, so it sits below every app and imports none: the app that owns the
stored rows registers the writer (`set_writer`, from its AppConfig.ready).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass
class PendingEvent:
    organization_id: str
    type: str
    # Either the data now (a snapshot), or how to render it once the whole change is built
    # (a run's ChecklistCreated lists tasks that are saved after the run itself).
    data: dict | None = None
    render: Callable[[], dict] | None = None
    created_date: datetime = field(default_factory=timezone.now)
    workflow_id: str = ""
    run_id: str = ""
    task_group_id: str = ""
    form_id: str = ""
    data_set_id: str = ""
    subject_id: str = ""
    direction: str = ""

    def rendered_data(self) -> dict:
        return self.data if self.data is not None else self.render()


class _State(threading.local):
    def __init__(self) -> None:
        self.buffer: list[PendingEvent] | None = None
        self.suppressed: set[str] = set()


_state = _State()

EventWriter = Callable[[list[PendingEvent]], object]
_writer: EventWriter | None = None


def set_writer(writer: EventWriter) -> None:
    """Registers what stores pending events, inside the transaction of their change."""
    global _writer
    _writer = writer


def _write(pending: list[PendingEvent]) -> None:
    if _writer is None:
        raise ImproperlyConfigured(
            "A domain change emitted events but no event writer is registered: the app that "
            "stores them (delivery) must be in INSTALLED_APPS and call kernel.outbox.set_writer."
        )
    _writer(pending)


@contextmanager
def collecting_events() -> Iterator[None]:
    """One domain change: atomic, with the events it causes written at its end."""
    if _state.buffer is not None:
        mark = len(_state.buffer)
        try:
            with transaction.atomic():
                yield
        except BaseException:
            del _state.buffer[mark:]  # the savepoint rolled back: so do its events
            raise
        return
    _state.buffer = []
    try:
        with transaction.atomic():
            yield
            pending, _state.buffer = _state.buffer, None
            if pending:
                _write(pending)
    finally:
        _state.buffer = None


def domain_change(func: Callable) -> Callable:
    """Decorator for service functions: one transaction, events flushed at its end."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with collecting_events():
            return func(*args, **kwargs)

    return wrapper


@contextmanager
def suppressed(*event_types: str) -> Iterator[None]:
    """Changes made inside fire none of these types (a run migrated to a new version changes
    readiness silently)."""
    before = set(_state.suppressed)
    _state.suppressed |= set(event_types)
    try:
        yield
    finally:
        _state.suppressed = before


def emit(event: PendingEvent) -> None:
    if event.type in _state.suppressed:
        return
    if _state.buffer is not None:
        _state.buffer.append(event)
        return
    # A change made outside any service (a shell, a data migration): write it at once, in the
    # transaction the save itself runs in.
    with transaction.atomic():
        _write([event])
