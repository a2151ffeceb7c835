"""The body of a TaskReady / TaskNotReady event: the spec's task event shape, naming its run."""

import json
import re

import pytest

from events.models import Event
from kernel.timefmt import iso_ms
from tests.domain import factories as f
from tests.readiness.harness import NOT_READY, READY, fld, task
from tests.support import builders
from workflows import services
from workflows.models import Task

pytestmark = pytest.mark.django_db

MUID = re.compile(r"^[A-Za-z0-9_-]{22}$")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
# The keys of the task in the spec's approval example (a task that is not completed).
SPEC_TASK_KEYS = {
    "id", "updatedDate", "updatedBy", "taskTemplateGroupId", "taskType", "status", "stopped",
    "hidden", "name", "formFields", "checklist",
}


@pytest.fixture
def setup():
    org = builders.organization()
    actor = builders.user(org, "runner@example.com")
    wf = f.workflow(org, [
        task("Intake", fld("size", "Number")),
        task("Gate", stopTask=True),
        task("Pack", fld("notes"), fld("box", "Select", options=["small", "large"])),
    ], name="Shipping")
    run = services.start_run(wf, actor=actor, name="Order 42")
    return run, actor


def bodies(event_type):
    return [(e, json.loads(e.body)) for e in Event.objects.filter(type=event_type)]


def assert_task_event(event, body, run, task_row):
    assert list(body) == ["id", "createdDate", "data", "type"]
    assert MUID.match(body["id"]) and body["id"] == event.pk
    assert ISO_MS_Z.match(body["createdDate"])
    assert body["createdDate"] == iso_ms(event.created_date)
    assert body["type"] == event.type

    data = body["data"]
    assert set(data) == SPEC_TASK_KEYS
    assert data["id"] == task_row.pk == event.subject_id
    assert data["name"] == task_row.name
    assert data["taskType"] == "Standard"
    assert data["taskTemplateGroupId"] == task_row.template.group_id
    assert MUID.match(data["taskTemplateGroupId"])
    assert ISO_MS_Z.match(data["updatedDate"])
    assert data["status"] == "NotCompleted"
    assert data["checklist"] == {"id": run.pk, "name": "Order 42"}
    assert event.run_id == run.pk and event.workflow_id == run.workflow_id
    assert event.task_group_id == task_row.template.group_id


def test_task_ready_body(setup):
    run, actor = setup
    tasks = f.tasks_of(run)
    [(event, body)] = [(e, b) for e, b in bodies(READY) if b["data"]["name"] == "Intake"]
    assert_task_event(event, body, run, tasks["Intake"])
    data = body["data"]
    assert (data["stopped"], data["hidden"]) == (False, False)
    assert set(data["updatedBy"]) == {"id", "email", "username"}
    assert data["updatedBy"]["email"] == "runner@example.com"
    assert [(v["label"], v["type"], v["value"]) for v in data["formFields"]] == [
        ("size", "Number", None),
    ]


def test_task_ready_after_unstopping_and_not_ready_after_stopping(setup):
    run, actor = setup
    services.check_task(f.tasks_of(run)["Gate"], actor=actor)
    [(event, body)] = [(e, b) for e, b in bodies(READY) if b["data"]["name"] == "Pack"]
    pack = Task.objects.select_related("template").get(pk=event.subject_id)
    assert_task_event(event, body, run, pack)
    assert (body["data"]["stopped"], body["data"]["hidden"]) == (False, False)
    assert [v["label"] for v in body["data"]["formFields"]] == ["notes", "box"]

    services.uncheck_task(f.tasks_of(run)["Gate"], actor=actor)
    [(event, body)] = bodies(NOT_READY)
    assert_task_event(event, body, run, pack)
    assert (body["data"]["stopped"], body["data"]["hidden"]) == (True, False)
