"""A workflow version built in the admin in one save, in a real browser: tasks and a field
added, the field's task, an approval's subjects and a rule's condition and target picked by
name from rows not saved yet."""

import tempfile
from pathlib import Path

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from tests.support import builders
from tests.support.builders import PASSWORD
from workflows.builder import create_workflow
from workflows.models import ConditionalRule, FormFieldTemplate, TaskTemplate, WorkflowVersion

pytestmark = [pytest.mark.timeout(120)]


def test_version_with_rule_and_approval_in_one_save(live_server, page, transactional_db):
    organization = builders.organization("Builder Org")
    builders.staff_admin(organization, "builder-admin", email="builder@browser.test")
    workflow = create_workflow(organization, "Hiring", tasks=[{"key": "a", "name": "Old"}])
    base = live_server.url
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "builder-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.goto(f"{base}/admin/workflows/workflowversion/add/")
    page.select_option("#id_workflow", label="Hiring")
    page.fill("#id_number", "2")
    add_task = page.locator("#task_templates-group .add-row a")
    for i, name in enumerate(["Collect details", "Order a laptop", "Review"]):
        add_task.click()
        page.fill(f"#id_task_templates-{i}-order", str(i))
        page.fill(f"#id_task_templates-{i}-name", name)
    page.check("#id_task_templates-1-hidden_by_default")
    page.select_option("#id_task_templates-2-task_type", "Approval")
    page.select_option("#task_templates-2 select.picker-subjects",
                       label=["Collect details", "Order a laptop"])

    page.locator("#field_templates-group .add-row a").click()
    page.select_option("#field_templates-0 select.picker-task", label="Collect details")
    page.fill("#id_field_templates-0-order", "0")
    page.fill("#id_field_templates-0-label", "Department")
    page.select_option("#id_field_templates-0-field_type", "Select")
    page.fill("#id_field_templates-0-options", '["Engineering", "Sales"]')

    page.locator("#rules-group .add-row a").click()
    page.select_option("#id_rules-0-action", "Show")
    rule = page.locator("#rules-0")
    rule.locator("select.condition-field").select_option(label="Department")
    rule.locator("select.condition-operator").select_option("Is")
    rule.locator("input.condition-value").fill("Engineering")
    rule.locator("select.picker-tasks").select_option(label=["Order a laptop"])
    shot = Path(tempfile.mkdtemp(prefix="version-builder-")) / "version.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_be_visible()

    version = WorkflowVersion.objects.get(workflow=workflow, number=2)
    tasks = {t.name: t for t in TaskTemplate.objects.filter(version=version)}
    department = FormFieldTemplate.objects.get(version=version, label="Department")
    assert department.task_template == tasks["Collect details"]
    assert set(tasks["Review"].subject_templates.all()) == {tasks["Collect details"],
                                                            tasks["Order a laptop"]}
    (saved,) = ConditionalRule.objects.filter(version=version)
    assert saved.condition == {"or": [{"and": [
        {"widgetId": department.pk, "operator": "Is", "value": "Engineering"}]}]}
    assert list(saved.target_tasks.all()) == [tasks["Order a laptop"]]

    # Reopened, the pickers show the saved choices by name.
    page.goto(f"{base}/admin/workflows/workflowversion/{quote(version.pk)}/change/")
    expect(page.locator("#rules-0 select.condition-field option:checked")).to_have_text(
        "Department")
    expect(page.locator("#field_templates-0 select.picker-task option:checked")).to_have_text(
        "Collect details")
