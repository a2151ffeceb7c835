"""How many queries each domain operation runs, with one matching webhook: a count that
grows fails here, so an extra read (a field list loaded twice, a payload re-reading what the
operation holds) is seen when it is written. Lower the numbers when an operation gets leaner."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from datasets.models import DataSetRecord
from datasets.services import create_data_set, create_record, delete_record, update_record
from subscriptions.services import create_webhook
from tests.domain import factories as f
from tests.support import builders
from workflows import services

pytestmark = pytest.mark.django_db

# operation -> the most queries it may run (events, their rendering and the outbox included).
BUDGET = {
    "create_record": 7,  # 2 savepoints, the fields, the record, the webhooks, 2 inserts
    "update_record": 7,  # the same, with the row read under its lock instead of inserted
    "delete_record": 10,  # a bare instance: its data set, fields and two audit users, lazily
    "start_run": 26,
    "check_task": 14,
    "uncheck_task": 14,
    "set_form_fields": 15,
}


@pytest.fixture
def setting():
    org = builders.organization()
    actor = builders.user(org)
    for trigger in ("DataSetRecordCreated", "DataSetRecordUpdated", "DataSetRecordDeleted",
                    "TaskCheckedUnchecked", "TaskReady", "TaskNotReady", "ChecklistCreated"):
        create_webhook(org, {"url": f"http://127.0.0.1:9/{trigger}",
                             "triggers": [trigger]})
    return org, actor


def _count(func, *args, **kwargs) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = func(*args, **kwargs)
    return len(captured.captured_queries), result


def test_data_set_record_operations(setting):
    org, actor = setting
    data_set = create_data_set(org, "Leads", [{"name": "Name", "fieldType": "Text"},
                                             {"name": "Score", "fieldType": "Number"}])
    name, score = (fld.id for fld in data_set.fields.order_by("order"))
    counts = {}
    counts["create_record"], record = _count(create_record, data_set, {name: "Ada", score: 3},
                                             actor=actor)
    counts["update_record"], record = _count(update_record, record, {score: 4}, actor=actor)
    fresh = DataSetRecord.objects.get(pk=record.pk)  # as a request finds it
    counts["delete_record"], _ = _count(delete_record, fresh, actor=actor)
    for operation, queries in counts.items():
        assert queries <= BUDGET[operation], (operation, queries)


def test_workflow_run_operations(setting):
    org, actor = setting
    workflow = f.workflow(org, [f.task("a", formFields=[f.field("x")]), f.task("b"),
                                f.task("c", hiddenByDefault=True)],
                          [f.rule("Show", [f.clause("x", "Is", "yes")], tasks=["c"])])
    counts = {}
    counts["start_run"], run = _count(services.start_run, workflow, actor=actor)
    tasks = f.tasks_of(run)
    counts["check_task"], _ = _count(services.check_task, tasks["A"], actor=actor)
    counts["uncheck_task"], _ = _count(services.uncheck_task, f.tasks_of(run)["A"], actor=actor)
    counts["set_form_fields"], _ = _count(services.set_form_fields, run,
                                          {f.field_id(run, "X"): "yes"}, actor=actor)
    for operation, queries in counts.items():
        assert queries <= BUDGET[operation], (operation, queries)
