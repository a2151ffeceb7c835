"""Every event type, from a domain change through the outbox, Redis and a real worker to a real
HTTP receiver, with its payload checked key for key against the spec's examples."""

import json
import re
import time

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook as StandardWebhook

from datasets.services import create_data_set, create_record, delete_record, update_record
from delivery.models import Delivery, DeliveryStatus
from events.models import Event
from subscriptions.services import create_webhook
from tests.support.builders import organization_with_admin
from workflows import services
from workflows.builder import create_form, create_workflow
from workflows.form_services import create_form_response, submit_form_response
from workflows.models import Task

pytestmark = pytest.mark.integration

MUID = re.compile(r"^[A-Za-z0-9_-]{22}$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
USER_KEYS = {"id", "email", "username"}
TASK_KEYS = {"id", "updatedDate", "updatedBy", "taskTemplateGroupId", "taskType", "status",
             "stopped", "hidden", "name", "formFields", "checklist"}
RUN_TASK_KEYS = {"id", "updatedDate", "updatedBy", "status", "stopped", "hidden", "name",
                 "taskTemplateGroupId"}
RUN_KEYS = {"id", "name", "audit", "template", "formFields", "tasks"}
FIELD_KEYS = {"id", "hidden", "updatedDate", "updatedBy", "label", "type", "value"}
RECORD_KEYS = {"recordId", "audit", "organizationId", "dataSetId", "dataSetName", "dataSetUrl",
               "cells"}
APPROVAL_KEYS = {"reviewedBy", "status", "comment", "task"}
WORKFLOW_TRIGGERS = ["TaskCheckedUnchecked", "ChecklistCreated", "ChecklistCompleted",
                     "TaskReady", "TaskNotReady", "TaskApproved", "TaskRejected"]


def wait_all_delivered(count: int, timeout: float = 60.0) -> list[Delivery]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = list(Delivery.objects.all())
        if len(deliveries) >= count and all(
            d.status == DeliveryStatus.SUCCEEDED for d in deliveries
        ):
            return deliveries
        time.sleep(0.2)
    states = [(d.event.type, d.status, d.last_error) for d in Delivery.objects.all()]
    raise AssertionError(f"not all {count} delivered: {states}")


def check_user(value):
    assert set(value) == USER_KEYS and MUID.match(value["id"])


def check_task(data, *, completed: bool):
    extra = {"completedDate", "completedBy"} if completed else set()
    assert set(data) == TASK_KEYS | extra, set(data) ^ (TASK_KEYS | extra)
    assert MUID.match(data["id"]) and ISO_MS.match(data["updatedDate"])
    assert data["status"] in {"Completed", "NotCompleted"}
    assert set(data["checklist"]) == {"id", "name"}
    for field in data["formFields"]:
        assert set(field) == FIELD_KEYS


def check_run(data, *, completed: bool):
    extra = {"completedDate", "completedBy"} if completed else set()
    assert set(data) == RUN_KEYS | extra
    assert set(data["audit"]) == {"createdDate", "createdBy", "updatedDate", "updatedBy"}
    assert ISO_MS.match(data["audit"]["createdDate"])
    check_user(data["audit"]["createdBy"])
    assert set(data["template"]) == {"id", "name"}
    for task in data["tasks"]:
        assert RUN_TASK_KEYS <= set(task) <= RUN_TASK_KEYS | {"completedDate", "completedBy"}
    for field in data["formFields"]:
        assert set(field) == FIELD_KEYS


def test_every_event_type_reaches_the_receiver_with_the_spec_shape(worker, receiver):
    organization, admin = organization_with_admin()
    actor = admin.user
    workflow = create_workflow(organization, "Repairs", tasks=[
        {"key": "quote", "name": "Quote", "formFields": [
            {"key": "amount", "label": "Amount", "type": "Number"}]},
        {"key": "review", "name": "Review", "taskType": "Approval", "subjects": ["quote"]},
        {"key": "ship", "name": "Ship"},
    ])
    data_set = create_data_set(organization, "Customers", [{"name": "Name", "fieldType": "Text"}])
    form = create_form(organization, "Feedback", [{"label": "Comment", "type": "Text"}])
    secrets = {}
    for triggers in (WORKFLOW_TRIGGERS,
                     ["DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordDeleted"],
                     ["FormResponseCompleted"]):
        webhook, secrets[triggers[0]] = create_webhook(
            organization, {"url": receiver.url, "triggers": triggers}, actor=actor
        )

    run = services.start_run(workflow, actor=actor, name="Wayne Manor",
                             field_values={})
    tasks = {t.name: t for t in Task.objects.filter(run=run)}
    services.set_form_fields(
        run, {run.field_values.get().template_id: 1200}, actor=actor
    )
    services.check_task(tasks["Quote"], actor=actor)
    services.reject(Task.objects.get(pk=tasks["Review"].pk), actor=actor, comment="Too high")
    services.check_task(Task.objects.get(pk=tasks["Quote"].pk), actor=actor)
    services.approve(Task.objects.get(pk=tasks["Review"].pk), actor=actor, comment="OK")
    services.check_task(Task.objects.get(pk=tasks["Ship"].pk), actor=actor)

    field_id = data_set.fields.get().id
    record = create_record(data_set, {field_id: "Bruce"}, actor=actor)
    record = update_record(record, {field_id: "Bruce Wayne"}, actor=actor)
    delete_record(record, actor=actor)
    response = create_form_response(form, {form.fields.get().id: "Great"}, actor=actor)
    submit_form_response(response, actor=actor)

    events = list(Event.objects.order_by("created_date"))
    deliveries = wait_all_delivered(len(events))
    assert len(deliveries) == len(events)
    received = receiver.wait_for(len(events))
    bodies = {json.loads(r.body)["id"]: r for r in received}
    types = [e.type for e in events]
    assert set(types) == {
        "ChecklistCreated", "TaskReady", "TaskCheckedUnchecked", "TaskNotReady",
        "TaskRejected", "TaskApproved", "ChecklistCompleted", "DataSetRecordCreated",
        "DataSetRecordUpdated", "DataSetRecordDeleted", "FormResponseCompleted",
    }
    for event in events:
        request = bodies[event.id]
        assert request.body == event.body.encode()
        envelope = json.loads(request.body)
        assert list(envelope) == ["id", "createdDate", "data", "type"]
        assert MUID.match(envelope["id"]) and ISO_MS.match(envelope["createdDate"])
        headers = {k.lower(): v for k, v in request.headers.items()}
        kind = ("FormResponseCompleted" if event.type == "FormResponseCompleted" else
                "DataSetRecordCreated" if event.type.startswith("DataSet") else
                "TaskCheckedUnchecked")
        StandardWebhook(secrets[kind]).verify(request.body, headers)
        data = envelope["data"]
        if event.type in {"ChecklistCreated", "ChecklistCompleted"}:
            check_run(data, completed=event.type == "ChecklistCompleted")
        elif event.type in {"TaskApproved", "TaskRejected"}:
            assert list(data) == ["reviewedBy", "status", "comment", "task"]
            check_user(data["reviewedBy"])
            check_task(data["task"], completed=data["task"]["status"] == "Completed")
            assert data["task"]["checklist"] == {"id": run.id, "name": "Wayne Manor"}
        elif event.type.startswith("Task"):
            check_task(data, completed=data["status"] == "Completed")
            assert data["checklist"]["id"] == run.id
        elif event.type.startswith("DataSet"):
            assert set(data) == RECORD_KEYS
            assert data["dataSetId"] == data_set.id and data["organizationId"] == organization.id
        else:
            assert data["form"] == {"id": form.id, "name": "Feedback"}
            assert data["formFields"][0]["value"] == "Great"

    by_type = {}
    for event in events:
        by_type.setdefault(event.type, []).append(json.loads(event.body)["data"])
    created = by_type["ChecklistCreated"][0]
    assert [t["name"] for t in created["tasks"]] == ["Quote", "Review", "Ship"]
    assert by_type["ChecklistCompleted"][0]["completedBy"]["email"] == "admin@acme.test"
    assert by_type["TaskRejected"][0]["comment"] == "Too high"
    assert by_type["TaskRejected"][0]["task"]["status"] == "NotCompleted"
    assert by_type["TaskApproved"][0]["status"] == "Approved"
    assert by_type["DataSetRecordUpdated"][0]["cells"] == {field_id: "Bruce Wayne"}
    assert by_type["DataSetRecordDeleted"][0]["cells"] == {field_id: "Bruce Wayne"}
    number_field = created["formFields"][0]
    assert number_field["label"] == "Amount" and number_field["type"] == "Number"
    completed_fields = by_type["ChecklistCompleted"][0]["formFields"]
    assert completed_fields[0]["value"] == "1200"


def test_task_checked_and_unchecked_triggers_filter_by_direction(worker, receiver):
    organization, admin = organization_with_admin()
    workflow = create_workflow(organization, "W", tasks=[{"key": "a", "name": "A"},
                                                         {"key": "b", "name": "B"}])
    create_webhook(organization, {"url": receiver.url + "/checked", "triggers": ["TaskChecked"]})
    create_webhook(organization, {"url": receiver.url + "/unchecked",
                                  "triggers": ["TaskUnchecked"]})
    run = services.start_run(workflow, actor=admin.user)
    task = Task.objects.get(run=run, name="A")
    services.check_task(task, actor=admin.user)
    services.uncheck_task(Task.objects.get(pk=task.pk), actor=admin.user)
    requests = receiver.wait_for(2)
    time.sleep(0.5)
    assert len(receiver.requests) == 2
    by_path = {r.path: json.loads(r.body)["data"]["status"] for r in requests}
    assert by_path == {"/hook/checked": "Completed", "/hook/unchecked": "NotCompleted"}


def test_scope_to_one_workflow_and_one_task(worker, receiver):
    organization, admin = organization_with_admin()
    tasks = [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}]
    mine = create_workflow(organization, "Mine", tasks=tasks)
    other = create_workflow(organization, "Other", tasks=tasks)
    group_a = mine.latest_version().task_templates.get(name="A").group_id
    create_webhook(organization, {"url": receiver.url, "triggers": ["TaskCheckedUnchecked"],
                                  "workflow": mine, "task_group_id": group_a})
    for workflow in (mine, other):
        run = services.start_run(workflow, actor=admin.user)
        for task in Task.objects.filter(run=run):
            services.check_task(task, actor=admin.user)
    (request,) = receiver.wait_for(1)
    time.sleep(1.0)
    assert len(receiver.requests) == 1
    data = json.loads(request.body)["data"]
    assert data["name"] == "A" and data["taskTemplateGroupId"] == group_a


