"""/workflow-runs and its tasks, form fields and approvals."""

import re

from accounts.users import user_muid
from tests.api.conftest import assert_error
from workflows.models import FormFieldValue, Task, WorkflowRun

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _tasks(run: dict) -> dict:
    return {task["name"]: task for task in run["tasks"]}


def _fields(run: dict) -> dict:
    return {field["label"]: field for field in run["formFields"]}


# -- start ----------------------------------------------------------------------------------------


def test_start_a_run(api, world, orgs):
    response = api.post("/workflow-runs", {
        "workflowId": world.workflow.id,
        "name": "Ada's onboarding",
        "dueDate": "2030-01-02T03:04:05Z",
        "shared": True,
        "assignees": ["guest-a@example.com"],
        "formFields": {world.field_id("Name"): "Ada", world.field_id("Amount"): 12},
    }, as_="member")
    run = response.json()
    assert response.status_code == 201, run
    assert run["name"] == "Ada's onboarding" and run["status"] == "Active"
    assert run["template"] == {"id": world.workflow.id, "name": "Onboarding"}
    assert run["versionId"] == world.workflow.latest_version().id
    assert run["dueDate"] == "2030-01-02T03:04:05.000Z" and run["shared"] is True
    assert [a["email"] for a in run["assignees"]] == ["guest-a@example.com"]
    assert ISO_MS.match(run["audit"]["createdDate"]) and ISO_MS.match(run["audit"]["updatedDate"])
    member = orgs["a"].member.user
    assert run["audit"]["createdBy"] == {
        "id": user_muid(member), "email": member.email, "username": member.username,
    }
    assert run["completedDate"] is None and run["completedBy"] is None
    tasks = _tasks(run)
    assert list(tasks) == ["Intro", "Gate", "After the gate", "Review", "Extra"]
    assert set(tasks["Intro"]) == {
        "id", "name", "status", "stopped", "hidden", "ready", "taskType", "taskTemplateId",
        "taskTemplateGroupId", "updatedDate", "updatedBy", "completedDate", "completedBy",
    }
    assert tasks["Intro"]["ready"] is True and tasks["Intro"]["status"] == "NotCompleted"
    assert tasks["After the gate"]["stopped"] is True and tasks["After the gate"]["ready"] is False
    assert tasks["Extra"]["hidden"] is True
    fields = _fields(run)
    assert fields["Name"]["value"] == "Ada" and fields["Name"]["id"] == world.field_id("Name")
    assert fields["Amount"]["value"] == 12
    assert WorkflowRun.objects.filter(pk=run["id"], organization=orgs["a"].org).exists()


def test_start_with_only_the_workflow_uses_its_name(start, world):
    run = start()
    assert run["name"] == "Onboarding" and run["assignees"] == [] and run["dueDate"] is None


def test_start_with_form_fields_as_a_list(start, world):
    run = start(formFields=[{"id": world.field_id("Name"), "value": "Bo"}])
    assert _fields(run)["Name"]["value"] == "Bo"


def test_start_bad_input_names_the_field_and_writes_nothing(api, world):
    cases = [
        ({}, "workflowId"),
        ({"workflowId": "nope"}, "workflowId"),
        ({"workflowId": world.other_workflow.id}, "workflowId"),
        ({"workflowId": world.workflow.id, "formFields": {"unknown-field": "x"}}, "formFields"),
        ({"workflowId": world.workflow.id, "formFields": {world.field_id("Amount"): "many"}},
         "formFields"),
        ({"workflowId": world.workflow.id, "formFields": {world.field_id("Choice"): "zzz"}},
         "formFields"),
        ({"workflowId": world.workflow.id, "formFields": "text"}, "formFields"),
        ({"workflowId": world.workflow.id, "assignees": ["stranger@example.com"]}, "assignees"),
        ({"workflowId": world.workflow.id, "assignees": ["guest-b@example.com"]}, "assignees"),
        ({"workflowId": world.workflow.id, "assignees": "not-a-list"}, "assignees"),
        ({"workflowId": world.workflow.id, "dueDate": "tomorrow"}, "dueDate"),
        ({"workflowId": world.workflow.id, "shared": "maybe"}, "shared"),
        ({"workflowId": world.workflow.id, "name": ""}, "name"),
    ]
    for body, field in cases:
        response = api.post("/workflow-runs", body)
        error = assert_error(response, 400, field)
        assert error["errorCode"] == "BadRequest"
    assert not WorkflowRun.objects.exists()


