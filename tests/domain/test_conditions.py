"""Conditional logic: every operator across field types, several rules on one target, Show and
Hide together, and re-evaluation of a run on every change."""

import pytest

from tests.domain import factories as f
from tests.support import builders
from workflows import services
from workflows.conditions import FieldReading, Rule, clause_matches, evaluate_rules, is_hidden

R = FieldReading


@pytest.mark.parametrize(
    ("operator", "reading", "operand", "expected"),
    [
        ("HasAnyValue", R("Text", "x"), None, True),
        ("HasAnyValue", R("Text", None), None, False),
        ("HasAnyValue", R("MultiChoice", []), None, False),
        ("HasNoValue", R("Text", ""), None, True),
        ("HasNoValue", R("Number", 0), None, False),
        ("Is", R("Text", "  Hello "), "hello", True),
        ("Is", R("Text", "Hello"), "help", False),
        ("Is", R("Email", "A@X.io"), "a@x.io", True),
        ("Is", R("Text", None), "x", False),
        ("IsNot", R("Text", "Hello"), "HELLO", False),
        ("IsNot", R("Text", "Hello"), "bye", True),
        ("IsNot", R("Text", None), "x", True),
        ("Is", R("Number", 10), "10.0", True),
        ("Is", R("Number", 10), "1e1", True),
        ("Is", R("Number", 10), "ten", False),
        ("IsGreaterThan", R("Number", 10), 9.5, True),
        ("IsGreaterThan", R("Number", 10), "10", False),
        ("IsLessThan", R("Number", 9), "10", True),
        ("IsLessThan", R("Number", None), 10, False),
        ("IsGreaterThan", R("Number", 100), "abc", False),
        ("Is", R("Date", "2024-05-01"), "2024-05-01T00:00:00Z", True),
        ("IsGreaterThan", R("Date", "2024-05-02"), "2024-05-01T23:59:59Z", True),
        ("IsLessThan", R("Date", "2024-05-01T10:00:00.000Z"), "2024-05-01T10:30:00+01:00", False),
        ("IsLessThan", R("Date", "2024-05-01T10:00:00.000Z"), "2024-05-01T12:00:00+00:00", True),
        ("IsGreaterThan", R("Text", "10"), "9", True),  # text read as numbers when both are
        ("IsGreaterThan", R("Text", "b"), "a", False),
        ("Is", R("MultiChoice", ["Red", "Blue"]), "blue", True),
        ("Is", R("MultiChoice", ["Red"]), "Blue", False),
        ("IsNot", R("MultiChoice", ["Red", "Blue"]), "Blue", False),
        ("IsNot", R("MultiChoice", ["Red", "Blue"]), "Green", True),
        ("Is", R("Members", ["ann@example.com"]), "ANN@example.com", True),
        ("Is", R("Select", "Yes"), "yes", True),
        ("Bogus", R("Text", "x"), "x", False),
    ],
)
def test_operators(operator, reading, operand, expected):
    assert clause_matches(operator, reading, operand) is expected


def test_clause_on_a_missing_field_reads_as_empty():
    assert clause_matches("HasNoValue", None, None) is True
    assert clause_matches("Is", None, "x") is False


def test_hidden_semantics_hide_wins():
    assert is_hidden(False, set()) is False
    assert is_hidden(True, set()) is True
    assert is_hidden(True, {"Show"}) is False
    assert is_hidden(False, {"Hide"}) is True
    assert is_hidden(True, {"Show", "Hide"}) is True
    assert is_hidden(False, {"Show"}) is False


def test_or_of_ands():
    condition = {"or": [
        {"and": [{"widgetId": "a", "operator": "Is", "value": "x"},
                 {"widgetId": "b", "operator": "IsGreaterThan", "value": 5}]},
        {"and": [{"widgetId": "c", "operator": "HasAnyValue", "value": None}]},
    ]}
    rule = Rule(condition, "Hide", frozenset({"t"}), frozenset({"f"}))

    def hidden(a, b, c):
        readings = {"a": R("Text", a), "b": R("Number", b), "c": R("Text", c)}
        visibility = evaluate_rules([rule], readings)
        return visibility.task_hidden("t", False), visibility.field_hidden("f", False)

    assert hidden("x", 6, None) == (True, True)
    assert hidden("x", 5, None) == (False, False)
    assert hidden("y", 6, None) == (False, False)
    assert hidden("y", 0, "z") == (True, True)
    assert evaluate_rules([Rule({"or": []}, "Hide", frozenset({"t"}))], {}).task_actions == {}


