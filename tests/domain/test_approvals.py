"""Approvals: approvable only once every subject is submitted; reject sends the work back;
rework, resubmit, approve; no subject = every pending one."""

import pytest
from django.core.exceptions import ValidationError

from kernel.domain_errors import DomainConflict
from tests.domain import factories as f
from tests.support import builders
from workflows import services
from workflows.models import Approval, RunStatus, WorkflowRun

pytestmark = pytest.mark.django_db

NC, C = "NotCompleted", "Completed"


@pytest.fixture
def org():
    return builders.organization()


@pytest.fixture
def actor(org):
    return builders.user(org, "worker@example.com")


@pytest.fixture
def reviewer(org):
    return builders.user(org, "boss@example.com")


@pytest.fixture
def run(org, actor):
    wf = f.workflow(org, [f.task("quote"), f.task("plan"), f.approval("review", ["quote", "plan"])])
    return services.start_run(wf, actor=actor)


def review_task(run):
    return f.tasks_of(run)["Review"]


def test_approvable_only_when_every_subject_is_completed(run, actor, reviewer):
    assert f.states(run)["Review"] == (NC, False, False, False)
    with pytest.raises(DomainConflict) as error:
        services.approve(review_task(run), actor=reviewer)
    assert error.value.code == "not_approvable"
    services.check_task(f.tasks_of(run)["Quote"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, False, False)
    services.check_task(f.tasks_of(run)["Plan"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, False, True)
    services.uncheck_task(f.tasks_of(run)["Plan"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, False, False)
    assert Approval.objects.count() == 0


def test_approve_all_pending_completes_the_approval_and_the_run(run, actor, reviewer):
    services.check_task(f.tasks_of(run)["Quote"], actor=actor)
    services.check_task(f.tasks_of(run)["Plan"], actor=actor)
    approvals = services.approve(review_task(run), actor=reviewer, comment="fine")
    assert sorted((a.subject_task.name, a.status, a.comment) for a in approvals) == [
        ("Plan", "Approved", "fine"), ("Quote", "Approved", "fine"),
    ]
    assert all(a.reviewed_by == reviewer for a in approvals)
    review = review_task(run)
    assert (review.status, review.completed_by) == (C, reviewer)
    run.refresh_from_db()
    assert (run.status, run.completed_by) == (RunStatus.COMPLETED, reviewer)
    with pytest.raises(DomainConflict) as error:
        services.approve(review, actor=reviewer)
    assert error.value.code == "nothing_pending"


def test_reject_rework_resubmit_approve(run, actor, reviewer):
    tasks = f.tasks_of(run)
    services.check_task(tasks["Quote"], actor=actor)
    services.check_task(tasks["Plan"], actor=actor)

    # One subject approved on its own: the approval task waits for the other.
    [approved] = services.approve(review_task(run), actor=reviewer, subject_task=tasks["Plan"])
    assert approved.status == "Approved"
    assert review_task(run).status == NC

    [rejected] = services.reject(
        review_task(run), actor=reviewer, subject_task=tasks["Quote"], comment="too high"
    )
    assert (rejected.status, rejected.comment) == ("Rejected", "too high")
    quote = f.tasks_of(run)["Quote"]
    assert (quote.status, quote.completed_by, quote.completed_date) == (NC, None, None)
    assert f.states(run)["Review"] == (NC, False, False, False)  # no longer approvable

    services.check_task(quote, actor=actor)  # reworked and resubmitted
    assert f.states(run)["Review"] == (NC, False, False, True)
    # Only Quote is pending: Plan was approved since it was last completed.
    [again] = services.approve(review_task(run), actor=reviewer)
    assert (again.subject_task_id, again.status) == (quote.pk, "Approved")
    assert review_task(run).status == C
    assert WorkflowRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED
    assert list(Approval.objects.order_by("created_date").values_list("status", flat=True)) == [
        "Approved", "Rejected", "Approved",
    ]


def test_reject_without_subject_rejects_every_pending_one(run, actor, reviewer):
    tasks = f.tasks_of(run)
    services.check_task(tasks["Quote"], actor=actor)
    services.check_task(tasks["Plan"], actor=actor)
    rejected = services.reject(review_task(run), actor=reviewer)
    assert sorted(a.subject_task.name for a in rejected) == ["Plan", "Quote"]
    assert {n: t.status for n, t in f.tasks_of(run).items()} == {
        "Quote": NC, "Plan": NC, "Review": NC,
    }


def test_unchecking_an_approved_subject_reopens_the_approval(run, actor, reviewer):
    tasks = f.tasks_of(run)
    services.check_task(tasks["Quote"], actor=actor)
    services.check_task(tasks["Plan"], actor=actor)
    services.approve(review_task(run), actor=reviewer)
    services.uncheck_task(f.tasks_of(run)["Quote"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, False, False)
    run.refresh_from_db()
    assert run.status == RunStatus.ACTIVE
    services.check_task(f.tasks_of(run)["Quote"], actor=actor)
    # Quote was completed again after its approval: it is pending once more, Plan is not.
    [approval] = services.approve(review_task(run), actor=reviewer)
    assert approval.subject_task.name == "Quote"


def test_subject_must_belong_to_the_approval(org, actor, reviewer):
    wf = f.workflow(org, [f.task("a"), f.task("b"), f.approval("review", ["a"])])
    run = services.start_run(wf, actor=actor)
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    with pytest.raises(ValidationError) as error:
        services.approve(review_task(run), actor=reviewer, subject_task=f.tasks_of(run)["B"])
    assert list(error.value.message_dict) == ["subjectTask"]
    with pytest.raises(ValidationError) as error:
        services.approve(f.tasks_of(run)["A"], actor=reviewer)
    assert list(error.value.message_dict) == ["approvalTask"]
    assert Approval.objects.count() == 0


def test_hidden_subjects_are_not_waited_for(org, actor, reviewer):
    wf = f.workflow(org, [
        f.task("a"), f.task("b", hiddenByDefault=True), f.approval("review", ["a", "b"]),
    ])
    run = services.start_run(wf, actor=actor)
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, False, True)
    [approval] = services.approve(review_task(run), actor=reviewer)
    assert approval.subject_task.name == "A"
    assert review_task(run).status == C


def test_stopped_approval_cannot_be_reviewed(org, actor, reviewer):
    wf = f.workflow(org, [
        f.task("a"), f.task("gate", stopTask=True), f.approval("review", ["a"]),
    ])
    run = services.start_run(wf, actor=actor)
    services.check_task(f.tasks_of(run)["A"], actor=actor)
    assert f.states(run)["Review"] == (NC, False, True, False)
    with pytest.raises(DomainConflict) as error:
        services.approve(review_task(run), actor=reviewer)
    assert error.value.code == "task_stopped"
