"""Conditional logic: which tasks and form fields a version's rules hide or show.

Rules are stored in Process Street's shape::

    {"condition": {"or": [{"and": [{"widgetId", "operator", "value"}]}]},
     "action": "Show" | "Hide", "targets": task templates and form field templates}

Semantics (the same for tasks and form fields):

* A condition matches when any of its "and" groups matches, and a group matches when every
  clause in it matches. An empty condition never matches.
* Rules read the stored value of a field whether or not that field is itself hidden. Hiding a
  field does not clear it, so a rule never depends on the outcome of another rule: there are no
  cycles and the result does not depend on rule order.
* hidden = (any matching Hide rule targets it)
           or (hidden by default and no matching Show rule targets it)
  A Show rule reveals a target hidden by default; a Hide rule hides any target; when a Show and
  a Hide rule both match the same target, Hide wins.

Operators, by the type of the field the clause reads:

* HasAnyValue / HasNoValue: whether the field holds a value (None, "" and [] are no value).
* Is / IsNot: numbers compare numerically, dates chronologically (a date alone is midnight UTC),
  lists (multi choice, members) "contain" the operand, anything else compares as text ignoring
  case and surrounding spaces. IsNot is exactly "not Is", so an empty field IsNot anything.
* IsGreaterThan / IsLessThan: numbers numerically, dates chronologically, other types only when
  both sides read as numbers. An empty field, or an operand that cannot be compared, never
  matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workflows.models.templates import FieldType, RuleAction
from workflows.values import FieldValueError, is_empty, parse_datetime_value, parse_number

OPERATORS = ("Is", "IsNot", "HasAnyValue", "HasNoValue", "IsGreaterThan", "IsLessThan")
OPERATORS_WITH_VALUE = frozenset({"Is", "IsNot", "IsGreaterThan", "IsLessThan"})
ORDERED_TYPES = frozenset({FieldType.NUMBER, FieldType.DATE})


@dataclass(frozen=True)
class Rule:
    condition: dict
    action: str
    task_targets: frozenset[str] = frozenset()
    field_targets: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FieldReading:
    """What a rule may read of a field: its type and stored value."""

    field_type: str
    value: object


def _comparable(field_type: str, value: object):
    """A key that orders values of this field type, or None when the value cannot be ordered."""
    try:
        if field_type == FieldType.DATE:
            return parse_datetime_value(value)
        return parse_number(value)
    except FieldValueError:
        return None


def _text(value: object) -> str:
    return str(value).strip().casefold()


def _is(field_type: str, value: object, operand: object) -> bool:
    if is_empty(value) or is_empty(operand):
        return False
    if isinstance(value, list):
        return any(_is(FieldType.TEXT, item, operand) for item in value)
    if field_type in ORDERED_TYPES:
        left, right = _comparable(field_type, value), _comparable(field_type, operand)
        return left is not None and right is not None and left == right
    return _text(value) == _text(operand)


def _order(field_type: str, value: object, operand: object) -> int | None:
    """-1, 0 or 1 comparing value with operand; None when they cannot be compared."""
    if is_empty(value) or is_empty(operand) or isinstance(value, list):
        return None
    kind = field_type if field_type in ORDERED_TYPES else FieldType.NUMBER
    left, right = _comparable(kind, value), _comparable(kind, operand)
    if left is None or right is None:
        return None
    return (left > right) - (left < right)


def clause_matches(operator: str, reading: FieldReading | None, operand: object) -> bool:
    # A clause about a field the run does not have (dropped by a newer version) reads as empty.
    field_type = reading.field_type if reading else FieldType.TEXT
    value = reading.value if reading else None
    if operator == "HasAnyValue":
        return not is_empty(value)
    if operator == "HasNoValue":
        return is_empty(value)
    if operator == "Is":
        return _is(field_type, value, operand)
    if operator == "IsNot":
        return not _is(field_type, value, operand)
    if operator in ("IsGreaterThan", "IsLessThan"):
        order = _order(field_type, value, operand)
        return order == (1 if operator == "IsGreaterThan" else -1)
    return False


def condition_matches(condition: Mapping, readings: Mapping[str, FieldReading]) -> bool:
    groups = condition.get("or") or []
    for group in groups:
        clauses = group.get("and") or []
        if clauses and all(
            clause_matches(c.get("operator", ""), readings.get(c.get("widgetId")), c.get("value"))
            for c in clauses
        ):
            return True
    return False


@dataclass
class Visibility:
    """Which actions matched, per target id; `hidden()` applies the rule semantics above."""

    task_actions: dict[str, set[str]]
    field_actions: dict[str, set[str]]

    def task_hidden(self, task_id: str, hidden_by_default: bool) -> bool:
        return is_hidden(hidden_by_default, self.task_actions.get(task_id, set()))

    def field_hidden(self, field_id: str, hidden_by_default: bool) -> bool:
        return is_hidden(hidden_by_default, self.field_actions.get(field_id, set()))


def is_hidden(hidden_by_default: bool, matched_actions: Iterable[str]) -> bool:
    actions = set(matched_actions)
    if RuleAction.HIDE in actions:
        return True
    return hidden_by_default and RuleAction.SHOW not in actions


def evaluate_rules(rules: Iterable[Rule], readings: Mapping[str, FieldReading]) -> Visibility:
    visibility = Visibility(task_actions={}, field_actions={})
    for rule in rules:
        if not condition_matches(rule.condition, readings):
            continue
        for task_id in rule.task_targets:
            visibility.task_actions.setdefault(task_id, set()).add(rule.action)
        for field_id in rule.field_targets:
            visibility.field_actions.setdefault(field_id, set()).add(rule.action)
    return visibility


def load_rules(version_id: str) -> list[Rule]:
    """A version's rules with their targets, in three queries whatever their number."""
    from workflows.models import ConditionalRule

    rules = list(ConditionalRule.objects.filter(version_id=version_id).order_by("order"))
    targets: dict[str, dict[str, set[str]]] = {"task": {}, "field": {}}
    for kind, through, column in (
        ("task", ConditionalRule.target_tasks.through, "tasktemplate_id"),
        ("field", ConditionalRule.target_fields.through, "formfieldtemplate_id"),
    ):
        rows = through.objects.filter(conditionalrule__version_id=version_id).values_list(
            "conditionalrule_id", column
        )
        for rule_id, target_id in rows:
            targets[kind].setdefault(rule_id, set()).add(target_id)
    return [
        Rule(
            condition=r.condition, action=r.action,
            task_targets=frozenset(targets["task"].get(r.id, ())),
            field_targets=frozenset(targets["field"].get(r.id, ())),
        )
        for r in rules
    ]
