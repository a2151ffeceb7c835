"""TaskReady / TaskNotReady, scenario by scenario: each step's exact, ordered events.

See tests/readiness/harness.py for how a scenario is played and what every step checks besides
its listed events (payload of each readiness event, stored state left consistent).
"""

import json

import pytest
from django.core.exceptions import ValidationError

from events.models import Event
from tests.readiness.harness import (
    APPROVED,
    CHECKED,
    COMPLETED,
    CREATED,
    NOT_READY,
    READY,
    REJECTED,
    RUN,
    UNCHECKED,
    Scenario,
    Step,
    approval,
    approve,
    check,
    event_ids,
    fld,
    hidden,
    hide,
    migrate,
    new_events,
    play,
    reject,
    set_fields,
    show,
    start,
    stop,
    task,
    uncheck,
    when,
)
from workflows import services
from workflows.models import Approval, Task

pytestmark = pytest.mark.django_db


def R(name):  # noqa: N802
    return (READY, name)


def NR(name):  # noqa: N802
    return (NOT_READY, name)


STOP_TASKS_IN_A_ROW = Scenario(
    "three stop tasks in a row",
    tasks=[task("A"), stop("S1"), stop("S2"), stop("S3"), task("B")],
    steps=[
        Step(start(), [R("A"), R("S1")], full=[(CREATED, RUN), R("A"), R("S1")]),
        Step(check("S1"), [R("S2")], full=[(CHECKED, "S1"), R("S2")]),
        Step(check("S2"), [R("S3")]),
        Step(check("A"), [], full=[(CHECKED, "A")]),
        Step(check("S3"), [R("B")], full=[(CHECKED, "S3"), R("B")]),
        # S2 and S3 are stopped again, but they are completed: only B fires.
        Step(uncheck("S1"), [NR("B")], full=[(UNCHECKED, "S1"), NR("B")],
             stored={"S2": False, "S3": False, "B": False}),
        Step(check("S1"), [R("B")], stored={"S2": True, "S3": True, "B": True}),
        Step(check("B"), [], full=[(CHECKED, "B"), (COMPLETED, RUN)]),
        # B is completed: stopping it again is silent.
        Step(uncheck("S2"), [], full=[(UNCHECKED, "S2")], stored={"S3": False, "B": False}),
    ],
)

HIDDEN_STOP_TASK = Scenario(
    "a hidden stop task",
    tasks=[
        task("Intake", fld("gate", "Select", options=["yes", "no"])),
        hidden("Gate", stopTask=True), task("B"), task("C"),
    ],
    rules=[show(["Gate"], when("gate", "Is", "yes"))],
    steps=[
        # Hidden, the stop task stops nothing.
        Step(start(), [R("Intake"), R("B"), R("C")]),
        Step(set_fields(gate="yes"), [R("Gate"), NR("B"), NR("C")]),
        Step(set_fields(gate="no"), [NR("Gate"), R("B"), R("C")]),
        Step(set_fields(gate="YES"), [R("Gate"), NR("B"), NR("C")]),
        Step(check("Gate"), [R("B"), R("C")], full=[(CHECKED, "Gate"), R("B"), R("C")]),
        # The completed stop task hidden: it fires nothing and B, C stay ready.
        Step(set_fields(gate="no"), [], stored={"Gate": False, "B": True, "C": True}),
        Step(set_fields(gate="yes"), [], stored={"Gate": True}),
        Step(uncheck("Gate"), [NR("B"), NR("C")], full=[(UNCHECKED, "Gate"), NR("B"), NR("C")]),
    ],
)