def test_unknown_form_field_is_named_inside_form_fields(api, world):
    amount = world.field_id("Amount")
    response = api.post("/workflow-runs", {
        "workflowId": world.workflow.id, "formFields": {amount: "many"},
    })
    body = assert_error(response, 400, "formFields")
    assert amount in body["details"]["formFields"]


def test_guest_cannot_start_a_run(api, world):
    assert_error(api.post("/workflow-runs", {"workflowId": world.workflow.id}, as_="guest"), 403)
    assert not WorkflowRun.objects.exists()


# -- list and get ---------------------------------------------------------------------------------


def test_list_filters_and_pagination_links(api, start, world):
    ids = [start(name=f"Run {n}")["id"] for n in range(3)]
    api.post(f"/workflow-runs/{ids[0]}/archive")
    body = api.get("/workflow-runs", {"limit": 2}).json()
    assert body["total"] == 3 and len(body["data"]) == 2
    assert body["links"]["previous"] is None
    assert body["links"]["next"] and "page=2" in body["links"]["next"]
    second = api.get(body["links"]["next"]).json()
    assert len(second["data"]) == 1 and second["links"]["next"] is None
    assert second["links"]["previous"]
    listed = {run["id"] for run in body["data"] + second["data"]}
    assert listed == set(ids)

    active = api.get("/workflow-runs", {"status": "Active"}).json()
    assert {r["id"] for r in active["data"]} == set(ids[1:])
    assert api.get("/workflow-runs", {"workflowId": world.workflow.id}).json()["total"] == 3
    assert api.get("/workflow-runs", {"workflowId": world.other_workflow.id}).json()["total"] == 0
    assert_error(api.get("/workflow-runs", {"status": "Sleeping"}), 400, "status")


def test_get_one_and_cross_organization_is_404(api, start):
    run = start()
    response = api.get(f"/workflow-runs/{run['id']}", as_="member")
    assert response.status_code == 200 and response.json()["id"] == run["id"]
    assert_error(api.get(f"/workflow-runs/{run['id']}", org="b"), 404)
    assert_error(api.get(f"/workflow-runs/{run['id']}/tasks", org="b"), 404)
    assert_error(api.get(f"/workflow-runs/{run['id']}/form-fields", org="b"), 404)
    assert_error(api.get(f"/workflow-runs/{run['id']}/approvals", org="b"), 404)
    assert_error(api.post(f"/workflow-runs/{run['id']}/complete", org="b"), 404)
    assert api.get("/workflow-runs", org="b").json()["total"] == 0


def test_guest_sees_only_runs_assigned_to_them(api, start):
    mine = start(name="Assigned", assignees=["guest-a@example.com"])
    other = start(name="Not assigned")
    listed = api.get("/workflow-runs", as_="guest").json()
    assert [r["id"] for r in listed["data"]] == [mine["id"]]
    assert api.get(f"/workflow-runs/{mine['id']}", as_="guest").status_code == 200
    assert api.get(f"/workflow-runs/{mine['id']}/tasks", as_="guest").status_code == 200
    assert api.get(f"/workflow-runs/{mine['id']}/form-fields", as_="guest").status_code == 200
    assert api.get(f"/workflow-runs/{mine['id']}/approvals", as_="guest").status_code == 200
    assert_error(api.get(f"/workflow-runs/{other['id']}", as_="guest"), 404)
    assert_error(api.get(f"/workflow-runs/{other['id']}/tasks", as_="guest"), 404)
    intro = _tasks(mine)["Intro"]
    assert_error(
        api.put(f"/workflow-runs/{mine['id']}/tasks/{intro['id']}", {"status": "Completed"},
                as_="guest"),
        403,
    )
    assert_error(api.put(f"/workflow-runs/{mine['id']}/form-fields", {"fields": []}, as_="guest"),
                 403)
    assert_error(api.post(f"/workflow-runs/{mine['id']}/complete", as_="guest"), 403)
    assert Task.objects.get(pk=intro["id"]).status == "NotCompleted"


# -- tasks ----------------------------------------------------------------------------------------


