"""What each service change fires, through the model receivers: exact event sequences."""

import pytest

from events.models import Event
from tests.domain import factories as f
from tests.support import builders
from workflows import services

pytestmark = pytest.mark.django_db


def events_since(mark):
    rows = Event.objects.filter(pk__in=set(Event.objects.values_list("pk", flat=True)) - mark)
    return sorted((e.type, e.subject_id, e.direction) for e in rows)


def mark():
    return set(Event.objects.values_list("pk", flat=True))


def test_service_changes_fire_exactly_their_transitions():
    org = builders.organization()
    actor = builders.user(org)
    wf = f.workflow(org, [
        f.task("a", formFields=[f.field("x")]), f.task("gate", stopTask=True), f.task("c"),
        f.task("d", hiddenByDefault=True),
    ], [f.rule("Show", [f.clause("x", "Is", "yes")], tasks=["d"])])

    run = services.start_run(wf, actor=actor)
    t = f.tasks_of(run)
    assert sorted(Event.objects.values_list("type", "subject_id")) == sorted([
        ("ChecklistCreated", run.pk), ("TaskReady", t["A"].pk), ("TaskReady", t["Gate"].pk),
    ])

    before = mark()
    services.check_task(t["Gate"], actor=actor)
    assert events_since(before) == sorted([
        ("TaskCheckedUnchecked", t["Gate"].pk, "checked"), ("TaskReady", t["C"].pk, ""),
    ])

    before = mark()
    services.set_form_fields(run, {f.field_id(run, "X"): "yes"}, actor=actor)
    assert events_since(before) == [("TaskReady", t["D"].pk, "")]

    before = mark()  # unrelated changes fire nothing
    services.set_form_fields(run, {f.field_id(run, "X"): "YES"}, actor=actor)
    services.refresh_run_state(run, actor)
    services.check_task(f.tasks_of(run)["Gate"], actor=actor)
    assert events_since(before) == []

    before = mark()
    for name in ("A", "C", "D"):
        services.check_task(f.tasks_of(run)[name], actor=actor)
    assert [e[0] for e in events_since(before)].count("ChecklistCompleted") == 1

    before = mark()
    services.uncheck_task(f.tasks_of(run)["Gate"], actor=actor)
    assert events_since(before) == sorted([
        ("TaskCheckedUnchecked", t["Gate"].pk, "unchecked"),
    ])
