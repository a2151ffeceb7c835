"""docs/events.md is generated from the code: these fail when it drifts from what the code
renders, and check what the generator itself promises."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from events.examples import (
    ALL_TYPES,
    DOC_PATH,
    EXAMPLES_PATH,
    example_bodies,
    render_examples_json,
    render_markdown,
    stored_examples,
)
from events.models import Event
from kernel.catalog import PING, EventType

pytestmark = pytest.mark.django_db


def test_docs_events_md_is_what_the_code_renders():
    rendered = render_markdown()
    assert DOC_PATH.read_text(encoding="utf-8") == rendered, (
        "docs/events.md is out of date: run `python manage.py event_docs` and commit it."
    )


def test_stored_example_bodies_are_what_the_code_renders():
    assert EXAMPLES_PATH.read_text(encoding="utf-8") == render_examples_json(), (
        "events/example_bodies.json is out of date: run `python manage.py event_docs`."
    )
    assert list(stored_examples()) == ALL_TYPES


def test_every_event_type_has_a_real_example_and_nothing_is_left_behind():
    before = Event.objects.count()
    bodies = example_bodies()
    assert Event.objects.count() == before
    assert list(bodies) == [*(t.value for t in EventType), PING]
    for event_type, text in bodies.items():
        body = json.loads(text)
        assert list(body) == ["id", "createdDate", "data", "type"]
        assert body["type"] == event_type
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", body["id"])
        assert body["createdDate"].startswith("2025-03-04T")


def test_examples_are_stable_between_runs():
    assert example_bodies() == example_bodies()


def test_check_option_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "events.md"
    stale.write_text("# old\n")
    examples = tmp_path / "example_bodies.json"
    monkeypatch.setattr("events.management.commands.event_docs.DOC_PATH", stale)
    monkeypatch.setattr("events.management.commands.event_docs.EXAMPLES_PATH", examples)
    with pytest.raises(CommandError, match="out of date"):
        call_command("event_docs", "--check", stdout=None, stderr=None)
    call_command("event_docs")
    assert stale.read_text() == render_markdown()
    assert examples.read_text() == render_examples_json()
    call_command("event_docs", "--check")


def test_event_types_command_lists_the_catalog(capsys):
    call_command("event_types", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert [row["type"] for row in rows] == ALL_TYPES
    by_type = {row["type"]: row for row in rows}
    assert by_type["TaskCheckedUnchecked"]["triggers"] == [
        "TaskCheckedUnchecked", "TaskChecked", "TaskUnchecked"]
    assert by_type["ChecklistCreated"]["triggers"] == ["ChecklistCreated", "WorkflowRunCreated"]
    assert by_type["DataSetRecordDeleted"]["kind"] == "DataSet"
    assert by_type["Ping"]["triggers"] == []
    call_command("event_types")
    assert "WorkflowRunCompleted" in capsys.readouterr().out
