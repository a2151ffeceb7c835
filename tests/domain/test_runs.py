"""Starting runs, checking tasks, stop tasks, completion and reactivation, bad input."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kernel.catalog import EventType
from kernel.domain_errors import DomainConflict
from kernel.outbox import suppressed
from tests.domain import factories as f
from tests.support import builders
from workflows import services
from workflows.models import FormFieldValue, RunStatus, Task, WorkflowRun

pytestmark = pytest.mark.django_db

NC, C = "NotCompleted", "Completed"


@pytest.fixture
def org():
    return builders.organization()


@pytest.fixture
def actor(org):
    return builders.user(org, "runner@example.com")


def start(org, actor, tasks, rules=(), **kwargs):
    return services.start_run(f.workflow(org, tasks, rules), actor=actor, **kwargs)


def test_start_run_creates_tasks_and_values_with_derived_state(org, actor):
    run = start(org, actor, [
        f.task("a", formFields=[f.field("notes")]),
        f.task("b", stopTask=True),
        f.task("c"),
        f.task("d", hiddenByDefault=True),
    ])
    assert run.status == RunStatus.ACTIVE and run.created_by == actor
    assert run.name == "Onboarding"
    assert f.states(run) == {
        "A": (NC, False, False, True),
        "B": (NC, False, False, True),
        "C": (NC, False, True, False),
        "D": (NC, True, True, False),
    }
    assert [v.value for v in f.values_of(run).values()] == [None]


def test_start_run_applies_field_values_and_assignees(org, actor):
    builders.member(org, "ann@example.com")
    wf = f.workflow(org, [f.task("a", formFields=[f.field("age", "Number")])])
    age_id = wf.latest_version().field_templates.get().id
    run = services.start_run(
        wf, actor=actor, name="Ann", field_values={age_id: "42"},
        assignee_emails=["ANN@example.com"], due_date="2030-01-02T03:04:05Z",
    )
    assert run.name == "Ann"
    assert f.values_of(run)["Age"].value == 42
    assert [m.user.email for m in run.assignees.all()] == ["ann@example.com"]
    assert run.due_date.isoformat() == "2030-01-02T03:04:05+00:00"


def test_start_run_rejects_bad_input_and_writes_nothing(org, actor):
    wf = f.workflow(org, [f.task("a", formFields=[f.field("age", "Number")])])
    age_id = wf.latest_version().field_templates.get().id
    with pytest.raises(ValidationError) as error:
        services.start_run(wf, actor=actor, field_values={age_id: "old", "nope": 1})
    assert error.value.message_dict == {
        age_id: ["Enter a number."], "nope": ["Unknown form field."],
    }
    with pytest.raises(ValidationError) as error:
        services.start_run(wf, actor=actor, assignee_emails=["stranger@example.com"])
    assert set(error.value.message_dict) == {"assignees"}
    assert WorkflowRun.objects.count() == 0 and Task.objects.count() == 0
    assert FormFieldValue.objects.count() == 0


def test_stop_task_stops_later_tasks_until_completed(org, actor):
    run = start(org, actor, [f.task("a"), f.task("stop", stopTask=True), f.task("c")])
    tasks = f.tasks_of(run)
    with pytest.raises(DomainConflict) as error:
        services.check_task(tasks["C"], actor=actor)
    assert error.value.code == "task_stopped"
    assert f.tasks_of(run)["C"].status == NC

    services.check_task(tasks["Stop"], actor=actor)
    assert f.states(run) == {
        "A": (NC, False, False, True),
        "Stop": (C, False, False, True),
        "C": (NC, False, False, True),
    }
    stop = f.tasks_of(run)["Stop"]
    assert (stop.completed_by, stop.updated_by) == (actor, actor)
    assert stop.completed_date is not None

    services.uncheck_task(stop, actor=actor)
    stop = f.tasks_of(run)["Stop"]
    assert (stop.status, stop.completed_by, stop.completed_date) == (NC, None, None)
    assert f.states(run)["C"] == (NC, False, True, False)


def test_several_stop_tasks_in_a_row(org, actor):
    run = start(org, actor, [
        f.task("s1", stopTask=True), f.task("s2", stopTask=True), f.task("s3", stopTask=True),
        f.task("end"),
    ])
    stopped = lambda: {n: t.stopped for n, t in f.tasks_of(run).items()}  # noqa: E731
    assert stopped() == {"S1": False, "S2": True, "S3": True, "End": True}
    services.check_task(f.tasks_of(run)["S1"], actor=actor)
    assert stopped() == {"S1": False, "S2": False, "S3": True, "End": True}
    with pytest.raises(DomainConflict):
        services.check_task(f.tasks_of(run)["S3"], actor=actor)
    services.check_task(f.tasks_of(run)["S2"], actor=actor)
    assert stopped() == {"S1": False, "S2": False, "S3": False, "End": True}
    services.check_task(f.tasks_of(run)["S3"], actor=actor)
    assert stopped() == {"S1": False, "S2": False, "S3": False, "End": False}
    assert f.tasks_of(run)["End"].ready is True


def test_hidden_stop_task_stops_nothing(org, actor):
    run = start(org, actor, [
        f.task("a", formFields=[f.field("gate", "Select", options=["open", "shut"])]),
        f.task("stop", stopTask=True, hiddenByDefault=True),
        f.task("c"),
    ], [f.rule("Show", [f.clause("gate", "Is", "shut")], tasks=["stop"])])
    assert f.states(run)["Stop"] == (NC, True, False, False)
    assert f.states(run)["C"] == (NC, False, False, True)
    # Shown by a rule, the stop task now stops what follows it.
    services.set_form_fields(run, {f.field_id(run, "Gate"): "shut"}, actor=actor)
    assert f.states(run)["Stop"] == (NC, False, False, True)
    assert f.states(run)["C"] == (NC, False, True, False)


def test_hidden_task_cannot_be_checked(org, actor):
    run = start(org, actor, [f.task("a"), f.task("secret", hiddenByDefault=True)])
    with pytest.raises(DomainConflict) as error:
        services.check_task(f.tasks_of(run)["Secret"], actor=actor)
    assert error.value.code == "task_hidden"
    assert f.tasks_of(run)["Secret"].status == NC


def test_checking_a_checked_task_saves_nothing(org, actor):
    run = start(org, actor, [f.task("a"), f.task("b")])
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    before = f.tasks_of(run)["A"]
    with CaptureQueriesContext(connection) as captured:
        services.check_task(before, actor=actor)
        services.uncheck_task(f.tasks_of(run)["B"], actor=actor)
        services.refresh_run_state(run, actor)
    assert f.writes(captured) == []
    assert f.tasks_of(run)["A"].updated_date == before.updated_date


def test_approval_task_is_not_checked_directly(org, actor):
    run = start(org, actor, [f.task("work"), f.approval("review", ["work"])])
    with pytest.raises(DomainConflict) as error:
        services.check_task(f.tasks_of(run)["Review"], actor=actor)
    assert error.value.code == "approval_task"


def test_run_completes_when_last_visible_task_is_checked_and_reactivates(org, actor):
    run = start(org, actor, [f.task("a"), f.task("b"), f.task("ghost", hiddenByDefault=True)])
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    assert WorkflowRun.objects.get(pk=run.pk).status == RunStatus.ACTIVE
    services.check_task(f.tasks_of(run)["B"], actor=actor)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.completed_by == actor and run.completed_date is not None

    services.uncheck_task(f.tasks_of(run)["A"], actor=actor)
    run.refresh_from_db()
    assert (run.status, run.completed_by, run.completed_date) == (RunStatus.ACTIVE, None, None)


def test_run_does_not_auto_complete_with_a_required_field_empty(org, actor):
    run = start(org, actor, [f.task("a", formFields=[f.field("name", required=True)])])
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    assert WorkflowRun.objects.get(pk=run.pk).status == RunStatus.ACTIVE


def test_complete_run_names_missing_required_visible_fields(org, actor):
    run = start(org, actor, [f.task("a", formFields=[
        f.field("name", required=True),
        f.field("hidden", required=True, hiddenByDefault=True),
    ])])
    name_id = f.field_id(run, "Name")
    with pytest.raises(ValidationError) as error:
        services.complete_run(run, actor=actor)
    assert error.value.message_dict == {name_id: ["This field is required."]}
    assert WorkflowRun.objects.get(pk=run.pk).status == RunStatus.ACTIVE

    services.set_form_fields(run, {name_id: "Ann"}, actor=actor)
    services.complete_run(run, actor=actor)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.completed_by == actor
    # Explicit completion leaves the tasks as they are.
    assert f.tasks_of(run)["A"].status == NC


def test_archived_run_refuses_changes(org, actor):
    run = start(org, actor, [f.task("a")])
    services.archive_run(run, actor=actor)
    assert WorkflowRun.objects.get(pk=run.pk).status == RunStatus.ARCHIVED
    with pytest.raises(DomainConflict):
        services.check_task(f.tasks_of(run)["A"], actor=actor)


def test_set_form_fields_is_all_or_nothing(org, actor):
    run = start(org, actor, [f.task("a", formFields=[
        f.field("name"), f.field("age", "Number"), f.field("mail", "Email"),
    ])])
    name_id, age_id = f.field_id(run, "Name"), f.field_id(run, "Age")
    services.set_form_fields(run, {name_id: "Ann", age_id: 3}, actor=actor)
    before = {k: (v.value, v.updated_date) for k, v in f.values_of(run).items()}

    with pytest.raises(ValidationError) as error:
        services.set_form_fields(run, {name_id: "Bob", age_id: "three"}, actor=actor)
    assert error.value.message_dict == {age_id: ["Enter a number."]}
    with pytest.raises(ValidationError) as error:
        services.set_form_fields(run, {name_id: "Bob", "missing": "x"}, actor=actor)
    assert error.value.message_dict == {"missing": ["Unknown form field."]}
    with pytest.raises(ValidationError) as error:
        services.set_form_fields(run, {name_id: 12}, actor=actor)
    assert list(error.value.message_dict) == [name_id]

    assert {k: (v.value, v.updated_date) for k, v in f.values_of(run).items()} == before


def test_set_form_fields_accepts_value_ids_and_clears(org, actor):
    run = start(org, actor, [f.task("a", formFields=[f.field("name")])])
    value = f.values_of(run)["Name"]
    changed = services.set_form_fields(run, {value.pk: "Ann"}, actor=actor)
    assert [v.value for v in changed] == ["Ann"]
    assert f.values_of(run)["Name"].updated_by == actor
    services.set_form_fields(run, {value.template_id: ""}, actor=actor)
    assert f.values_of(run)["Name"].value is None


@pytest.mark.parametrize("size", [3, 30])
def test_refresh_query_count_does_not_grow_with_tasks(org, actor, size,
                                                      django_assert_max_num_queries):
    tasks = [f.task(f"t{i}", stopTask=(i % 5 == 0), formFields=[f.field(f"f{i}")])
             for i in range(size)]
    rules = [f.rule("Hide", [f.clause("f0", "Is", "x")], tasks=[f"t{i}" for i in range(1, size)])]
    run = start(org, actor, tasks, rules)
    # Seven reads (run, tasks, values, subjects, rules, rule targets x2) plus a savepoint pair.
    with django_assert_max_num_queries(9):
        services.refresh_run_state(run, actor)
    # A change that hides all but one task: the same reads plus one save per changed row (the
    # value set, then each hidden task and the field on it). Events are left out: rendering them
    # is not this service's work.
    change = {f.field_id(run, "F0"): "x"}
    with suppressed(*EventType), django_assert_max_num_queries(9 + 1 + 2 * (size - 1)):
        services.set_form_fields(run, change, actor=actor)
    assert sum(t.hidden for t in f.tasks_of(run).values()) == size - 1
