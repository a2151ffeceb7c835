"""Workflows, runs, tasks, form fields, approvals and forms in Process Street's JSON shapes.

Read serializers render models; request serializers only check the shape of a body. Checks that
need the database (ids belonging to the organization, the run or the version) are made by the
views, which then call the services.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import (
    AuditSerializer,
    IsoDateTimeField,
    UserRefField,
    UserRefSerializer,
    user_ref,
)
from api.strict_fields import StrictTypesMixin
from workflows.models import (
    Approval,
    ApprovalStatus,
    ConditionalRule,
    Form,
    FormField,
    FormFieldTemplate,
    FormFieldValue,
    FormResponse,
    FormResponseStatus,
    RunStatus,
    TaskStatus,
    TaskTemplate,
    VersionStatus,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)
from workflows.models import Task as RunTask

# ---------------------------------------------------------------------------------------------
# Workflows (templates)


def status_field(choices) -> serializers.CharField:
    """A read-only status, documented by its values (enums stay on the request bodies)."""
    values = " | ".join(value for value, _ in choices)
    return serializers.CharField(read_only=True, help_text=values)


class WorkflowVersionSerializer(serializers.ModelSerializer):
    status = status_field(VersionStatus.choices)
    createdDate = IsoDateTimeField(source="created_date", read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = ["id", "number", "status", "createdDate"]


class TaskTemplateSerializer(serializers.ModelSerializer):
    groupId = serializers.CharField(source="group_id")
    stopTask = serializers.BooleanField(source="stop_task")
    hiddenByDefault = serializers.BooleanField(source="hidden_by_default")
    taskType = serializers.CharField(source="task_type")
    subjects = serializers.SerializerMethodField()

    class Meta:
        model = TaskTemplate
        fields = ["id", "groupId", "name", "stopTask", "hiddenByDefault", "taskType", "subjects"]

    def get_subjects(self, obj) -> list[str]:
        return [subject.id for subject in obj.subject_templates.all()]


class FormFieldTemplateSerializer(serializers.ModelSerializer):
    groupId = serializers.CharField(source="group_id")
    taskId = serializers.CharField(source="task_template_id")
    type = serializers.CharField(source="field_type")
    hiddenByDefault = serializers.BooleanField(source="hidden_by_default")
    options = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = FormFieldTemplate
        fields = [
            "id", "groupId", "taskId", "label", "type", "required", "hiddenByDefault", "options",
        ]


class RuleTargetsSerializer(serializers.Serializer):
    taskIds = serializers.ListField(child=serializers.CharField())
    widgetIds = serializers.ListField(child=serializers.CharField())


class ConditionalRuleSerializer(serializers.ModelSerializer):
    condition = serializers.JSONField()
    targets = serializers.SerializerMethodField()

    class Meta:
        model = ConditionalRule
        fields = ["id", "condition", "action", "targets"]

    @extend_schema_field(RuleTargetsSerializer)
    def get_targets(self, obj) -> dict:
        return {
            "taskIds": [task.id for task in obj.target_tasks.all()],
            "widgetIds": [field.id for field in obj.target_fields.all()],
        }


class WorkflowSerializer(serializers.ModelSerializer):
    """A workflow with its versions, and the latest finished version's tasks, fields and rules."""

    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    versions = WorkflowVersionSerializer(many=True, read_only=True)
    versionId = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    formFields = serializers.SerializerMethodField()
    rules = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "id", "name", "createdDate", "updatedDate", "versions", "versionId", "tasks",
            "formFields", "rules",
        ]

    def _latest(self, obj) -> WorkflowVersion | None:
        cache = self.context.setdefault("_latest_versions", {})
        if obj.pk not in cache:
            cache[obj.pk] = obj.latest_version()
        return cache[obj.pk]

    def get_versionId(self, obj) -> str | None:  # noqa: N802
        version = self._latest(obj)
        return version.id if version else None

    @extend_schema_field(TaskTemplateSerializer(many=True))
    def get_tasks(self, obj) -> list:
        version = self._latest(obj)
        if version is None:
            return []
        templates = version.task_templates.prefetch_related("subject_templates")
        return TaskTemplateSerializer(templates, many=True).data

    @extend_schema_field(FormFieldTemplateSerializer(many=True))
    def get_formFields(self, obj) -> list:  # noqa: N802
        version = self._latest(obj)
        if version is None:
            return []
        return FormFieldTemplateSerializer(version.field_templates.all(), many=True).data

    @extend_schema_field(ConditionalRuleSerializer(many=True))
    def get_rules(self, obj) -> list:
        version = self._latest(obj)
        if version is None:
            return []
        rules = version.rules.prefetch_related("target_tasks", "target_fields")
        return ConditionalRuleSerializer(rules, many=True).data


