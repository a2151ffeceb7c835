"""Example bodies of every event type, produced by the real code, and docs/events.md made from
them.

A small domain scenario (a workflow run with an approval, a data set record, a form response,
a test ping) runs through the real service functions, signal receivers, payload renderers and
outbox writer inside a transaction that is always rolled back: nothing is left behind and no
delivery is sent. The clock is replaced by a fixed, steadily advancing one, and every id in the
bodies by a stable placeholder, so the same code renders the same Markdown on any machine and
against any database.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings

from accounts.models import Role
from accounts.services import add_member, create_organization
from datasets.services import create_data_set, create_record, delete_record, update_record
from events import payloads
from events.models import Event
from events.rendering import build_event
from kernel.catalog import DESCRIPTIONS, KIND_OF, PING, TRIGGERS, EventType
from kernel.ids import new_muid
from kernel.outbox import PendingEvent
from workflows import services
from workflows.builder import create_form, create_workflow
from workflows.form_services import create_form_response, submit_form_response
from workflows.models import Task

DOC_PATH = Path(settings.BASE_DIR) / "docs" / "events.md"
# The same bodies as JSON, read at run time (a test event of a chosen type, the event-types
# catalogue) so that the web process never runs the scenario; written with docs/events.md.
EXAMPLES_PATH = Path(__file__).resolve().parent / "example_bodies.json"
EXAMPLE_BASE_URL = "https://webhooks.example.com"
EXAMPLE_RECEIVER_URL = "https://receiver.example.com/webhooks"
CLOCK_START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
CLOCK_STEP = timedelta(milliseconds=1250)

PING_DESCRIPTION = (
    "A test delivery, sent to one webhook by `POST /api/v1/webhooks/{id}/test`; never emitted "
    "by a change."
)
ALL_TYPES: list[str] = [*(t.value for t in EventType), PING]

_MUID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_PLACEHOLDER_NAMESPACE = uuid.UUID("0b7f3c64-2d0e-4d8a-9a52-6c1e1c0f5e21")


def trigger_names(event_type: str) -> list[str]:
    """The trigger names a webhook may list to receive events of this type."""
    return [name for name, trigger in TRIGGERS.items() if trigger.event_type == event_type]


def kind_name(event_type: str) -> str | None:
    kind = KIND_OF.get(event_type)  # type: ignore[call-overload]
    return str(kind) if kind is not None else None


def description(event_type: str) -> str:
    return PING_DESCRIPTION if event_type == PING else DESCRIPTIONS[EventType(event_type)]


class _Rollback(Exception):
    pass


@contextmanager
def _fixed_clock() -> Iterator[None]:
    """`timezone.now()` returns CLOCK_START, then one CLOCK_STEP later at every call."""
    ticks = itertools.count()

    def now() -> datetime:
        return CLOCK_START + CLOCK_STEP * next(ticks)

    original_init = PendingEvent.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        # The dataclass holds on to the real clock as its default; use the fixed one instead.
        if "created_date" not in kwargs:
            self.created_date = now()

    with mock.patch("django.utils.timezone.now", now), \
            mock.patch.object(PendingEvent, "__init__", init):
        yield


def _scenario() -> dict[str, str]:
    """Runs the scenario and returns the first body of each type, by type."""
    organization = create_organization("Acme Example")
    actor = add_member(organization, "ada@acme.example", Role.ADMIN,
                       username="ada@acme.example").user
    workflow = create_workflow(organization, "Vendor onboarding", actor=actor, tasks=[
        {"key": "quote", "name": "Collect the quote", "formFields": [
            {"key": "amount", "label": "Amount", "type": "Number"}]},
        {"key": "review", "name": "Review the quote", "taskType": "Approval",
         "subjects": ["quote"]},
        {"key": "order", "name": "Place the order"},
    ])
    run = services.start_run(workflow, actor=actor, name="Onboarding Globex")
    amount = run.field_values.get()
    services.set_form_fields(run, {amount.template_id: 1200}, actor=actor)

    def task(name: str) -> Task:
        return Task.objects.get(run=run, name=name)

    services.check_task(task("Collect the quote"), actor=actor)
    services.reject(task("Review the quote"), actor=actor, comment="Too high, ask again.")
    services.set_form_fields(run, {amount.template_id: 950}, actor=actor)
    services.check_task(task("Collect the quote"), actor=actor)
    services.approve(task("Review the quote"), actor=actor, comment="Approved at 950.")
    services.check_task(task("Place the order"), actor=actor)

    data_set = create_data_set(organization, "Customers", [
        {"name": "Name", "fieldType": "Text"}, {"name": "Plan", "fieldType": "Text"}])
    fields = {f.name: f.id for f in data_set.fields.all()}
    record = create_record(data_set, {fields["Name"]: "Globex", fields["Plan"]: "Starter"},
                           actor=actor)
    record = update_record(record, {fields["Plan"]: "Enterprise"}, actor=actor)
    delete_record(record, actor=actor)

    form = create_form(organization, "Customer feedback", [
        {"label": "How did we do?", "type": "Text"}])
    response = create_form_response(form, {form.fields.get().id: "Quick and painless."},
                                    actor=actor)
    submit_form_response(response, actor=actor)

    # A Ping names the webhook it tests; here, one that need not exist.
    build_test_event(organization.id, new_muid(), EXAMPLE_RECEIVER_URL, PING).save()

    bodies: dict[str, str] = {}
    for event in Event.objects.filter(organization=organization).order_by("created_date"):
        bodies.setdefault(event.type, event.body)
    missing = [t for t in ALL_TYPES if t not in bodies]
    if missing:
        raise RuntimeError(f"the example scenario produced no {', '.join(missing)} event")
    return bodies


def _placeholder(index: int) -> str:
    raw = uuid.uuid5(_PLACEHOLDER_NAMESPACE, f"example:{index}").bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _muids_in(value: Any, found: dict[str, None]) -> None:
    """Collects the ids in a JSON value, as keys or values, in document order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if _MUID.match(key):
                found.setdefault(key)
            _muids_in(item, found)
    elif isinstance(value, list):
        for item in value:
            _muids_in(item, found)
    elif isinstance(value, str) and _MUID.match(value):
        found.setdefault(value)