def test_tasks_list_get_check_and_uncheck(api, start, orgs):
    run = start()
    base = f"/workflow-runs/{run['id']}/tasks"
    listed = api.get(base).json()
    assert listed["total"] == 5 and [t["name"] for t in listed["data"]][0] == "Intro"
    gate = _tasks(run)["Gate"]
    assert api.get(f"{base}/{gate['id']}").json()["name"] == "Gate"

    response = api.put(f"{base}/{gate['id']}", {"status": "Completed"}, as_="member")
    task = response.json()
    assert response.status_code == 200, task
    assert task["status"] == "Completed" and ISO_MS.match(task["completedDate"])
    assert task["completedBy"]["email"] == orgs["a"].member.user.email
    after = api.get(f"{base}/{_tasks(run)['After the gate']['id']}").json()
    assert after["stopped"] is False and after["ready"] is True

    response = api.patch(f"{base}/{gate['id']}", {"status": "NotCompleted"})
    assert response.status_code == 200 and response.json()["status"] == "NotCompleted"
    assert response.json()["completedDate"] is None
    after = api.get(f"{base}/{_tasks(run)['After the gate']['id']}").json()
    assert after["stopped"] is True


def test_checking_a_stopped_task_is_a_conflict(api, start):
    run = start()
    stopped = _tasks(run)["After the gate"]
    response = api.put(
        f"/workflow-runs/{run['id']}/tasks/{stopped['id']}", {"status": "Completed"}
    )
    body = assert_error(response, 409)
    assert body["errorCode"] == "Conflict"
    assert Task.objects.get(pk=stopped["id"]).status == "NotCompleted"


def test_task_bad_input(api, start):
    run = start()
    intro = _tasks(run)["Intro"]
    url = f"/workflow-runs/{run['id']}/tasks/{intro['id']}"
    assert_error(api.put(url, {"status": "Done"}), 400, "status")
    assert_error(api.put(url, {}), 400, "status")
    assert_error(api.get(f"/workflow-runs/{run['id']}/tasks/nope"), 404)
    assert Task.objects.get(pk=intro["id"]).status == "NotCompleted"


# -- form fields ----------------------------------------------------------------------------------


def test_form_fields_get_and_put(api, start, world):
    run = start()
    url = f"/workflow-runs/{run['id']}/form-fields"
    fields = api.get(url).json()["fields"]
    assert {f["label"] for f in fields} == {"Name", "Amount", "Choice"}
    assert set(fields[0]) >= {"id", "hidden", "updatedDate", "updatedBy", "label", "type", "value"}

    response = api.put(url, {"fields": [
        {"id": world.field_id("Name"), "value": "Cy"},
        {"id": world.field_id("Choice"), "value": "b"},
    ]}, as_="member")
    body = response.json()
    assert response.status_code == 200, body
    values = {f["label"]: f["value"] for f in body["fields"]}
    assert values["Name"] == "Cy" and values["Choice"] == "b"
    # the rule shows the hidden task when Choice is "b"
    extra = api.get(f"/workflow-runs/{run['id']}").json()
    assert _tasks(extra)["Extra"]["hidden"] is False

    response = api.put(url, {world.field_id("Amount"): "42"})
    assert response.status_code == 200, response.json()
    assert {f["label"]: f["value"] for f in response.json()["fields"]}["Amount"] == 42


def test_form_fields_bad_input_writes_nothing(api, start, world):
    run = start()
    url = f"/workflow-runs/{run['id']}/form-fields"
    name, amount = world.field_id("Name"), world.field_id("Amount")
    body = assert_error(api.put(url, {"fields": [{"id": "unknown", "value": 1}]}), 400, "fields")
    assert "unknown" in body["details"]["fields"]
    # one good value and one bad one: neither is written
    body = assert_error(api.put(url, {"fields": [
        {"id": name, "value": "Dee"}, {"id": amount, "value": "lots"},
    ]}), 400, "fields")
    assert amount in body["details"]["fields"]
    assert_error(api.put(url, {"fields": [{"value": 1}]}), 400, "fields")
    assert_error(api.put(url, {"fields": "x"}), 400, "fields")
    assert not FormFieldValue.objects.filter(run_id=run["id"], value__isnull=False).exists()


# -- approvals ------------------------------------------------------------------------------------