FIELD_TYPES = Scenario(
    "rules on each field type",
    tasks=[
        task(
            "Details",
            fld("plan", "Select", options=["basic", "pro"]), fld("seats", "Number"),
            fld("deadline", "Date"), fld("notes"),
            fld("extras", "MultiChoice", options=["support", "training", "audit"]),
            fld("remark"),
        ),
        hidden("Pro setup"), hidden("Bulk licence"), hidden("Rush"),
        hidden("Ask for notes"), hidden("Read notes"), hidden("Training"),
    ],
    rules=[
        show(["Pro setup"], when("plan", "Is", "pro")),
        show(["Bulk licence"], when("seats", "IsGreaterThan", 10)),
        show(["Rush"], when("deadline", "IsLessThan", "2025-01-01")),
        show(["Ask for notes"], when("notes", "HasNoValue")),
        show(["Read notes"], when("notes", "HasAnyValue")),
        show(["Training"], when("extras", "Is", "training")),
    ],
    steps=[
        Step(start(plan="basic", seats=5), [R("Details"), R("Ask for notes")],
             full=[(CREATED, RUN), R("Details"), R("Ask for notes")]),
        Step(set_fields(plan="pro"), [R("Pro setup")]),
        Step(set_fields(seats=11), [R("Bulk licence")]),
        Step(set_fields(seats="10"), [NR("Bulk licence")]),  # not greater than 10
        Step(set_fields(seats="10.5"), [R("Bulk licence")]),
        Step(set_fields(deadline="2024-12-31"), [R("Rush")]),
        Step(set_fields(deadline="2025-01-01"), [NR("Rush")]),  # not before itself
        Step(set_fields(deadline="2024-12-31T23:59:59Z"), [R("Rush")]),
        Step(set_fields(deadline=None), [NR("Rush")]),  # an empty date compares with nothing
        Step(set_fields(notes="call back"), [NR("Ask for notes"), R("Read notes")]),
        Step(set_fields(notes=""), [R("Ask for notes"), NR("Read notes")]),
        Step(set_fields(extras=["support"]), []),
        Step(set_fields(extras=["support", "Training"]), [R("Training")]),
        Step(set_fields(extras=["audit"]), [NR("Training")]),
        # Fields no rule changes its outcome for: values change, readiness does not.
        Step(set_fields(remark="anything", plan="PRO", seats=99, extras=["audit", "support"]),
             [], full=[]),
        # Two fields at once, two rules flip the other way: in task order.
        Step(set_fields(plan="basic", seats=3), [NR("Pro setup"), NR("Bulk licence")]),
    ],
)

MANY_AT_ONCE = Scenario(
    "one change flips several rules and tasks",
    tasks=[
        task("Intake", fld("region", "Select", options=["EU", "US"]), fld("comment")),
        task("Generic"), hidden("GDPR"), hidden("DPA"), hidden("Privacy"), hidden("W-9"),
        hidden("Tax ID"),
    ],
    rules=[
        show(["GDPR", "DPA", "Privacy"], when("region", "Is", "EU")),
        # Privacy is also shown by this rule: one task, two rules flipping together.
        show(["Privacy"], when("region", "HasAnyValue")),
        hide(["Generic"], when("region", "HasAnyValue")),
        show(["W-9", "Tax ID"], when("region", "Is", "US")),
        # A Hide rule wins over a matching Show rule.
        hide(["Privacy"], when("region", "Is", "US"), when("comment", "Is", "opt out")),
    ],
    steps=[
        Step(start(), [R("Intake"), R("Generic")]),
        Step(set_fields(region="EU"), [NR("Generic"), R("GDPR"), R("DPA"), R("Privacy")],
             full=[NR("Generic"), R("GDPR"), R("DPA"), R("Privacy")]),
        Step(set_fields(region="us"), [NR("GDPR"), NR("DPA"), R("W-9"), R("Tax ID")]),
        Step(set_fields(region="US"), []),  # the same option: nothing changed
        Step(set_fields(comment="opt out"), [NR("Privacy")]),
        Step(set_fields(comment="opt in", region="EU"),
             [R("GDPR"), R("DPA"), R("Privacy"), NR("W-9"), NR("Tax ID")]),
        Step(set_fields(region=None),
             [R("Generic"), NR("GDPR"), NR("DPA"), NR("Privacy")]),
    ],
)

