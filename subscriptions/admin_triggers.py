"""The admin's trigger picker: event types grouped by what they are about (a webhook's triggers
are all of one kind), each with a line saying when it fires.

Process Street's public names WorkflowRunCreated and WorkflowRunCompleted are the same events as
ChecklistCreated and ChecklistCompleted: the picker offers each event once and names the public
alias in its line, instead of two checkboxes that mean the same. TaskChecked and TaskUnchecked
are not aliases (each receives one direction of TaskCheckedUnchecked), so they stay choices.
"""

from __future__ import annotations

from django.utils.html import format_html

from kernel.catalog import DESCRIPTIONS, KIND_OF, TRIGGERS, EventType, Kind

GROUPS: list[tuple[Kind, str]] = [
    (Kind.WORKFLOW, "Workflow runs and tasks (scope: one workflow, optionally one task)"),
    (Kind.FORM, "Forms (scope: one form)"),
    (Kind.DATA_SET, "Data sets (scope: one data set)"),
]

# Public names that mean exactly the same events as a type: alias -> type.
ALIASES: dict[str, str] = {
    name: trigger.event_type.value for name, trigger in TRIGGERS.items()
    if name != trigger.event_type.value and not trigger.direction
}

DIRECTION_HELP = {
    "checked": "only when a task is checked (TaskCheckedUnchecked events of that direction)",
    "unchecked": "only when a task is unchecked (TaskCheckedUnchecked events of that direction)",
}


def _line(name: str) -> str:
    """The trigger's name, then one line saying when it fires (safe HTML for the label)."""
    trigger = TRIGGERS[name]
    if trigger.direction:
        help_line = DIRECTION_HELP[trigger.direction]
        text = help_line[0].upper() + help_line[1:] + "."
    else:
        text = DESCRIPTIONS[trigger.event_type]
        aliases = [alias for alias, target in ALIASES.items() if target == name]
        if aliases:
            text += f" Public name: {', '.join(aliases)} (the same events)."
    return format_html('<strong class="trigger-name">{}</strong> '
                       '<span class="trigger-help">{}</span>', name, text)


def grouped_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices for a grouped CheckboxSelectMultiple: (group label, [(trigger, line), ...])."""
    order = {t.value: i for i, t in enumerate(EventType)}

    def key(name: str) -> tuple[int, bool]:
        """In catalog order, each type before its directional triggers."""
        event_type = TRIGGERS[name].event_type.value
        return order[event_type], name != event_type

    groups = []
    for kind, label in GROUPS:
        names = [name for name, trigger in TRIGGERS.items()
                 if KIND_OF[trigger.event_type] == kind and name not in ALIASES]
        names.sort(key=key)
        groups.append((label, [(name, _line(name)) for name in names]))
    return groups


def without_aliases(triggers: list[str]) -> list[str]:
    """A webhook's triggers as the picker shows them: aliases by the type they stand for."""
    return list(dict.fromkeys(ALIASES.get(name, name) for name in triggers))