def test_approve_and_reject(api, start, world):
    run = start(formFields={world.field_id("Name"): "Eve"})
    tasks = _tasks(run)
    base = f"/workflow-runs/{run['id']}"
    api.put(f"{base}/tasks/{tasks['Intro']['id']}", {"status": "Completed"})
    api.put(f"{base}/tasks/{tasks['Gate']['id']}", {"status": "Completed"})

    response = api.post(f"{base}/approvals", {
        "approvalTaskId": tasks["Review"]["id"], "subjectTaskId": tasks["Intro"]["id"],
        "status": "Rejected", "comment": "Redo",
    })
    created = response.json()
    assert response.status_code == 201, created
    assert [(a["status"], a["comment"]) for a in created] == [("Rejected", "Redo")]
    assert created[0]["subjectTaskId"] == tasks["Intro"]["id"]
    assert created[0]["reviewedBy"]["email"] == "admin-a@example.com"
    intro = api.get(f"{base}/tasks/{tasks['Intro']['id']}").json()
    assert intro["status"] == "NotCompleted"

    api.put(f"{base}/tasks/{tasks['Intro']['id']}", {"status": "Completed"})
    response = api.post(f"{base}/approvals", {
        "approvalTaskId": tasks["Review"]["id"], "status": "Approved",
    }, as_="member")
    assert response.status_code == 201, response.json()
    assert [a["status"] for a in response.json()] == ["Approved"]
    listed = api.get(f"{base}/approvals").json()
    assert [a["status"] for a in listed] == ["Rejected", "Approved"]


def test_reviewing_a_stopped_approval_task_is_a_conflict(api, start):
    run = start()
    tasks = _tasks(run)
    api.put(f"/workflow-runs/{run['id']}/tasks/{tasks['Intro']['id']}", {"status": "Completed"})
    response = api.post(f"/workflow-runs/{run['id']}/approvals", {
        "approvalTaskId": tasks["Review"]["id"], "status": "Approved",
    })
    assert_error(response, 409, "approvalTaskId")


def test_approval_bad_input(api, start):
    run = start()
    tasks = _tasks(run)
    url = f"/workflow-runs/{run['id']}/approvals"
    review = tasks["Review"]["id"]
    assert_error(api.post(url, {"status": "Approved"}), 400, "approvalTaskId")
    assert_error(api.post(url, {"approvalTaskId": "nope", "status": "Approved"}), 400,
                 "approvalTaskId")
    assert_error(api.post(url, {"approvalTaskId": tasks["Intro"]["id"], "status": "Approved"}),
                 400, "approvalTaskId")
    assert_error(api.post(url, {"approvalTaskId": review, "subjectTaskId": "nope",
                                "status": "Approved"}), 400, "subjectTaskId")
    assert_error(api.post(url, {"approvalTaskId": review, "status": "Maybe"}), 400, "status")
    assert api.get(url).json() == []


# -- complete, migrate, archive -------------------------------------------------------------------


def test_complete_a_run(api, start, world, orgs):
    run = start()
    body = assert_error(api.post(f"/workflow-runs/{run['id']}/complete"), 400, "formFields")
    assert world.field_id("Name") in body["details"]["formFields"]
    api.put(f"/workflow-runs/{run['id']}/form-fields", {world.field_id("Name"): "Fay"})
    response = api.post(f"/workflow-runs/{run['id']}/complete", as_="member")
    done = response.json()
    assert response.status_code == 200, done
    assert done["status"] == "Completed" and ISO_MS.match(done["completedDate"])
    assert done["completedBy"]["email"] == orgs["a"].member.user.email


def test_migrate_a_run(api, start, world):
    from tests.api.conftest import RULES, TASKS
    from workflows.builder import create_version

    run = start(formFields={world.field_id("Name"): "Gil"})
    tasks = [*TASKS, {"key": "new", "name": "New step"}]
    version = create_version(world.workflow, tasks=tasks, rules=RULES)
    url = f"/workflow-runs/{run['id']}/migrate"
    assert_error(api.post(url, {"versionId": "nope"}), 400, "versionId")
    other_version = world.other_workflow.latest_version().id
    assert_error(api.post(url, {"versionId": other_version}), 400, "versionId")

    response = api.post(url, {})
    migrated = response.json()
    assert response.status_code == 200, migrated
    assert migrated["versionId"] == version.id
    assert "New step" in _tasks(migrated)
    assert _fields(migrated)["Name"]["value"] == "Gil"


def test_archive_a_run(api, start):
    run = start()
    response = api.post(f"/workflow-runs/{run['id']}/archive")
    assert response.status_code == 200 and response.json()["status"] == "Archived"
    intro = _tasks(run)["Intro"]
    response = api.put(f"/workflow-runs/{run['id']}/tasks/{intro['id']}", {"status": "Completed"})
    assert_error(response, 409)