def _stable(bodies: dict[str, str]) -> dict[str, str]:
    """Pretty-printed bodies, with each id replaced by a placeholder given in order of first
    appearance (ids also appear inside URLs, so the replacement is textual)."""
    pretty = {
        t: json.dumps(json.loads(bodies[t]), indent=2, ensure_ascii=False) for t in ALL_TYPES
    }
    found: dict[str, None] = {}
    for event_type in ALL_TYPES:
        _muids_in(json.loads(bodies[event_type]), found)
    mapping = {muid: _placeholder(i) for i, muid in enumerate(found)}
    if mapping:
        pattern = re.compile("|".join(re.escape(m) for m in mapping))
        pretty = {t: pattern.sub(lambda m: mapping[m.group(0)], text) for t, text in pretty.items()}
    return pretty


def example_bodies() -> dict[str, str]:
    """Each event type's example body, pretty-printed JSON, in catalog order, Ping last."""
    bodies: dict[str, str] = {}
    with override_settings(PUBLIC_BASE_URL=EXAMPLE_BASE_URL), _fixed_clock():
        try:
            with transaction.atomic():
                bodies = _scenario()
                raise _Rollback
        except _Rollback:
            pass
    return _stable(bodies)


def render_examples_json(bodies: dict[str, str] | None = None) -> str:
    """The example bodies as one JSON object, by type, as EXAMPLES_PATH holds them."""
    bodies = example_bodies() if bodies is None else bodies
    parsed = {event_type: json.loads(text) for event_type, text in bodies.items()}
    return json.dumps(parsed, indent=2, ensure_ascii=False) + "\n"


@functools.cache
def stored_examples() -> dict[str, dict]:
    """The committed example bodies by type (tests/ops/test_event_docs.py keeps them current)."""
    return json.loads(EXAMPLES_PATH.read_text(encoding="utf-8"))


