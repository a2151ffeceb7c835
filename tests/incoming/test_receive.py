"""POST /incoming/<token> over real HTTP: happy paths, disabled, signatures, bad input."""

import json
import time

import pytest

from datasets.models import DataSetRecord
from delivery.models import Delivery
from events.models import Event
from incoming.models import IncomingOutcome, IncomingRequest
from incoming.views import read_limited
from kernel.signing import sign_headers
from subscriptions import services as subscriptions
from tests.incoming.conftest import assert_error, post
from workflows.models import FormFieldValue, WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {
    "order": {"title": "Order #1001", "due": "2030-05-01T12:00:00Z", "shared": "true",
              "amount": 42.5, "owners": "admin@acme.test"},
    "customer": {"name": "Ada Lovelace"},
}


def values(run) -> dict[str, object]:
    return {v.template.label: v.value
            for v in FormFieldValue.objects.filter(run=run).select_related("template")}


def test_workflow_payload_starts_a_run_mapped_by_jsonpath(world):
    outgoing, _ = subscriptions.create_webhook(
        world.org, {"url": "http://127.0.0.1:9/hook", "triggers": ["ChecklistCreated"]}
    )
    hook = world.workflow_hook()
    assert hook.public_url.startswith(world.base + "/incoming/")

    response = post(hook.public_url, json=ORDER)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "created" and body["id"]
    run = WorkflowRun.objects.get(pk=body["objectId"])
    assert run.workflow_id == world.workflow.pk
    assert run.name == "Order #1001"
    assert run.shared is True
    assert run.due_date.isoformat().startswith("2030-05-01T12:00")
    assert [m.user.email for m in run.assignees.all()] == ["admin@acme.test"]
    assert values(run) == {"Customer": "Ada Lovelace", "Amount": 42.5, "Contact": None}
    events = Event.objects.filter(type="ChecklistCreated", run_id=run.pk)
    assert events.count() == 1
    assert Delivery.objects.filter(event__in=events, webhook=outgoing).count() == 1
    stored = IncomingRequest.objects.get(pk=body["id"])
    assert (stored.outcome, stored.status_code, stored.created_object_id) == (
        IncomingOutcome.CREATED, 202, run.pk)
    assert json.loads(stored.body) == ORDER


def test_unmatched_paths_leave_fields_empty_and_name_defaults(world):
    hook = world.workflow_hook()
    response = post(hook.public_url, json={"unrelated": True})
    assert response.status_code == 202, response.text
    run = WorkflowRun.objects.get(pk=response.json()["objectId"])
    assert run.name == "Fulfilment (incoming)"
    assert set(values(run).values()) == {None}


def test_form_encoded_body(world):
    hook = world.workflow_hook({
        "properties": {"Name": "$.title"},
        "formFields": {world.field("Customer"): "$.customer",
                       world.field("Amount"): "$.amount"},
    })
    response = post(hook.public_url, data={"title": "From a form", "customer": "Grace",
                                           "amount": "7"})
    assert response.status_code == 202, response.text
    run = WorkflowRun.objects.get(pk=response.json()["objectId"])
    assert run.name == "From a form"
    assert values(run)["Customer"] == "Grace" and values(run)["Amount"] == 7


def test_data_set_payload_creates_then_updates_by_key(world):
    hook = world.data_set_hook()
    first = post(hook.public_url, json={"email": "ada@x.test", "name": "Ada", "revenue": 10})
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "created"
    record = DataSetRecord.objects.get(pk=first.json()["objectId"])
    assert record.cells == {world.column("Email"): "ada@x.test", world.column("Name"): "Ada",
                            world.column("Revenue"): 10}

    second = post(hook.public_url, json={"email": "ada@x.test", "revenue": "25"})
    assert second.status_code == 202, second.text
    assert second.json() | {"id": None} == {"id": None, "status": "updated",
                                            "objectId": record.pk}
    record.refresh_from_db()
    assert record.cells[world.column("Revenue")] == 25
    assert record.cells[world.column("Name")] == "Ada"  # not in the payload: left as it was

    third = post(hook.public_url, json={"email": "bob@x.test", "name": "Bob"})
    assert third.json()["status"] == "created"
    assert DataSetRecord.objects.filter(data_set=world.data_set).count() == 2
    types = list(Event.objects.filter(data_set_id=world.data_set.pk)
                 .order_by("created_date").values_list("type", flat=True))
    assert types == ["DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordCreated"]


def test_data_set_without_key_column_always_creates(world):
    hook = world.data_set_hook(key_column=False)
    for _ in range(2):
        assert post(hook.public_url, json={"email": "same@x.test"}).json()["status"] == "created"
    assert DataSetRecord.objects.filter(data_set=world.data_set).count() == 2


