"""Migrating a run to a newer version: tasks mapped by group, statuses and values kept, new
tasks created, dropped ones removed, readiness recomputed without readiness events."""

import pytest
from django.core.exceptions import ValidationError

from events.models import Event
from tests.domain import factories as f
from tests.support import builders
from workflows import services
from workflows.builder import create_version
from workflows.models import Task, VersionStatus

pytestmark = pytest.mark.django_db

NC, C = "NotCompleted", "Completed"


def test_migrate_run_to_new_version():
    org = builders.organization()
    actor = builders.user(org)
    wf = f.workflow(org, [
        f.task("a", formFields=[f.field("size", "Number"), f.field("color", "Select",
                                                                  options=["red", "blue"])]),
        f.task("b"),
        f.task("old"),
    ])
    v1 = wf.latest_version()
    run = services.start_run(wf, actor=actor)
    ids = {label: f.field_id(run, label) for label in ("Size", "Color")}
    services.set_form_fields(run, {ids["Size"]: 7, ids["Color"]: "red"}, actor=actor)
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    before = f.tasks_of(run)

    v2 = create_version(wf, tasks=[
        f.task("a", name="A renamed", formFields=[
            f.field("size", "Number"), f.field("color", "Select", options=["green", "blue"]),
            f.field("extra"),
        ]),
        f.task("gate", stopTask=True),
        f.task("b"),
    ])
    v1.refresh_from_db()
    assert (v1.status, v2.status, v2.number) == (VersionStatus.REVISED, VersionStatus.FINISHED, 2)

    count_before = Event.objects.filter(type__in=["TaskReady", "TaskNotReady"]).count()
    assert count_before > 0  # readiness events are recorded, so their absence below means it
    services.migrate_run_to_version(run, v2, actor=actor)

    run.refresh_from_db()
    assert run.version == v2
    after = f.tasks_of(run)
    assert f.states(run) == {
        "A renamed": (C, False, False, True),
        "Gate": (NC, False, False, True),
        "B": (NC, False, True, False),  # now behind the new stop task
    }
    assert after["A renamed"].pk == before["A"].pk
    assert after["A renamed"].completed_by == actor
    assert after["B"].pk == before["B"].pk
    assert [t.order for t in Task.objects.filter(run=run).order_by("order")] == [0, 1, 2]
    assert not Task.objects.filter(pk=before["Old"].pk).exists()
    values = f.values_of(run)
    assert {k: v.value for k, v in values.items()} == {"Size": 7, "Color": None, "Extra": None}
    assert all(v.template.version_id == v2.pk for v in values.values())
    # Readiness changed (B is stopped now) without a readiness event.
    assert Event.objects.filter(type__in=["TaskReady", "TaskNotReady"]).count() == count_before

    with pytest.raises(ValidationError) as error:
        services.migrate_run_to_version(run, f.workflow(org, [f.task("x")]).latest_version(),
                                        actor=actor)
    assert list(error.value.message_dict) == ["version"]