# ---------------------------------------------------------------------------------------------
# Runs


class TaskSerializer(serializers.ModelSerializer):
    status = status_field(TaskStatus.choices)
    taskType = serializers.CharField(source="task_type", read_only=True)
    taskTemplateId = serializers.CharField(source="template_id", read_only=True)
    taskTemplateGroupId = serializers.CharField(source="template.group_id", read_only=True)
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    updatedBy = UserRefField(source="updated_by")
    completedDate = IsoDateTimeField(source="completed_date", read_only=True, allow_null=True)
    completedBy = UserRefField(source="completed_by")

    class Meta:
        model = RunTask
        fields = [
            "id", "name", "status", "stopped", "hidden", "ready", "taskType", "taskTemplateId",
            "taskTemplateGroupId", "updatedDate", "updatedBy", "completedDate", "completedBy",
        ]
        read_only_fields = fields


class TaskUpdateSerializer(StrictTypesMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices)


class FormFieldValueSerializer(serializers.ModelSerializer):
    """`id` is the form field's id in the run's version (what start and PUT address it by)."""

    id = serializers.CharField(source="template_id", read_only=True)
    groupId = serializers.CharField(source="template.group_id", read_only=True)
    taskId = serializers.CharField(source="template.task_template_id", read_only=True)
    label = serializers.CharField(source="template.label", read_only=True)
    type = serializers.CharField(source="template.field_type", read_only=True)
    required = serializers.BooleanField(source="template.required", read_only=True)
    value = serializers.JSONField(read_only=True, allow_null=True)
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    updatedBy = UserRefField(source="updated_by")

    class Meta:
        model = FormFieldValue
        fields = [
            "id", "groupId", "taskId", "label", "type", "required", "hidden", "value",
            "updatedDate", "updatedBy",
        ]
        read_only_fields = fields


class FormFieldsSerializer(serializers.Serializer):
    fields = FormFieldValueSerializer(many=True)


class FieldValueInputSerializer(StrictTypesMixin, serializers.Serializer):
    id = serializers.CharField()
    value = serializers.JSONField(allow_null=True)


class FormFieldsUpdateSerializer(StrictTypesMixin, serializers.Serializer):
    """`{"fields": [{"id", "value"}]}`; a plain `{fieldId: value}` object is accepted too."""

    fields = FieldValueInputSerializer(many=True, allow_empty=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "fields" not in data:
            data = {"fields": [{"id": key, "value": value} for key, value in data.items()]}
        return super().to_internal_value(data)


class TemplateRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class WorkflowRunSerializer(serializers.ModelSerializer):
    status = status_field(RunStatus.choices)
    audit = serializers.SerializerMethodField()
    completedDate = IsoDateTimeField(source="completed_date", read_only=True, allow_null=True)
    completedBy = UserRefField(source="completed_by")
    template = serializers.SerializerMethodField()
    workflowId = serializers.CharField(source="workflow_id", read_only=True)
    versionId = serializers.CharField(source="version_id", read_only=True)
    dueDate = IsoDateTimeField(source="due_date", read_only=True, allow_null=True)
    assignees = serializers.SerializerMethodField()
    tasks = TaskSerializer(many=True, read_only=True)
    formFields = FormFieldValueSerializer(source="field_values", many=True, read_only=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "id", "name", "audit", "completedDate", "completedBy", "template", "workflowId",
            "versionId", "status", "dueDate", "shared", "assignees", "tasks", "formFields",
        ]
        read_only_fields = fields

    @extend_schema_field(AuditSerializer)
    def get_audit(self, obj) -> dict:
        return AuditSerializer(obj).data

    @extend_schema_field(TemplateRefSerializer)
    def get_template(self, obj) -> dict:
        return {"id": obj.workflow_id, "name": obj.workflow.name}

    @extend_schema_field(UserRefSerializer(many=True))
    def get_assignees(self, obj) -> list:
        return [user_ref(membership.user) for membership in obj.assignees.all()]


@extend_schema_field({
    "oneOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {
            "type": "object", "required": ["id", "value"],
            "properties": {"id": {"type": "string"}, "value": {}},
        }},
    ],
})
class FieldValuesField(serializers.JSONField):
    """Form field values by field id; the schema states both shapes (never null)."""


