"""Repeated Idempotency-Key / webhook-id headers: one object, the first answer replayed, also for
duplicates that arrive at the same moment."""

import threading

import pytest

from datasets.models import DataSetRecord
from incoming.models import IncomingRequest
from tests.incoming.conftest import post
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)


def test_repeated_idempotency_key_returns_the_first_answer(world):
    hook = world.workflow_hook()
    headers = {"Idempotency-Key": "order-1001"}
    first = post(hook.public_url, json={"order": {"title": "A"}}, headers=headers)
    second = post(hook.public_url, json={"order": {"title": "A"}}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert WorkflowRun.objects.count() == 1
    outcomes = sorted(IncomingRequest.objects.values_list("outcome", flat=True))
    assert outcomes == ["created", "duplicate"]
    other = post(hook.public_url, json={}, headers={"Idempotency-Key": "order-1002"})
    assert other.json()["objectId"] != first.json()["objectId"]
    assert WorkflowRun.objects.count() == 2


def test_webhook_id_header_is_an_idempotency_key(world):
    hook = world.data_set_hook(key_column=False)
    answers = [post(hook.public_url, json={"email": "a@x.test"},
                    headers={"webhook-id": "msg_abc"}).json() for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert DataSetRecord.objects.count() == 1


def test_key_older_than_the_window_counts_as_new(world, settings):
    settings.INCOMING_IDEMPOTENCY_SECONDS = 0
    hook = world.workflow_hook()
    headers = {"Idempotency-Key": "k"}
    first = post(hook.public_url, json={}, headers=headers).json()
    second = post(hook.public_url, json={}, headers=headers).json()
    assert first["objectId"] != second["objectId"]


def test_a_rejected_request_does_not_use_up_its_key(world):
    hook = world.workflow_hook()
    headers = {"Idempotency-Key": "retry-me"}
    assert post(hook.public_url, json={"order": {"amount": "x"}}, headers=headers
                ).status_code == 400
    assert post(hook.public_url, json={"order": {"amount": 1}}, headers=headers
                ).status_code == 202
    assert WorkflowRun.objects.count() == 1


@pytest.mark.parametrize("target", ["workflow", "data set"])
def test_concurrent_duplicates_create_one_object(world, target):
    hook = world.workflow_hook() if target == "workflow" else world.data_set_hook()
    payload = {"order": {"title": "Race"}, "email": "race@x.test"}
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    answers: list = [None] * threads_count

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = post(hook.public_url, json=payload,
                              headers={"Idempotency-Key": "same-key"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [a.status_code for a in answers] == [202] * threads_count, [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert len({b["objectId"] for b in bodies}) == 1
    assert len({b["id"] for b in bodies}) == 1
    model = WorkflowRun if target == "workflow" else DataSetRecord
    assert model.objects.count() == 1
    outcomes = sorted(IncomingRequest.objects.values_list("outcome", flat=True))
    assert outcomes == ["created"] + ["duplicate"] * (threads_count - 1)
