"""/workflows: read-only, Admin and Member only, scoped to the organization."""

import re

from tests.api.conftest import assert_error

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_list_and_get_a_workflow_with_its_latest_version(api, world):
    response = api.get("/workflows")
    body = response.json()
    assert response.status_code == 200, body
    assert body["total"] == 1 and [w["id"] for w in body["data"]] == [world.workflow.id]

    response = api.get(f"/workflows/{world.workflow.id}", as_="member")
    workflow = response.json()
    assert response.status_code == 200, workflow
    assert workflow["name"] == "Onboarding"
    assert ISO_MS.match(workflow["createdDate"])
    assert [v["number"] for v in workflow["versions"]] == [1]
    assert workflow["versionId"] == workflow["versions"][0]["id"]
    names = [t["name"] for t in workflow["tasks"]]
    assert names == ["Intro", "Gate", "After the gate", "Review", "Extra"]
    gate = workflow["tasks"][1]
    assert gate["stopTask"] is True and gate["taskType"] == "Standard"
    assert set(gate) == {
        "id", "groupId", "name", "stopTask", "hiddenByDefault", "taskType", "subjects",
    }
    review = workflow["tasks"][3]
    assert review["taskType"] == "Approval" and review["subjects"] == [workflow["tasks"][0]["id"]]
    assert workflow["tasks"][4]["hiddenByDefault"] is True
    labels = {f["label"]: f for f in workflow["formFields"]}
    assert labels["Name"]["required"] is True and labels["Choice"]["options"] == ["a", "b"]
    assert labels["Name"]["taskId"] == workflow["tasks"][0]["id"]
    [rule] = workflow["rules"]
    assert rule["action"] == "Show"
    assert rule["targets"] == {"taskIds": [workflow["tasks"][4]["id"]], "widgetIds": []}
    assert rule["condition"]["or"][0]["and"][0]["widgetId"] == labels["Choice"]["id"]


def test_workflows_are_read_only(api, world):
    response = api.post("/workflows", {"name": "New"})
    assert_error(response, 405)
    response = api.delete(f"/workflows/{world.workflow.id}")
    assert_error(response, 405)


def test_guest_is_forbidden(api, world):
    body = assert_error(api.get("/workflows", as_="guest"), 403)
    assert body["errorCode"] == "Forbidden"
    assert_error(api.get(f"/workflows/{world.workflow.id}", as_="guest"), 403)


def test_another_organizations_workflow_is_not_found(api, world):
    body = assert_error(api.get(f"/workflows/{world.other_workflow.id}"), 404)
    assert body["errorCode"] == "NotFound"
    assert api.get("/workflows", org="b").json()["data"][0]["id"] == world.other_workflow.id
