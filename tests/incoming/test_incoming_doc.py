"""docs/incoming.md's examples, run as written (placeholders replaced by real ids) against a
real server: the documented config creates the incoming webhook through the API, the documented
payload makes the documented run or record, and the documented error body is what comes back."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from datasets.models import DataSetRecord
from tests.incoming.conftest import post
from workflows.models import WorkflowRun

DOC = Path(settings.BASE_DIR) / "docs" / "incoming.md"


def block(name: str, replacements: dict[str, str]) -> dict:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"```json incoming:{name}\n(.*?)```", text, re.S)
    assert match, f"no ```json incoming:{name} block in docs/incoming.md"
    body = match.group(1)
    for placeholder, value in replacements.items():
        body = body.replace(placeholder, value)
    assert "<" not in body, f"unreplaced placeholder in {name}: {body}"
    return json.loads(body)


def test_workflow_example_starts_the_documented_run(world):
    ids = {"<Customer field id>": world.field("Customer"),
           "<Amount field id>": world.field("Amount")}
    created = world.api("post", f"/workflows/{world.workflow.id}/incoming-webhooks",
                        json=block("workflow-create", ids))
    assert created.status_code == 201, created.text
    answer = post(created.json()["url"], json=block("workflow-payload", {}))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "created" and set(body) == {"id", "status", "objectId"}
    run = WorkflowRun.objects.get(pk=body["objectId"])
    assert run.name == "Order #1042" and run.shared is True
    assert run.due_date == datetime(2030, 5, 1, 12, tzinfo=UTC)
    assert [m.user.email for m in run.assignees.all()] == ["admin@acme.test"]
    values = {v.template.label: v.value for v in run.field_values.select_related("template")}
    assert values["Customer"] == "Ada Lovelace" and values["Amount"] in (129.5, "129.5")

    # The documented error body: a due date that is not one.
    bad = post(created.json()["url"], json={"order": {"due": "next tuesday"}})
    assert bad.status_code == 400
    error = bad.json()
    assert error["errorCode"] == "Validation" and "DueDate" in error["details"]
    text = DOC.read_text(encoding="utf-8")
    assert json.dumps(error["details"]) in text, error["details"]


def test_data_set_example_creates_then_updates_by_key(world):
    ids = {"<Email column id>": world.column("Email"), "<Name column id>": world.column("Name"),
           "<Revenue column id>": world.column("Revenue")}
    created = world.api("post", f"/data-sets/{world.data_set.id}/incoming-webhooks",
                        json=block("data-set-create", ids))
    assert created.status_code == 201, created.text
    payload = block("data-set-payload", {})
    first = post(created.json()["url"], json=payload).json()
    second = post(created.json()["url"], json=payload).json()
    assert first["status"] == "created" and second["status"] == "updated"
    assert first["objectId"] == second["objectId"]
    record = DataSetRecord.objects.get(pk=first["objectId"])
    assert record.cells[world.column("Email")] == "ada@example.com"
    assert record.cells[world.column("Name")] == "Ada Lovelace"
