"""The API keeps the contract its OpenAPI schema states: every operation documents its error
answers with the error body, typed query parameters are checked (400 naming them), bodies are of
the stated types and keys, and URLs no route matches answer with the JSON error body."""

import pytest
from django.test import Client

ERROR_KEYS = {"error", "errorCode", "requestId", "details"}


@pytest.fixture
def schema(api):
    response = api.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def test_every_operation_states_its_error_answers_with_the_error_body(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == ERROR_KEYS
    count = 0
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "414", "429", "431"}
        if "requestBody" in operation:
            expected |= {"413", "415"}
        if method != "get":
            expected.add("409")
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, status)
        assert "Retry-After" in responses["429"]["headers"]
        count += 1
    assert count == 68  # every operation of the API, the event catalogue's two included


def test_request_bodies_are_closed_and_paging_is_bounded_in_the_schema(schema):
    for name, component in schema["components"]["schemas"].items():
        if name.endswith("Request") and "properties" in component:
            assert component["additionalProperties"] is False, name
    limit = next(parameter for _, _, operation in operations(schema)
                 for parameter in operation.get("parameters", [])
                 if parameter["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=201", "limit=1.5",
                                   "page=abc", "page=0", "page=-1"])
def test_wrongly_typed_paging_is_a_400_naming_the_parameter(api, query):
    response = api.get(f"/workflows?{query}")
    assert response.status_code == 400, response.json()
    assert set(response.json()["details"]) == {query.split("=")[0]}


def test_valid_paging_and_a_page_past_the_end(api):
    assert api.get("/workflows?limit=200&page=1").status_code == 200
    assert api.get("/workflows?page=99").status_code == 404


def test_an_empty_filter_is_a_400_naming_it(api):
    response = api.get("/events?until=")
    assert response.status_code == 400 and set(response.json()["details"]) == {"until"}
    assert api.get("/events?until=2030-01-01T00:00:00Z").status_code == 200


def test_values_of_the_wrong_type_and_unknown_keys_are_refused(api):
    response = api.post("/api-keys", {"name": 0})
    assert response.status_code == 400 and "name" in response.json()["details"]
    response = api.post("/api-keys", {"name": "ok", "nmae": "typo"})
    assert response.status_code == 400
    assert response.json()["details"] == {"nmae": ["Unknown field."]}
    assert api.post("/api-keys", {"name": "ok"}).status_code == 201


def test_urls_no_route_matches_answer_with_the_json_error_body(api):
    for path in ("/api/v1/webhooks/%C2%84", "/api/v1/no-such-thing", "/incoming/"):
        response = Client().get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json"
        assert set(response.json()) == ERROR_KEYS
    assert "text/html" in Client().get("/not-the-api").headers["Content-Type"]



def test_patch_with_an_empty_object_changes_nothing_and_a_missing_body_is_a_400(orgs):
    from tests.security.conftest import build_universe

    universe = build_universe(orgs["a"])
    task, key = universe.objects["Task"], universe.org.keys["admin"]
    path = f"/api/v1/workflow-runs/{task.run_id}/tasks/{task.pk}"
    before = Client().get(path, HTTP_X_API_KEY=key).json()
    unchanged = Client().patch(path, "{}", content_type="application/json", HTTP_X_API_KEY=key)
    assert unchanged.status_code == 200 and unchanged.json() == before
    for method in ("patch", "put"):
        missing = getattr(Client(), method)(path, HTTP_X_API_KEY=key)
        assert missing.status_code == 400 and set(missing.json()) == ERROR_KEYS
    record = universe.objects["DataSetRecord"]
    path = f"/api/v1/data-sets/{record.data_set_id}/records/{record.pk}"
    before = Client().get(path, HTTP_X_API_KEY=key).json()
    unchanged = Client().patch(path, "{}", content_type="application/json", HTTP_X_API_KEY=key)
    assert unchanged.status_code == 200 and unchanged.json()["cells"] == before["cells"]


def test_every_schema_component_is_referred_to(schema):
    """A component nothing uses would be a model in every generated client."""
    def refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"].rsplit("/", 1)[-1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    components = schema["components"]["schemas"]
    used = set(refs({k: v for k, v in schema.items() if k != "components"}))
    todo = list(used)
    while todo:
        for name in refs(components[todo.pop()]):
            if name not in used:
                used.add(name)
                todo.append(name)
    assert "UserRef" in used and "TaskReadyEvent" in used
    assert set(components) == used
