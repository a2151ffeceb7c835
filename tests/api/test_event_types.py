"""The outgoing events as part of the API: a JSON Schema per type that every example body (made
by the real payload code) satisfies, served by GET /api/v1/event-types and in the OpenAPI
schema's webhooks section."""

import copy

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from events.examples import ALL_TYPES, stored_examples
from events.schemas import event_schema


def validator(event_type: str) -> jsonschema.Draft202012Validator:
    schema = event_schema(event_type)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_example_body_satisfies_its_schema(event_type):
    example = stored_examples()[event_type]
    validator(event_type).validate(example)
    validator(event_type).validate({**example, "test": True})  # a test event of that type


def test_schemas_refuse_what_is_not_sent():
    example = stored_examples()["TaskApproved"]
    wrong = {
        "unknown status": ("status", "Done"),
        "unknown task type": ("taskType", "Checklist"),
    }
    for case, (key, value) in wrong.items():
        body = copy.deepcopy(example)
        body["data"]["task"][key] = value
        assert not validator("TaskApproved").is_valid(body), case
    body = copy.deepcopy(example)
    del body["data"]["status"]
    assert not validator("TaskApproved").is_valid(body)
    assert not validator("TaskApproved").is_valid({**example, "type": "TaskRejected"})
    assert not validator("TaskApproved").is_valid({**example, "test": False})
    assert not validator("Ping").is_valid({**stored_examples()["Ping"], "extra": 1})


def test_event_types_endpoint_lists_the_catalogue(api):
    for path in ("/event-types", "/event-types/"):
        response = api.get(path, as_="member")
        assert response.status_code == 200, response.content
        rows = response.json()["data"]
        assert [row["type"] for row in rows] == ALL_TYPES
    by_type = {row["type"]: row for row in rows}
    approved = by_type["TaskApproved"]
    assert approved["kind"] == "Workflow" and approved["triggers"] == ["TaskApproved"]
    assert approved["schema"] == event_schema("TaskApproved")
    assert approved["example"] == stored_examples()["TaskApproved"]
    assert by_type["ChecklistCreated"]["triggers"] == ["ChecklistCreated", "WorkflowRunCreated"]
    assert api.get("/event-types", key="").status_code == 401
    assert api.get("/event-types", as_="guest").status_code == 403


def test_openapi_webhooks_section_has_every_event_type():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["openapi"] == "3.1.0"
    assert list(schema["webhooks"]) == ALL_TYPES
    for event_type, item in schema["webhooks"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        name = content["schema"]["$ref"].rsplit("/", 1)[1]
        component = schema["components"]["schemas"][name]
        expected = {k: v for k, v in event_schema(event_type).items() if k != "$schema"}
        assert component == expected
        assert content["example"] == stored_examples()[event_type]
        assert item["post"]["summary"] and "2XX" in item["post"]["responses"]
