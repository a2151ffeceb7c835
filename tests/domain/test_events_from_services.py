"""What each service change fires, through the model receivers: exact event sequences."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from events.models import Event
from kernel import outbox
from tests.domain import factories as f
from tests.support import builders
from workflows import form_services, services
from workflows.builder import create_form
from workflows.models import FormField, FormResponse

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


def test_a_change_with_events_fails_clearly_when_no_writer_is_registered(monkeypatch):
    """The outbox sits below the apps: delivery registers the writer that stores events."""
    org = builders.organization()
    before = mark()
    monkeypatch.setattr(outbox, "_writer", None)
    with pytest.raises(ImproperlyConfigured, match="no event writer is registered"):
        with outbox.collecting_events():
            outbox.emit(outbox.PendingEvent(org.id, "DataSetRecordCreated", data={}))
    assert mark() == before
def test_hiding_a_ready_task_fires_not_ready_and_plain_saves_fire_nothing():
    org = builders.organization()
    actor = builders.user(org)
    wf = f.workflow(org, [f.task("a", formFields=[f.field("x")]), f.task("b")],
                    [f.rule("Hide", [f.clause("x", "Is", "yes")], tasks=["b"])])
    run = services.start_run(wf, actor=actor)
    t = f.tasks_of(run)

    before = mark()
    services.set_form_fields(run, {f.field_id(run, "X"): "yes"}, actor=actor)
    assert events_since(before) == [("TaskNotReady", t["B"].pk, "")]

    before = mark()  # saves that name no changed field are not changes
    for row in (run, *f.tasks_of(run).values(), *f.values_of(run).values()):
        type(row).objects.get(pk=row.pk).save()
    assert events_since(before) == []


def test_a_form_response_fires_completed_once_when_submitted():
    org = builders.organization()
    actor = builders.user(org)
    form = create_form(org, "Survey", [f.field("email", "Email")])
    field_id = FormField.objects.get(form=form).id
    response = form_services.create_form_response(form, {}, actor=actor)
    form_services.update_form_response(response, {field_id: "a@example.com"}, actor=actor)
    FormResponse.objects.get(pk=response.pk).save()
    assert not Event.objects.filter(type="FormResponseCompleted").exists()

    form_services.submit_form_response(response, actor=actor)
    FormResponse.objects.get(pk=response.pk).save()
    assert list(Event.objects.filter(type="FormResponseCompleted")
                .values_list("subject_id", flat=True)) == [response.pk]
