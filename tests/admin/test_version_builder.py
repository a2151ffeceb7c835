"""A workflow version with tasks, form fields, an approval and a conditional rule, built in the
admin in one save: the rows refer to one another by the pickers' references (a new row's form
prefix, a saved row's id), never by typed ids."""

import json

import pytest
from django.contrib.admin.utils import quote

from kernel.ids import new_muid
from tests.support import builders
from tests.support.builders import PASSWORD
from workflows.builder import create_workflow
from workflows.models import ConditionalRule, FormFieldTemplate, TaskTemplate, WorkflowVersion
from workflows.services import start_run


@pytest.fixture
def admin_client(client, db):
    organization = builders.organization("Builder Org")
    builders.staff_admin(organization, "builder", email="builder@example.com")
    assert client.login(username="builder", password=PASSWORD)
    workflow = create_workflow(organization, "Onboarding", tasks=[{"key": "a", "name": "Old"}])
    return client, workflow


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": total, f"{prefix}-INITIAL_FORMS": initial,
            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}


def task(i: int, name: str, **extra) -> dict:
    row = {"order": i, "name": name, "task_type": "Standard", "group_id": new_muid(),
           "subjects": "[]", **extra}
    return {f"task_templates-{i}-{k}": v for k, v in row.items()}


def field(i: int, task_ref: str, label: str, field_type: str = "Select", **extra) -> dict:
    row = {"task": task_ref, "order": i, "label": label, "field_type": field_type,
           "options": json.dumps(["Engineering", "Sales"]), "group_id": new_muid(), **extra}
    return {f"field_templates-{i}-{k}": v for k, v in row.items()}


def rule(i: int, condition: dict, tasks=(), fields=()) -> dict:
    row = {"order": i, "action": "Show", "condition": json.dumps(condition),
           "target_tasks_refs": json.dumps(list(tasks)),
           "target_fields_refs": json.dumps(list(fields))}
    return {f"rules-{i}-{k}": v for k, v in row.items()}


def version_post(workflow, *parts) -> dict:
    data = {"workflow": workflow.pk, "number": 2, "status": "Finished"}
    for part in parts:
        data.update(part)
    return data


def test_new_version_with_rule_and_approval_in_one_save(admin_client):
    client, workflow = admin_client
    condition = {"or": [{"and": [{"widgetId": "field_templates-0", "operator": "Is",
                                  "value": "Engineering"}]}]}
    data = version_post(
        workflow,
        management("task_templates", 4), management("field_templates", 1),
        management("rules", 1),
        task(0, "Collect details"),
        task(1, "Order a laptop", hidden_by_default="on"),
        task(2, "Send welcome email"),
        task(3, "Review", task_type="Approval",
             subjects=json.dumps(["task_templates-0", "task_templates-1"])),
        field(0, "task_templates-0", "Department"),
        rule(0, condition, tasks=["task_templates-1"]),
    )
    response = client.post("/admin/workflows/workflowversion/add/", data)
    assert response.status_code == 302, response.content.decode()[-3000:]

    version = WorkflowVersion.objects.get(workflow=workflow, number=2)
    tasks = {t.name: t for t in TaskTemplate.objects.filter(version=version)}
    department = FormFieldTemplate.objects.get(version=version, label="Department")
    assert department.task_template == tasks["Collect details"]
    assert set(tasks["Review"].subject_templates.all()) == {tasks["Collect details"],
                                                            tasks["Order a laptop"]}
    (saved,) = ConditionalRule.objects.filter(version=version)
    assert saved.condition["or"][0]["and"][0]["widgetId"] == department.pk
    assert list(saved.target_tasks.all()) == [tasks["Order a laptop"]]

    # The rule works: a run where Department is Engineering shows the laptop task.
    from workflows.services import set_form_fields

    run = start_run(workflow, actor=None, name="Ada")
    laptop = run.tasks.get(name="Order a laptop")
    assert laptop.hidden
    set_form_fields(run, {department.pk: "Engineering"}, actor=None)
    laptop.refresh_from_db()
    assert not laptop.hidden

    # The change page shows the saved references for the pickers.
    url = f"/admin/workflows/workflowversion/{quote(version.pk)}/change/"
    page = client.get(url).content.decode()
    assert f"&quot;{department.pk}&quot;" in page and 'data-picker="condition"' in page


def test_wrong_references_are_form_errors_not_server_errors(admin_client):
    client, workflow = admin_client
    condition = {"or": [{"and": [{"widgetId": "field_templates-7", "operator": "Is",
                                  "value": "x"}]}]}
    data = version_post(
        workflow,
        management("task_templates", 1), management("field_templates", 1),
        management("rules", 1),
        task(0, "Only", subjects=json.dumps(["task_templates-5"])),
        field(0, "nonsense", "Dept"),
        rule(0, condition),
    )
    response = client.post("/admin/workflows/workflowversion/add/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "&#x27;task_templates-5&#x27; is not a task template of this version" in page
    assert "&#x27;nonsense&#x27; is not a task template of this version" in page
    assert "&#x27;field_templates-7&#x27; is not a form field template of this version" in page
    assert not WorkflowVersion.objects.filter(workflow=workflow, number=2).exists()
