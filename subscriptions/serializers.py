"""Webhook subscriptions in Process Street's API shape (camelCase, muids, ISO-8601 ms)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.users import user_ref
from datasets.models import DataSet
from events.catalog import TRIGGERS
from subscriptions.models import Webhook
from webhooks_project.timefmt import iso_ms
from workflows.models import Form, Workflow

USER_SCHEMA = {
    "type": "object", "nullable": True,
    "properties": {"id": {"type": "string"}, "email": {"type": "string"},
                   "username": {"type": "string"}},
}


class AuditFields(serializers.Serializer):
    """createdDate/createdBy/updatedDate/updatedBy of a model with the usual audit columns."""

    createdDate = serializers.SerializerMethodField()
    createdBy = serializers.SerializerMethodField()
    updatedDate = serializers.SerializerMethodField()
    updatedBy = serializers.SerializerMethodField()

    def get_createdDate(self, obj) -> str:
        return iso_ms(obj.created_date)

    def get_updatedDate(self, obj) -> str:
        return iso_ms(obj.updated_date)

    @extend_schema_field(USER_SCHEMA)
    def get_createdBy(self, obj):
        return user_ref(obj.created_by)

    @extend_schema_field(USER_SCHEMA)
    def get_updatedBy(self, obj):
        return user_ref(obj.updated_by)


class OrgScopedPrimaryKey(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the caller's organization (else: not found)."""

    def get_queryset(self):
        organization = self.context["organization"]
        return self.queryset.filter(organization=organization)


class WebhookSerializer(AuditFields, serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True,
                                        default="")
    url = serializers.CharField(max_length=2048)
    triggers = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(TRIGGERS)), allow_empty=False, max_length=20
    )
    status = serializers.CharField(read_only=True)
    disabledReason = serializers.CharField(source="disabled_reason", read_only=True)
    workflowId = OrgScopedPrimaryKey(
        source="workflow", queryset=Workflow.objects.all(), required=False, allow_null=True,
        pk_field=serializers.CharField(max_length=22),
    )
    taskId = serializers.CharField(
        source="task_group_id", required=False, allow_blank=True, max_length=22
    )
    formId = OrgScopedPrimaryKey(
        source="form", queryset=Form.objects.all(), required=False, allow_null=True,
        pk_field=serializers.CharField(max_length=22),
    )
    dataSetId = OrgScopedPrimaryKey(
        source="data_set", queryset=DataSet.objects.all(), required=False, allow_null=True,
        pk_field=serializers.CharField(max_length=22),
    )

    class Meta:
        model = Webhook
        fields = [
            "id", "createdDate", "createdBy", "updatedDate", "updatedBy", "name", "description",
            "url", "triggers",
            "status", "disabledReason", "workflowId", "taskId", "formId", "dataSetId",
        ]
        read_only_fields = ["id"]

    def to_service_data(self) -> dict:
        data = self.validated_data
        return {
            "name": data.get("name", ""), "description": data.get("description", ""),
            "url": data["url"], "triggers": data["triggers"],
            "workflow": data.get("workflow"), "form": data.get("form"),
            "data_set": data.get("data_set"), "task_group_id": data.get("task_group_id", ""),
        }


class WebhookWithSecretSerializer(WebhookSerializer):
    """The answer to a create: the only time the signing secret is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    previousSecretsExpire = serializers.CharField(read_only=True, allow_null=True)


class RecoverSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(required=False, allow_null=True)


class RecoverResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(read_only=True)


class TestEventSerializer(serializers.Serializer):
    """POST /webhooks/{id}/test: which event to send (default: a Ping)."""

    type = serializers.ChoiceField(choices=[], required=False)

    def __init__(self, *args, **kwargs):
        from subscriptions.services import test_event_types

        super().__init__(*args, **kwargs)
        self.fields["type"].choices = test_event_types()