def test_disabled_answers_202_and_drops(world):
    hook = world.workflow_hook(status="Disabled")
    response = post(hook.public_url, json=ORDER)
    assert response.status_code == 202
    assert response.json()["status"] == "dropped" and response.json()["objectId"] is None
    assert WorkflowRun.objects.count() == 0
    stored = IncomingRequest.objects.get(pk=response.json()["id"])
    assert stored.outcome == IncomingOutcome.DROPPED and json.loads(stored.body) == ORDER


def _signed(hook, body: bytes, *, timestamp=None, secret=None) -> dict:
    headers = sign_headers("msg_1", int(timestamp or time.time()), body,
                           [secret or hook.signing_secret])
    return {**headers, "Content-Type": "application/json"}


def test_signed_request_is_accepted(world):
    hook = world.workflow_hook(verify_signatures=True)
    assert hook.signing_secret.startswith("whsec_")
    body = json.dumps(ORDER).encode()
    response = post(hook.public_url, data=body, headers=_signed(hook, body))
    assert response.status_code == 202, response.text
    assert WorkflowRun.objects.count() == 1


@pytest.mark.parametrize("case", ["missing", "wrong secret", "stale", "tampered"])
def test_bad_signature_is_401_and_creates_nothing(world, case):
    from kernel.signing import generate_secret

    hook = world.workflow_hook(verify_signatures=True)
    body = json.dumps(ORDER).encode()
    headers = {
        "missing": {"Content-Type": "application/json"},
        "wrong secret": _signed(hook, body, secret=generate_secret()),
        "stale": _signed(hook, body, timestamp=time.time() - 301),
        "tampered": _signed(hook, b'{"order": {}}'),
    }[case]
    response = post(hook.public_url, data=body, headers=headers)
    assert_error(response, 401, "Unauthorized")
    assert WorkflowRun.objects.count() == 0
    assert IncomingRequest.objects.get().outcome == IncomingOutcome.REJECTED


def test_not_json_is_400(world):
    hook = world.workflow_hook()
    response = post(hook.public_url, data=b"{not json",
                    headers={"Content-Type": "application/json"})
    assert_error(response, 400, "BadRequest")
    assert WorkflowRun.objects.count() == 0
    stored = IncomingRequest.objects.get()
    assert (stored.outcome, stored.status_code, stored.body) == ("rejected", 400, "{not json")


def test_too_large_is_413(world, settings):
    hook = world.workflow_hook()
    big = {"pad": "x" * (1024 * 1024)}
    assert_error(post(hook.public_url, json=big), 413, "PayloadTooLarge")
    settings.INCOMING_WEBHOOK_MAX_BYTES = 100
    assert_error(post(hook.public_url, json={"pad": "x" * 200}), 413, "PayloadTooLarge")
    assert post(hook.public_url, json={"pad": "x"}).status_code == 202
    assert WorkflowRun.objects.count() == 1
    assert IncomingRequest.objects.filter(status_code=413).count() == 2


def test_body_is_also_limited_while_reading():
    import io

    assert read_limited(io.BytesIO(b"x" * 10), 10) == b"x" * 10
    assert read_limited(io.BytesIO(b"x" * 11), 10) is None


@pytest.mark.parametrize("payload,field", [
    ({"order": {"amount": "lots"}}, "amount"),
    ({"order": {"due": "next tuesday"}}, "DueDate"),
    ({"order": {"shared": "maybe"}}, "Shared"),
    ({"order": {"owners": ["nobody@else.test"]}}, "Assignees"),
])
def test_value_that_does_not_fit_is_400_naming_the_field(world, payload, field):
    hook = world.workflow_hook()
    response = post(hook.public_url, json=payload)
    field_id = world.field("Amount") if field == "amount" else field
    body = assert_error(response, 400, "Validation", field_id)
    assert field_id in body["error"]
    assert WorkflowRun.objects.count() == 0
    assert Event.objects.count() == 0
    assert IncomingRequest.objects.get().outcome == IncomingOutcome.REJECTED


def test_bad_cell_for_data_set_is_400_and_nothing_written(world):
    hook = world.data_set_hook()
    response = post(hook.public_url, json={"email": "a@x.test", "revenue": "much"})
    assert_error(response, 400, "Validation", world.column("Revenue"))
    assert DataSetRecord.objects.count() == 0


def test_unknown_or_deleted_token_is_404(world):
    assert_error(post(f"{world.base}/incoming/nope-not-a-token", json={}), 404, "NotFound")
    hook = world.workflow_hook()
    url = hook.public_url
    hook.delete()
    assert_error(post(url, json=ORDER), 404, "NotFound")
    assert WorkflowRun.objects.count() == 0
