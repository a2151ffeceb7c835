"""The event catalog: the 11 event types, what kind of object each is about, and the trigger
names a webhook may use (the types themselves plus Process Street's public names)."""

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    TASK_CHECKED_UNCHECKED = "TaskCheckedUnchecked"
    CHECKLIST_CREATED = "ChecklistCreated"
    CHECKLIST_COMPLETED = "ChecklistCompleted"
    TASK_READY = "TaskReady"
    TASK_NOT_READY = "TaskNotReady"
    TASK_APPROVED = "TaskApproved"
    TASK_REJECTED = "TaskRejected"
    DATA_SET_RECORD_CREATED = "DataSetRecordCreated"
    DATA_SET_RECORD_UPDATED = "DataSetRecordUpdated"
    DATA_SET_RECORD_DELETED = "DataSetRecordDeleted"
    FORM_RESPONSE_COMPLETED = "FormResponseCompleted"


class Kind(StrEnum):
    WORKFLOW = "Workflow"
    FORM = "Form"
    DATA_SET = "DataSet"


# Sent by POST /webhooks/{id}/test; never emitted by the domain.
PING = "Ping"

DESCRIPTIONS: dict[EventType, str] = {
    EventType.TASK_CHECKED_UNCHECKED: "A task was checked or unchecked.",
    EventType.CHECKLIST_CREATED: "A workflow run was created.",
    EventType.CHECKLIST_COMPLETED: "A workflow run was completed.",
    EventType.TASK_READY: "A task became ready to be checked.",
    EventType.TASK_NOT_READY: "A task stopped being ready to be checked.",
    EventType.TASK_APPROVED: "A task was approved.",
    EventType.TASK_REJECTED: "A task was rejected.",
    EventType.DATA_SET_RECORD_CREATED: "A record was added to a data set.",
    EventType.DATA_SET_RECORD_UPDATED: "A record was updated in a data set.",
    EventType.DATA_SET_RECORD_DELETED: "A record was deleted from a data set.",
    EventType.FORM_RESPONSE_COMPLETED: "A form response was completed.",
}

KIND_OF: dict[EventType, Kind] = {
    **{t: Kind.WORKFLOW for t in EventType if t.startswith(("Task", "Checklist"))},
    EventType.DATA_SET_RECORD_CREATED: Kind.DATA_SET,
    EventType.DATA_SET_RECORD_UPDATED: Kind.DATA_SET,
    EventType.DATA_SET_RECORD_DELETED: Kind.DATA_SET,
    EventType.FORM_RESPONSE_COMPLETED: Kind.FORM,
}


def ordering_subject(event) -> str:
    """What an event is about, for ordered delivery: the workflow run of a run or task event
    (its ChecklistCreated, task changes and ChecklistCompleted form one line), the record of a
    data set event, the response of a form event; "" for any other (a test event)."""
    kind = KIND_OF.get(event.type)
    if kind == Kind.WORKFLOW:
        return event.run_id
    if kind in (Kind.DATA_SET, Kind.FORM):
        return event.subject_id
    return ""


# Task events can be scoped to one task template (Process Street's `taskId`).
TASK_EVENTS = frozenset(
    {
        EventType.TASK_CHECKED_UNCHECKED,
        EventType.TASK_READY,
        EventType.TASK_NOT_READY,
        EventType.TASK_APPROVED,
        EventType.TASK_REJECTED,
    }
)


@dataclass(frozen=True)
class Trigger:
    name: str
    event_type: EventType
    # For TaskChecked / TaskUnchecked: only TaskCheckedUnchecked events in that direction.
    direction: str = ""


TRIGGERS: dict[str, Trigger] = {
    **{t.value: Trigger(t.value, t) for t in EventType},
    "TaskChecked": Trigger("TaskChecked", EventType.TASK_CHECKED_UNCHECKED, "checked"),
    "TaskUnchecked": Trigger("TaskUnchecked", EventType.TASK_CHECKED_UNCHECKED, "unchecked"),
    "WorkflowRunCreated": Trigger("WorkflowRunCreated", EventType.CHECKLIST_CREATED),
    "WorkflowRunCompleted": Trigger("WorkflowRunCompleted", EventType.CHECKLIST_COMPLETED),
}


def triggers_match(triggers: list[str], event_type: str, direction: str = "") -> bool:
    """Whether a webhook with these trigger names wants an event of this type/direction."""
    for name in triggers:
        trigger = TRIGGERS.get(name)
        if trigger is None or trigger.event_type != event_type:
            continue
        if not trigger.direction or trigger.direction == direction:
            return True
    return False


def kind_of_triggers(triggers: list[str]) -> set[Kind]:
    return {KIND_OF[TRIGGERS[name].event_type] for name in triggers if name in TRIGGERS}
