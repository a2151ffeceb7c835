"""Fixtures for the API tests: an `api` helper calling /api/v1/ with X-API-Key as a member of
one of the two organizations of `orgs` (tests/conftest.py), and a sample of domain data."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.support.builders import Org


class Api:
    """`api.get("/workflows")` calls /api/v1/workflows as org A's Admin; `as_=` and `org=`
    choose another caller, `key=` a raw key."""

    def __init__(self, orgs: dict[str, Org]) -> None:
        self.orgs = orgs
        self.client = APIClient()

    def call(self, method, path, data=None, *, as_="admin", org="a", key=None, **extra):
        raw = key if key is not None else self.orgs[org].keys[as_]
        url = path if path.startswith("http") or path.startswith("/api/") else f"/api/v1{path}"
        headers = {"HTTP_X_API_KEY": raw} if raw else {}
        return getattr(self.client, method)(url, data, format="json", **headers, **extra)

    def get(self, path, data=None, **kw):
        return self.call("get", path, data, **kw)

    def post(self, path, data=None, **kw):
        return self.call("post", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self.call("put", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self.call("patch", path, data, **kw)

    def delete(self, path, data=None, **kw):
        return self.call("delete", path, data, **kw)


@pytest.fixture
def api(orgs) -> Api:
    return Api(orgs)


def assert_error(response, status: int, field: str | None = None):
    """The error body shape every error has; `field` must be named in `details`."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error", "errorCode", "requestId", "details"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["requestId"], str) and body["requestId"]
    if field is not None:
        assert field in body["details"], body
    return body


TASKS = [
    {
        "key": "intro", "name": "Intro",
        "formFields": [
            {"key": "name", "label": "Name", "type": "Text", "required": True},
            {"key": "amount", "label": "Amount", "type": "Number"},
            {"key": "choice", "label": "Choice", "type": "Select", "options": ["a", "b"]},
        ],
    },
    {"key": "gate", "name": "Gate", "stopTask": True},
    {"key": "after", "name": "After the gate"},
    {"key": "review", "name": "Review", "taskType": "Approval", "subjects": ["intro"]},
    {"key": "extra", "name": "Extra", "hiddenByDefault": True},
]
RULES = [
    {
        "condition": {"or": [{"and": [{"field": "choice", "operator": "Is", "value": "b"}]}]},
        "action": "Show",
        "targets": {"tasks": ["extra"]},
    }
]


@dataclass
class World:
    workflow: object
    form: object
    data_set: object
    other_workflow: object
    other_form: object
    other_data_set: object

    def field_id(self, label: str) -> str:
        version = self.workflow.latest_version()
        return version.field_templates.get(label=label).id

    def form_field_id(self, label: str) -> str:
        return self.form.fields.get(label=label).id

    def column(self, name: str) -> str:
        return self.data_set.fields.get(name=name).id


@pytest.fixture
def world(orgs) -> World:
    from datasets.services import create_data_set
    from workflows.builder import create_form, create_workflow

    def build(org: Org):
        actor = org.admin.user
        workflow = create_workflow(org.org, "Onboarding", tasks=TASKS, rules=RULES, actor=actor)
        form = create_form(org.org, "Feedback", [
            {"label": "Comment", "type": "Text", "required": True},
            {"label": "Score", "type": "Number"},
        ])
        data_set = create_data_set(org.org, "Customers", [
            {"name": "Name", "fieldType": "Text"},
            {"name": "Revenue", "fieldType": "Number"},
            {"name": "Since", "fieldType": "DateTime"},
        ])
        return workflow, form, data_set

    a, b = build(orgs["a"]), build(orgs["b"])
    return World(*a, *b)


@pytest.fixture
def start(api, world, orgs):
    """Starts a run in org A through the API; returns its JSON."""

    def _start(**body):
        body.setdefault("workflowId", world.workflow.id)
        response = api.post("/workflow-runs", body)
        assert response.status_code == 201, response.json()
        return response.json()

    return _start
