from workflows.models.forms import Form, FormField, FormResponse, FormResponseStatus
from workflows.models.runs import (
    Approval,
    ApprovalStatus,
    FormFieldValue,
    RunStatus,
    Task,
    TaskStatus,
    WorkflowRun,
)
from workflows.models.templates import (
    ConditionalRule,
    FieldType,
    FormFieldTemplate,
    RuleAction,
    TaskTemplate,
    TaskType,
    VersionStatus,
    Workflow,
    WorkflowVersion,
)

__all__ = [
    "Approval", "ApprovalStatus", "ConditionalRule", "FieldType", "Form", "FormField",
    "FormFieldTemplate", "FormFieldValue", "FormResponse", "FormResponseStatus", "RuleAction",
    "RunStatus", "Task", "TaskStatus", "TaskTemplate", "TaskType", "VersionStatus", "Workflow",
    "WorkflowRun", "WorkflowVersion",
]