def build_test_event(organization_id: str, webhook_id: str, url: str, event_type: str
                     ) -> Event:
    """The event that "Send test" delivers to one webhook (unsaved): a Ping naming the webhook,
    or the documented example body of `event_type` with `"test": true` in the envelope, so a
    receiver can tell it from a real change. It takes the webhook's id and URL, not the
    webhook: events sit below subscriptions in the app map."""
    if event_type == PING:
        data = payloads.render_ping(webhook_id, url)
    else:
        data = stored_examples()[event_type]["data"]
    event = build_event(PendingEvent(organization_id=organization_id, type=event_type, data=data))
    if event_type != PING:
        envelope = json.loads(event.body)
        envelope["test"] = True
        event.body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    return event


HEADER = """\
# Event types and example bodies

<!-- Generated by `python manage.py event_docs` from events/examples.py: do not edit by hand.
     `python manage.py event_docs --check` (and tests/ops/test_event_docs.py) fail when this
     file and the code disagree. -->

Every delivery is a `POST` with a JSON body, the same envelope for every type:

| key | meaning |
| --- | --- |
| `id` | the event id, also sent as the `webhook-id` header (see below) |
| `createdDate` | when the change happened, ISO-8601 in UTC with milliseconds |
| `data` | the object the event is about, as it was at that moment (shapes below) |
| `type` | the event type (the headings below) |

Ids are 22-character URL-safe base64 UUIDs. The event id is the same on every try and
every redelivery of the event: receivers use it to drop duplicates.

A webhook chooses the events it receives by trigger names: the types themselves and
Process Street's public names (`TaskChecked`, `TaskUnchecked`, `WorkflowRunCreated`,
`WorkflowRunCompleted`). A webhook's triggers are all of one kind: workflow, form or data set.
How to verify the signature and what retries look like: [receiving.md](receiving.md).

Each type lists its fields, from the JSON Schema that `GET /api/v1/event-types` and the
OpenAPI schema's webhooks section (`/api/schema/`, `/api/docs/`) serve: the type of each
value and, where a field takes one of a fixed set, the values it can take. A field marked
optional may be absent; a *user* is `{"id", "email", "username"}`, or `null` when no user made
the change (e.g. an incoming webhook did). An event sent by *Send test* (the admin) or
`POST /api/v1/webhooks/{id}/test` with a type carries `"test": true`.

The bodies below come from a scenario run through the real services and payload code; ids and
dates are stable placeholders.

"""


def fields_table(event_type: str) -> str:
    """The event's fields as a Markdown table, from its JSON Schema (events/schemas.py)."""
    from events.schemas import event_schema, field_rows

    lines = ["| field | type | values | meaning |", "| --- | --- | --- | --- |"]
    for path, kind, allowed, meaning in field_rows(event_schema(event_type)):
        cells = [f"`{path}`", kind, allowed, meaning.replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"


def render_markdown(bodies: dict[str, str] | None = None) -> str:
    bodies = example_bodies() if bodies is None else bodies
    parts = [HEADER]
    parts.append("| type | kind | trigger names |\n| --- | --- | --- |\n")
    for event_type in ALL_TYPES:
        names = ", ".join(f"`{n}`" for n in trigger_names(event_type)) or "(test only)"
        kind = kind_name(event_type) or "any"
        parts.append(f"| [`{event_type}`](#{event_type.lower()}) | {kind} | {names} |\n")
    for event_type in ALL_TYPES:
        names = ", ".join(f"`{n}`" for n in trigger_names(event_type))
        parts.append(f"\n## {event_type}\n\n{description(event_type)}\n\n")
        if event_type == PING:
            parts.append("Kind: any. Trigger names: none; sent whatever the webhook's "
                         "triggers are.\n\n")
        else:
            parts.append(f"Kind: {kind_name(event_type)}. Trigger names: {names}.\n\n")
        parts.append(fields_table(event_type))
        parts.append(f"```json\n{bodies[event_type]}\n```\n")
    return "".join(parts)
