"""The incoming webhook models moved from `subscriptions` to their own app (incoming/migrations,
subscriptions/migrations/0005): a database holding incoming webhooks, their request logs and
idempotency keys, migrated forward, keeps every row, under the new tables, reachable through
the new models and the public URL; and the people and groups who held permissions on the old
models hold the same ones on the new.

Transactional, as migrating is schema changes outside a test transaction, so it runs on SQLite
and on PostgreSQL alike (`python -m tests.support.postgres ...`)."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from incoming.models import IncomingIdempotencyKey, IncomingRequest, IncomingWebhook

pytestmark = pytest.mark.django_db(transaction=True)

# The schema before the move: subscriptions at its last migration then, no `incoming` app.
BEFORE_THE_MOVE = [("subscriptions", "0004_webhook_headers_and_rate_limit"), ("incoming", None)]
# The state whose historical models plant the rows (auth and content types as they are then).
STATE_BEFORE = [
    ("subscriptions", "0004_webhook_headers_and_rate_limit"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def old_apps():
    """The historical apps registry of the database migrated back to before the move; the
    database is left at the latest migrations afterwards whatever the test did."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    try:
        yield MigrationExecutor(connection).loader.project_state(STATE_BEFORE).apps
    finally:
        migrate_to_latest()
        ContentType.objects.clear_cache()


def plant(apps) -> dict:
    """Incoming webhooks of both kinds with requests and an idempotency key, and permissions on
    the old models held by a group and by a user, written with the historical models."""
    Organization = apps.get_model("accounts", "Organization")
    Workflow = apps.get_model("workflows", "Workflow")
    DataSet = apps.get_model("datasets", "DataSet")
    User = apps.get_model("auth", "User")
    OldWebhook = apps.get_model("subscriptions", "IncomingWebhook")
    OldRequest = apps.get_model("subscriptions", "IncomingRequest")
    OldKey = apps.get_model("subscriptions", "IncomingIdempotencyKey")
    OldContentType = apps.get_model("contenttypes", "ContentType")
    OldPermission = apps.get_model("auth", "Permission")
    OldGroup = apps.get_model("auth", "Group")

    organization = Organization.objects.create(name="Acme")
    author = User.objects.create(username="author")
    workflow = Workflow.objects.create(organization=organization, name="Onboarding")
    data_set = DataSet.objects.create(organization=organization, name="Customers")
    now = timezone.now()
    to_run = OldWebhook.objects.create(
        organization=organization, workflow=workflow, name="New hires",
        automation_app="Zapier", config={"properties": {"Name": "$.name"}, "formFields": {}},
        token="token-of-the-run-webhook", signing_secret="whsec_c2VjcmV0",
        created_by=author, updated_by=author,
    )
    to_record = OldWebhook.objects.create(
        organization=organization, data_set=data_set, name="Customer sync",
        config={"columns": {}, "keyColumn": None}, status="Disabled",
        token="token-of-the-record-webhook",
    )
    requests = [
        OldRequest.objects.create(
            incoming_webhook=hook, received_date=now - timedelta(minutes=index),
            outcome=outcome, status_code=status, body=json.dumps({"name": f"n{index}"}),
            content_type="application/json", idempotency_key=f"key-{index}",
            created_object_id="object-id" if status == 202 else "", error=error,
        )
        for index, (hook, outcome, status, error) in enumerate([
            (to_run, "created", 202, ""), (to_run, "rejected", 400, "Name: Enter a text value."),
            (to_record, "dropped", 202, ""),
        ])
    ]
    OldKey.objects.create(
        incoming_webhook=to_run, key="key-0", created_date=now, request=requests[0],
        status_code=202, response={"id": requests[0].pk, "status": "created"},
    )

    content_type, _ = OldContentType.objects.get_or_create(
        app_label="subscriptions", model="incomingwebhook"
    )
    change, _ = OldPermission.objects.get_or_create(
        content_type=content_type, codename="change_incomingwebhook",
        defaults={"name": "Can change incoming webhook"},
    )
    view, _ = OldPermission.objects.get_or_create(
        content_type=content_type, codename="view_incomingwebhook",
        defaults={"name": "Can view incoming webhook"},
    )
    OldGroup.objects.create(name="Incoming editors").permissions.add(change)
    User.objects.create(username="viewer").user_permissions.add(view)
    return {
        "webhooks": {hook.pk: (hook.token, hook.name, hook.config, hook.status,
                               hook.signing_secret, hook.workflow_id, hook.data_set_id,
                               hook.created_by_id) for hook in (to_run, to_record)},
        "requests": {row.pk: (row.incoming_webhook_id, row.outcome, row.status_code, row.body,
                              row.idempotency_key, row.error) for row in requests},
        "content_type_id": content_type.pk,
        "to_record": to_record,
    }


def test_migrating_forward_keeps_every_incoming_webhook_request_and_permission(old_apps):
    planted = plant(old_apps)

    migrate_to_latest()
    ContentType.objects.clear_cache()

    assert {hook.pk: (hook.token, hook.name, hook.config, hook.status, hook.signing_secret,
                      hook.workflow_id, hook.data_set_id, hook.created_by_id)
            for hook in IncomingWebhook.objects.all()} == planted["webhooks"]
    assert {row.pk: (row.incoming_webhook_id, row.outcome, row.status_code, row.body,
                     row.idempotency_key, row.error)
            for row in IncomingRequest.objects.all()} == planted["requests"]
    key = IncomingIdempotencyKey.objects.get()
    assert (key.key, key.request.outcome, key.incoming_webhook.name) == (
        "key-0", "created", "New hires")

    tables = set(connection.introspection.table_names())
    assert {"incoming_incomingwebhook", "incoming_incomingrequest",
            "incoming_incomingidempotencykey"} <= tables
    assert not {table for table in tables if table.startswith("subscriptions_incoming")}

    # The content type was relabelled in place, so the grants on it hold for the new model.
    content_type = ContentType.objects.get_for_model(IncomingWebhook)
    assert content_type.pk == planted["content_type_id"]
    assert not ContentType.objects.filter(app_label="subscriptions",
                                          model__startswith="incoming").exists()
    editors = Group.objects.get(name="Incoming editors")
    assert list(editors.permissions.values_list("content_type__app_label", "codename")) == [
        ("incoming", "change_incomingwebhook")]
    viewer = get_user_model().objects.get(username="viewer")
    assert viewer.has_perm("incoming.view_incomingwebhook")
    assert Permission.objects.filter(content_type=content_type).count() == 4

    # The migrated rows work: a payload to a migrated URL is answered and logged under it.
    hook = IncomingWebhook.objects.get(pk=planted["to_record"].pk)
    response = Client().post(f"/incoming/{hook.token}", {"id": 1},
                             content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "dropped"
    assert hook.requests.count() == 2