COMPLETED_TASK_HIDDEN_AND_SHOWN = Scenario(
    "a completed task hidden then shown",
    tasks=[task("Toggle", fld("want", "Select", options=["yes", "no"])), task("Extra"),
           task("Last")],
    rules=[hide(["Extra"], when("want", "Is", "no"))],
    steps=[
        Step(start(), [R("Toggle"), R("Extra"), R("Last")]),
        Step(check("Extra"), [], full=[(CHECKED, "Extra")]),
        Step(set_fields(want="no"), [], full=[], stored={"Extra": False}),
        Step(set_fields(want="yes"), [], full=[], stored={"Extra": True}),
        Step(set_fields(want="no"), [], stored={"Extra": False}),
        # Reopened while hidden: still not ready, so still nothing; shown again, it is ready.
        Step(uncheck("Extra"), [], full=[(UNCHECKED, "Extra")]),
        Step(set_fields(want="yes"), [R("Extra")]),
    ],
)

APPROVAL_OVER_THREE = Scenario(
    "an approval task over three subjects",
    tasks=[task("Quote"), task("Plan"), task("Budget"),
           approval("Review", ["Quote", "Plan", "Budget"])],
    steps=[
        Step(start(), [R("Quote"), R("Plan"), R("Budget")]),
        Step(check("Quote"), []),
        Step(check("Plan"), [], stored={"Review": False}),
        Step(check("Budget"), [R("Review")], full=[(CHECKED, "Budget"), R("Review")]),
        # The rejected task goes back for rework before the rejection is recorded.
        Step(reject("Review", "Plan"), [NR("Review")],
             full=[(UNCHECKED, "Plan"), NR("Review"), (REJECTED, "Plan")]),
        Step(check("Plan"), [R("Review")], full=[(CHECKED, "Plan"), R("Review")]),
        Step(uncheck("Quote"), [NR("Review")], full=[(UNCHECKED, "Quote"), NR("Review")]),
        Step(check("Quote"), [R("Review")]),
        Step(approve("Review"), [],
             full=[(APPROVED, "Quote"), (APPROVED, "Plan"), (APPROVED, "Budget"),
                   (CHECKED, "Review"), (COMPLETED, RUN)]),
        # An approved subject reopened: the completed approval task reopens, not ready.
        Step(uncheck("Budget"), [NR("Review")],
             full=[(UNCHECKED, "Budget"), (UNCHECKED, "Review"), NR("Review")]),
        Step(check("Budget"), [R("Review")]),
        Step(approve("Review", "Budget"), [],
             full=[(APPROVED, "Budget"), (CHECKED, "Review"), (COMPLETED, RUN)]),
        # Rejecting approved work reopens it and the completed approval task.
        Step(reject("Review", "Quote"), [NR("Review")],
             full=[(UNCHECKED, "Quote"), (UNCHECKED, "Review"), NR("Review"),
                   (REJECTED, "Quote")]),
        Step(check("Quote"), [R("Review")]),
        Step(approve("Review"), [],
             full=[(APPROVED, "Quote"), (CHECKED, "Review"), (COMPLETED, RUN)]),
    ],
)

APPROVAL_BEHIND_STOP_AND_RULES = Scenario(
    "an approval task behind a stop task, with a subject shown by a rule",
    tasks=[
        task("Draft", fld("legal", "Select", options=["yes", "no"])), hidden("Legal"),
        stop("Gate"), approval("Sign-off", ["Draft", "Legal"]),
    ],
    rules=[show(["Legal"], when("legal", "Is", "yes"))],
    steps=[
        Step(start(), [R("Draft"), R("Gate")]),
        # Approvable but stopped: not ready yet.
        Step(check("Draft"), [], stored={"Sign-off": False}),
        Step(check("Gate"), [R("Sign-off")], full=[(CHECKED, "Gate"), R("Sign-off")]),
        # A new, open subject shown: it is ready, and the approval waits for it.
        Step(set_fields(legal="yes"), [R("Legal"), NR("Sign-off")]),
        Step(check("Legal"), [R("Sign-off")]),
        # A completed subject hidden: the approval is still approvable, nothing changes.
        Step(set_fields(legal="no"), []),
        Step(reject("Sign-off"), [NR("Sign-off")],
             full=[(UNCHECKED, "Draft"), NR("Sign-off"), (REJECTED, "Draft")]),
    ],
)

