"""Every /api/v1/ route answers with and without its trailing slash (no redirect), /api/v1/
lists the resources, and anything else under /api/ answers the JSON error body, never HTML."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.api.conftest import assert_error


def schema_paths():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, item) for path, item in schema["paths"].items() if path.startswith("/api/v1/")]


def test_every_list_route_answers_with_and_without_trailing_slash(api, orgs):
    # Routes without path parameters: each GET answers 200 both ways, the same body.
    listed = [p for p, item in schema_paths() if "{" not in p and "get" in item]
    assert len(listed) >= 8, listed
    for path in listed:
        bare, slashed = path.rstrip("/") or path, path.rstrip("/") + "/"
        one, other = api.get(bare), api.get(slashed)
        assert one.status_code == 200, (bare, one.content[:200])
        assert other.status_code == 200, (slashed, other.content[:200])
        assert one.json().get("total") == other.json().get("total"), path
        assert one.json().get("data") == other.json().get("data"), path


def test_detail_and_nested_routes_answer_both_ways(api, orgs, django_user_model):
    from workflows.builder import create_workflow

    workflow = create_workflow(orgs["a"].org, "Routes", actor=orgs["a"].admin.user,
                               tasks=[{"key": "t", "name": "T"}])
    run = api.post("/workflow-runs", {"workflowId": workflow.id, "name": "r"})
    assert run.status_code == 201, run.content
    run_id = run.json()["id"]
    for path in (f"/workflows/{workflow.id}", f"/workflow-runs/{run_id}",
                 f"/workflow-runs/{run_id}/tasks", f"/workflow-runs/{run_id}/form-fields",
                 f"/workflows/{workflow.id}/incoming-webhooks"):
        assert api.get(path).status_code == 200, path
        assert api.get(path + "/").status_code == 200, path + "/"
    # A write with the slash goes to the same view (a redirect would lose the POST body).
    again = api.post("/workflow-runs/", {"workflowId": workflow.id, "name": "r2"})
    assert again.status_code == 201, again.content


def test_api_index_lists_the_resources(api, client):
    for url in ("/api/v1/", "/api/v1"):
        index = client.get(url)
        assert index.status_code == 200 and index["Content-Type"] == "application/json"
        resources = index.json()["resources"]
        assert {"webhooks", "deliveries", "events", "workflows", "workflowRuns", "forms",
                "dataSets", "apiKeys"} <= set(resources)
    for name, url in resources.items():
        assert api.get(url.replace("http://testserver", "")).status_code == 200, name


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/webhooks/x/y/z", "/api/v2/",
                                  "/api/anything"])
def test_unknown_api_paths_answer_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["errorCode"] == "NotFound" and path in body["error"]


def test_wrong_method_answers_json_405(api):
    for method, path in (("delete", "/workflows"), ("post", "/workflows/"),
                         ("put", "/deliveries"), ("patch", "/events/")):
        response = api.call(method, path, {})
        body = assert_error(response, 405)
        assert response["Content-Type"] == "application/json" and body["error"]
        assert response["Allow"]
