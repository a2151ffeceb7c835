"""The pure readiness computation: stop tasks, hidden tasks and fields, approvals."""

from workflows.conditions import Rule
from workflows.readiness import FieldInput, TaskInput, TaskState, compute_run_state


def T(id, order, **kw):  # noqa: N802
    return TaskInput(id=id, order=order, **kw)


def flags(state):
    return {k: (s.hidden, s.stopped, s.approvable, s.ready) for k, s in state.tasks.items()}


def test_stop_tasks_in_a_row_and_hidden_stop_tasks():
    tasks = [
        T("a", 0), T("s1", 1, is_stop_task=True, completed=True), T("s2", 2, is_stop_task=True),
        T("h", 3, is_stop_task=True, hidden_by_default=True), T("s3", 4, is_stop_task=True),
        T("z", 5),
    ]
    assert flags(compute_run_state(tasks, [], [])) == {
        "a": (False, False, False, True),
        "s1": (False, False, False, True),
        "s2": (False, False, False, True),
        "h": (True, True, False, False),
        "s3": (False, True, False, False),
        "z": (False, True, False, False),
    }
    # Order is the tasks' order, not the order they are given in.
    shuffled = compute_run_state(list(reversed(tasks)), [], [])
    assert flags(shuffled) == flags(compute_run_state(tasks, [], []))


def test_hidden_stop_task_stops_nothing():
    tasks = [T("s", 0, is_stop_task=True, hidden_by_default=True), T("b", 1)]
    assert compute_run_state(tasks, [], []).tasks["b"] == TaskState(False, False, False, True)


def test_approvals_and_fields_on_hidden_tasks():
    tasks = [
        T("a", 0, completed=True), T("b", 1), T("gone", 2, hidden_by_default=True),
        T("r", 3, is_approval=True, subject_ids=("a", "b", "gone")),
        T("r2", 4, is_approval=True, subject_ids=("gone",)),
    ]
    fields = [
        FieldInput("f1", "gone", "Text", "v"),
        FieldInput("f2", "a", "Text", None, hidden_by_default=True),
        FieldInput("f3", "a", "Number", 3),
    ]
    rule = Rule({"or": [{"and": [{"widgetId": "f3", "operator": "IsGreaterThan", "value": 2}]}]},
                "Show", field_targets=frozenset({"f2"}))
    state = compute_run_state(tasks, fields, [rule])
    assert state.fields_hidden == {"f1": True, "f2": False, "f3": False}
    assert state.tasks["r"] == TaskState(False, False, False, False)
    assert state.tasks["r2"] == TaskState(False, False, False, False)  # nothing visible to approve
    done = [t if t.id != "b" else T("b", 1, completed=True) for t in tasks]
    assert compute_run_state(done, fields, [rule]).tasks["r"] == TaskState(False, False, True, True)