MIGRATION_ADDS_STOP_TASK = Scenario(
    "migration to a version with a new stop task",
    tasks=[task("A"), task("B"), task("C")],
    steps=[
        Step(start(), [R("A"), R("B"), R("C")]),
        Step(check("A"), []),
        # B and C are stopped now: stored as not ready, without an event.
        Step(migrate([task("A"), stop("Gate"), task("B"), task("C")]), [], full=[],
             stored={"A": True, "Gate": True, "B": False, "C": False}),
        Step(check("Gate"), [R("B"), R("C")], full=[(CHECKED, "Gate"), R("B"), R("C")]),
        # Back to a version without the stop task: B and C stay ready, silently.
        Step(migrate([task("A"), task("B"), task("C")]), [], full=[],
             stored={"A": True, "B": True, "C": True}),
    ],
)

MIGRATION_SHOWS_TASKS = Scenario(
    "migration making tasks ready",
    tasks=[task("A", fld("mode", "Select", options=["x", "y"])), hidden("B"),
           task("Gate", stopTask=True), task("After")],
    steps=[
        Step(start(mode="x"), [R("A"), R("Gate")]),
        # B is no longer hidden, Gate no longer a stop task, D is new and shown by a rule,
        # an approval over A is added and is approvable at once: all of it silent.
        Step(check("A"), []),
        Step(
            migrate(
                [task("A", fld("mode", "Select", options=["x", "y"])), task("B"), task("Gate"),
                 task("After"), hidden("D"), approval("OK", ["A"])],
                [show(["D"], when("mode", "Is", "x"))],
            ),
            [], full=[],
            stored={"A": True, "B": True, "Gate": True, "After": True, "D": True, "OK": True},
        ),
        # Events follow the stored state from here on.
        Step(set_fields(mode="y"), [NR("D")]),
        Step(uncheck("A"), [NR("OK")], full=[(UNCHECKED, "A"), NR("OK")]),
        Step(migrate([task("A", fld("mode", "Select", options=["x", "y"])), task("B")]), [],
             stored={"A": True, "B": True}),
    ],
)

BAD_VALUE_WRITES_NOTHING = Scenario(
    "a change that fails writes nothing",
    tasks=[
        task("Intake", fld("size", "Number"), fld("colour", "Select", options=["red", "blue"])),
        hidden("Big"), hidden("Red"),
    ],
    rules=[show(["Big"], when("size", "IsGreaterThan", 3)),
           show(["Red"], when("colour", "Is", "red"))],
    steps=[
        Step(start(), [R("Intake")]),
        # A good value that would show Big, and a bad one: all or nothing.
        Step(set_fields(size=4, colour="green"), [], full=[], raises=ValidationError,
             stored={"Big": False, "Red": False}),
        Step(set_fields(size=4, colour="red"), [R("Big"), R("Red")]),
    ],
)

