"""What an incoming webhook does is by its organization's automation user (accounts/automation.py):
in the domain rows and in every user object of every payload the change causes."""

import json

import pytest
from django.contrib.auth import get_user_model

from accounts.automation import DISPLAY_NAME, automation_user
from accounts.users import user_ref
from datasets.models import DataSetRecord
from events.models import Event
from subscriptions import services as subscriptions
from tests.incoming.conftest import post
from workflows.models import WorkflowRun

pytestmark = pytest.mark.django_db(transaction=True)

USER_KEYS = ("createdBy", "updatedBy", "completedBy", "reviewedBy")
RUN_TRIGGERS = ["ChecklistCreated", "TaskReady"]
RECORD_TRIGGERS = ["DataSetRecordCreated", "DataSetRecordUpdated"]


def user_objects(value, where="data"):
    """(where, value) for every key of `value` that holds a user, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in USER_KEYS:
                yield f"{where}.{key}", item
            yield from user_objects(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from user_objects(item, f"{where}[{index}]")


def assert_all_users_are(events, expected: dict) -> int:
    seen = 0
    for event in events:
        for where, user in user_objects(json.loads(event.body)["data"]):
            if where.endswith("completedBy") and user is None:
                continue
            assert user == expected, (event.type, where, user)
            seen += 1
    return seen


def test_a_run_started_by_an_incoming_webhook_names_the_automation_user(world):
    subscriptions.create_webhook(world.org, {"url": "http://127.0.0.1:9/hook",
                                             "triggers": RUN_TRIGGERS})
    hook = world.workflow_hook()
    response = post(hook.public_url, json={"order": {"title": "From the shop", "amount": 5},
                                           "customer": {"name": "Ada"}})
    assert response.status_code == 202, response.text
    run = WorkflowRun.objects.get(pk=response.json()["objectId"])
    bot = automation_user(world.org)
    assert (run.created_by, run.updated_by) == (bot, bot)
    assert {task.updated_by for task in run.tasks.all()} == {bot}
    assert {value.updated_by for value in run.field_values.all()} == {bot}

    expected = user_ref(bot)
    assert expected["email"].endswith("@automation.invalid") and expected["id"]
    assert expected["username"] == DISPLAY_NAME
    events = Event.objects.filter(run_id=run.pk)
    assert {"ChecklistCreated", "TaskReady"} <= set(events.values_list("type", flat=True))
    created = json.loads(events.get(type="ChecklistCreated").body)["data"]
    assert created["audit"]["createdBy"] == expected
    assert created["audit"]["updatedBy"] == expected
    assert created["tasks"] and created["formFields"]
    assert assert_all_users_are(events, expected) >= 4 + len(created["tasks"])


def test_a_record_written_by_an_incoming_webhook_names_the_automation_user(world):
    subscriptions.create_webhook(world.org, {"url": "http://127.0.0.1:9/hook",
                                             "triggers": RECORD_TRIGGERS})
    hook = world.data_set_hook()
    first = post(hook.public_url, json={"email": "a@x.test", "name": "Ada"})
    again = post(hook.public_url, json={"email": "a@x.test", "name": "Ada L."})
    assert (first.status_code, again.status_code) == (202, 202), (first.text, again.text)
    record = DataSetRecord.objects.get(pk=first.json()["objectId"])
    bot = automation_user(world.org)
    assert (record.created_by, record.updated_by) == (bot, bot)
    expected = user_ref(bot)
    events = Event.objects.filter(data_set_id=world.data_set.pk)
    assert set(events.values_list("type", flat=True)) == {"DataSetRecordCreated",
                                                          "DataSetRecordUpdated"}
    assert assert_all_users_are(events, expected) >= 4


def test_the_automation_user_is_one_per_organization_and_cannot_log_in(world):
    bot = automation_user(world.org)
    assert automation_user(world.org) == bot
    assert get_user_model().objects.filter(username=bot.username).count() == 1
    assert not bot.is_active and not bot.has_usable_password()
    assert not bot.memberships.exists()
    assert bot.get_full_name() == DISPLAY_NAME
