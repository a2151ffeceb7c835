"""Incoming webhook tests run against a real threaded HTTP server (pytest-django's live_server)
on a committed database, posting with `requests` as a sender would."""

from dataclasses import dataclass

import pytest
import requests

from accounts.models import Role
from datasets.services import create_data_set
from incoming.services import create_incoming_webhook
from tests.support import builders
from workflows.builder import create_workflow

TASKS = [
    {
        "key": "intake", "name": "Intake",
        "formFields": [
            {"key": "customer", "label": "Customer", "type": "Text"},
            {"key": "amount", "label": "Amount", "type": "Number"},
            {"key": "email", "label": "Contact", "type": "Email"},
        ],
    },
    {"key": "ship", "name": "Ship"},
]


@dataclass
class World:
    base: str
    org: object
    admin_key: str
    member_key: str
    other_admin_key: str
    admin_email: str
    workflow: object
    data_set: object
    other_workflow: object

    def field(self, label: str) -> str:
        return self.workflow.latest_version().field_templates.get(label=label).id

    def column(self, name: str) -> str:
        return self.data_set.fields.get(name=name).id

    def api(self, method: str, path: str, *, key: str | None = None, **kwargs):
        headers = {"X-API-Key": key or self.admin_key}
        return requests.request(method, f"{self.base}/api/v1{path}", headers=headers,
                                timeout=10, **kwargs)

    def workflow_hook(self, config=None, **extra):
        config = config if config is not None else {
            "properties": {"Name": "$.order.title", "DueDate": "$.order.due",
                           "Shared": "$.order.shared", "Assignees": "$.order.owners"},
            "formFields": {self.field("Customer"): "$.customer.name",
                           self.field("Amount"): "$.order.amount"},
        }
        return create_incoming_webhook(
            self.org, workflow=self.workflow, name="From the shop", config=config, **extra
        )

    def data_set_hook(self, *, key_column: bool = True, **extra):
        config = {"columns": {self.column("Email"): "$.email", self.column("Name"): "$.name",
                              self.column("Revenue"): "$.revenue"}}
        if key_column:
            config["keyColumn"] = self.column("Email")
        return create_incoming_webhook(
            self.org, data_set=self.data_set, name="CRM sync", config=config, **extra
        )


@pytest.fixture
def world(live_server, settings, transactional_db) -> World:
    settings.PUBLIC_BASE_URL = live_server.url
    org = builders.organization("Acme")
    other = builders.organization("Globex")
    admin = builders.member(org, "admin@acme.test", Role.ADMIN)
    member = builders.member(org, "member@acme.test", Role.MEMBER)
    other_admin = builders.member(other, "admin@globex.test", Role.ADMIN)
    workflow = create_workflow(org, "Fulfilment", tasks=TASKS)
    data_set = create_data_set(org, "Customers", [
        {"name": "Email", "fieldType": "Text"}, {"name": "Name", "fieldType": "Text"},
        {"name": "Revenue", "fieldType": "Number"},
    ])
    other_workflow = create_workflow(other, "Theirs", tasks=TASKS)
    return World(
        base=live_server.url, org=org,
        admin_key=builders.api_key(admin),
        member_key=builders.api_key(member),
        other_admin_key=builders.api_key(other_admin),
        admin_email="admin@acme.test",
        workflow=workflow, data_set=data_set, other_workflow=other_workflow,
    )


def post(url: str, *, json=None, data=None, headers=None) -> requests.Response:
    return requests.post(url, json=json, data=data, headers=headers or {}, timeout=30)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "errorCode", "requestId", "details"}, body
    assert body["errorCode"] == code, body
    assert body["error"] and body["requestId"]
    if field is not None:
        assert field in body["details"], body
    return body