SHOWN_BUT_STOPPED = Scenario(
    "values at start, tasks shown behind a stop task, two reasons at once",
    tasks=[
        task("Intake", fld("gate", "Select", options=["yes", "no"]), fld("extra", "Number")),
        hidden("Gate", stopTask=True), hidden("Extra"), approval("Check gate", ["Gate"]),
    ],
    rules=[show(["Gate"], when("gate", "Is", "yes")),
           show(["Extra"], when("extra", "IsGreaterThan", 0))],
    steps=[
        # Values given at start apply before anything fires: the stop task is there at once.
        Step(start(gate="yes"), [R("Intake"), R("Gate")],
             full=[(CREATED, RUN), R("Intake"), R("Gate")]),
        # Shown, but stopped: not ready, so nothing.
        Step(set_fields(extra=1), [], stored={"Extra": False}),
        # Completing Gate unstops Extra, and unstops and makes approvable Check gate: once each.
        Step(check("Gate"), [R("Extra"), R("Check gate")],
             full=[(CHECKED, "Gate"), R("Extra"), R("Check gate")]),
        # Hiding the completed stop task: Check gate has no visible subject left.
        Step(set_fields(gate="no"), [NR("Check gate")]),
        Step(set_fields(gate="yes"), [R("Check gate")]),
        # Reordered by a new version: Extra now comes before the stop task (silent), and Gate
        # reopened stops only what follows it.
        Step(migrate([task("Intake", fld("gate", "Select", options=["yes", "no"]),
                           fld("extra", "Number")),
                      hidden("Extra"), hidden("Gate", stopTask=True),
                      approval("Check gate", ["Gate"])],
                     [show(["Gate"], when("gate", "Is", "yes")),
                      show(["Extra"], when("extra", "IsGreaterThan", 0))]),
             [], full=[]),
        Step(uncheck("Gate"), [NR("Check gate")],
             full=[(UNCHECKED, "Gate"), NR("Check gate")], stored={"Extra": True}),
    ],
)

SCENARIOS = [
    STOP_TASKS_IN_A_ROW,
    HIDDEN_STOP_TASK,
    FIELD_TYPES,
    MANY_AT_ONCE,
    COMPLETED_TASK_HIDDEN_AND_SHOWN,
    APPROVAL_OVER_THREE,
    APPROVAL_BEHIND_STOP_AND_RULES,
    MIGRATION_ADDS_STOP_TASK,
    MIGRATION_SHOWS_TASKS,
    SHOWN_BUT_STOPPED,
    BAD_VALUE_WRITES_NOTHING,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_scenario(scenario):
    play(scenario)


def test_a_change_failing_after_its_saves_writes_no_events(monkeypatch):
    """Reject reopens the subject (saves, events buffered), then fails recording the rejection:
    the whole change rolls back, events included."""
    ctx = play(Scenario(
        "rollback", tasks=[task("Quote"), approval("Review", ["Quote"])],
        steps=[Step(start(), [R("Quote")]), Step(check("Quote"), [R("Review")])],
    ))
    before_rows = list(Task.objects.filter(run=ctx.run).values_list("name", "status", "ready"))
    before = event_ids()
    saves = []

    def failing_save(self, *args, **kwargs):
        saves.append(self)
        raise RuntimeError("storage failed")

    monkeypatch.setattr(Approval, "save", failing_save)
    with pytest.raises(RuntimeError):
        services.reject(ctx.task("Review"), actor=ctx.reviewer)
    assert len(saves) == 1  # it failed after the tasks were saved
    assert new_events(before) == []
    assert list(
        Task.objects.filter(run=ctx.run).values_list("name", "status", "ready")
    ) == before_rows
    monkeypatch.undo()
    # The same change, succeeding, fires what the failed one would have.
    services.reject(ctx.task("Review"), actor=ctx.reviewer)
    assert [(e.type, json.loads(e.body)["data"].get("name")) for e in new_events(before)] == [
        ("TaskCheckedUnchecked", "Quote"), (NOT_READY, "Review"), (REJECTED, None),
    ]


def test_readiness_events_name_their_run():
    ctx = play(STOP_TASKS_IN_A_ROW)
    rows = Event.objects.filter(type__in=[READY, NOT_READY])
    assert rows.count() == 7
    for event in rows:
        assert event.run_id == ctx.run.pk == json.loads(event.body)["data"]["checklist"]["id"]
        assert event.workflow_id == ctx.workflow.pk