class WorkflowRunCreateSerializer(StrictTypesMixin, serializers.Serializer):
    workflowId = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=False, max_length=255)
    dueDate = serializers.DateTimeField(required=False, allow_null=True)
    shared = serializers.BooleanField(required=False, default=False)
    assignees = serializers.ListField(child=serializers.EmailField(), required=False)
    formFields = FieldValuesField(
        required=False,
        help_text="{fieldId: value}; a list of {id, value} is accepted too.",
    )

    def validate_formFields(self, value):  # noqa: N802
        if isinstance(value, list):
            items = FieldValueInputSerializer(data=value, many=True)
            if not items.is_valid():
                raise serializers.ValidationError("Expected a list of {id, value}.")
            return {item["id"]: item["value"] for item in items.validated_data}
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected an object of {fieldId: value}.")
        return value


class MigrateRunSerializer(StrictTypesMixin, serializers.Serializer):
    versionId = serializers.CharField(
        required=False, help_text="Defaults to the workflow's latest finished version."
    )


class ApprovalSerializer(serializers.ModelSerializer):
    status = status_field(ApprovalStatus.choices)
    approvalTaskId = serializers.CharField(source="approval_task_id", read_only=True)
    subjectTaskId = serializers.CharField(source="subject_task_id", read_only=True)
    reviewedBy = UserRefField(source="reviewed_by")
    createdDate = IsoDateTimeField(source="created_date", read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id", "approvalTaskId", "subjectTaskId", "status", "comment", "reviewedBy",
            "createdDate",
        ]
        read_only_fields = fields


class ApprovalCreateSerializer(StrictTypesMixin, serializers.Serializer):
    approvalTaskId = serializers.CharField()
    subjectTaskId = serializers.CharField(
        required=False, allow_null=True,
        help_text="Omitted: acts on every subject task still pending.",
    )
    status = serializers.ChoiceField(choices=ApprovalStatus.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


# ---------------------------------------------------------------------------------------------
# Forms


class FormFieldSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="field_type")
    options = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = FormField
        fields = ["id", "label", "type", "required", "options"]


class FormSerializer(serializers.ModelSerializer):
    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    fields = FormFieldSerializer(many=True, read_only=True)

    class Meta:
        model = Form
        fields = ["id", "name", "createdDate", "updatedDate", "fields"]


class FormResponseSerializer(serializers.ModelSerializer):
    status = status_field(FormResponseStatus.choices)
    formId = serializers.CharField(source="form_id", read_only=True)
    answers = serializers.DictField(child=serializers.JSONField(allow_null=True), read_only=True)
    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    createdBy = UserRefField(source="created_by")
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    completedDate = IsoDateTimeField(source="completed_date", read_only=True, allow_null=True)
    completedBy = UserRefField(source="completed_by")

    class Meta:
        model = FormResponse
        fields = [
            "id", "formId", "status", "answers", "createdDate", "createdBy", "updatedDate",
            "completedDate", "completedBy",
        ]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.OBJECT)
class AnswersField(serializers.Field):
    """`{fieldId: value}`; a list of `{fieldId, value}` (or `{id, value}`) is accepted too."""

    default_error_messages = {"invalid": "Expected an object of {{fieldId: value}}."}

    def to_internal_value(self, data):
        if isinstance(data, list):
            answers = {}
            for item in data:
                if not isinstance(item, dict) or "value" not in item:
                    self.fail("invalid")
                key = item.get("fieldId", item.get("id"))
                if not isinstance(key, str):
                    self.fail("invalid")
                answers[key] = item["value"]
            return answers
        if not isinstance(data, dict):
            self.fail("invalid")
        return dict(data)

    def to_representation(self, value):
        return value


class FormResponseCreateSerializer(StrictTypesMixin, serializers.Serializer):
    answers = AnswersField(required=False, default=dict)
    submit = serializers.BooleanField(required=False, default=False)


class FormResponseUpdateSerializer(StrictTypesMixin, serializers.Serializer):
    answers = AnswersField()