@pytest.mark.django_db
class TestRunRules:
    @pytest.fixture
    def setup(self):
        org = builders.organization()
        actor = builders.user(org)
        tasks = [
            f.task("intake", formFields=[
                f.field("country", "Select", options=["FR", "US", "DE"]),
                f.field("amount", "Number"),
                f.field("start", "Date"),
                f.field("tags", "MultiChoice", options=["vip", "new"]),
                f.field("vat", hiddenByDefault=True),
            ]),
            f.task("customs", hiddenByDefault=True),
            f.task("big deal"),
            f.task("welcome"),
        ]
        rules = [
            # Two Show rules on one target: either reveals it.
            f.rule("Show", [f.clause("country", "Is", "US")], tasks=["customs"]),
            f.rule("Show", [f.clause("amount", "IsGreaterThan", 1000)], tasks=["customs"]),
            # A Hide rule on the same target beats both.
            f.rule("Hide", [f.clause("tags", "Is", "vip")], tasks=["customs"]),
            f.rule("Hide", [f.clause("amount", "IsLessThan", 100)], tasks=["big deal"]),
            f.rule("Hide", [f.clause("start", "IsLessThan", "2020-01-01")], tasks=["welcome"]),
            f.rule("Show", [f.clause("country", "IsNot", "US"), f.clause("country", "HasAnyValue")],
                   fields=["vat"]),
        ]
        run = services.start_run(f.workflow(org, tasks, rules), actor=actor)
        ids = {label: f.field_id(run, label) for label in f.values_of(run)}
        return run, actor, ids

    def hidden(self, run):
        tasks = {name: t.hidden for name, t in f.tasks_of(run).items()}
        return tasks, f.values_of(run)["Vat"].hidden

    def test_rules_are_re_evaluated_on_every_change(self, setup):
        run, actor, ids = setup
        assert self.hidden(run) == (
            {"Intake": False, "Customs": True, "Big Deal": False, "Welcome": False}, True
        )
        services.set_form_fields(run, {ids["Country"]: "US"}, actor=actor)
        assert self.hidden(run) == (
            {"Intake": False, "Customs": False, "Big Deal": False, "Welcome": False}, True
        )
        services.set_form_fields(run, {ids["Country"]: "FR", ids["Amount"]: "50"}, actor=actor)
        assert self.hidden(run) == (
            {"Intake": False, "Customs": True, "Big Deal": True, "Welcome": False}, False
        )
        services.set_form_fields(run, {ids["Amount"]: 5000}, actor=actor)
        assert self.hidden(run) == (
            {"Intake": False, "Customs": False, "Big Deal": False, "Welcome": False}, False
        )
        services.set_form_fields(run, {ids["Tags"]: ["vip"]}, actor=actor)  # Hide wins over Show
        assert self.hidden(run)[0]["Customs"] is True
        services.set_form_fields(run, {ids["Tags"]: None, ids["Start"]: "2019-06-01"}, actor=actor)
        assert self.hidden(run) == (
            {"Intake": False, "Customs": False, "Big Deal": False, "Welcome": True}, False
        )
        services.set_form_fields(run, {ids["Start"]: "2021-06-01"}, actor=actor)
        assert self.hidden(run)[0]["Welcome"] is False

    def test_readiness_follows_visibility(self, setup):
        run, actor, ids = setup
        assert f.tasks_of(run)["Customs"].ready is False
        services.set_form_fields(run, {ids["Country"]: "US"}, actor=actor)
        customs = f.tasks_of(run)["Customs"]
        assert (customs.hidden, customs.ready, customs.updated_by) == (False, True, actor)