def test_a_rolled_back_change_sends_nothing(worker, receiver):
    organization, admin = organization_with_admin()
    data_set = create_data_set(organization, "D", [{"name": "Name", "fieldType": "Text"}])
    create_webhook(organization, {"url": receiver.url, "triggers": ["DataSetRecordCreated"]})
    field_id = data_set.fields.get().id
    with pytest.raises(RuntimeError), transaction.atomic():
        create_record(data_set, {field_id: "Ghost"}, actor=admin.user)
        raise RuntimeError("the request failed after the record was written")
    create_record(data_set, {field_id: "Real"}, actor=admin.user)
    (request,) = receiver.wait_for(1)
    time.sleep(1.0)
    assert len(receiver.requests) == 1
    assert json.loads(request.body)["data"]["cells"] == {field_id: "Real"}
    assert Event.objects.count() == 1 and Delivery.objects.count() == 1


def test_an_unrelated_save_fires_nothing(worker, receiver):
    organization, admin = organization_with_admin()
    workflow = create_workflow(organization, "W", tasks=[{"key": "a", "name": "A"}])
    run = services.start_run(workflow, actor=admin.user)
    before = Event.objects.count()
    task = Task.objects.get(run=run)
    task.save()
    run.save()
    assert Event.objects.count() == before
