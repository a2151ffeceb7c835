"""Incoming webhooks and their recent requests in the API (camelCase, muids, ISO-8601 ms)."""

import json

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuditSerializer
from api.strict_fields import StrictTypesMixin
from incoming.config import validate_config
from incoming.models import IncomingRequest, IncomingStatus, IncomingWebhook
from incoming.receiving import Rejected, parse_payload
from kernel.timefmt import iso_ms


@extend_schema_field({
    "type": "object", "nullable": True, "additionalProperties": True,
    "description": "Workflow: {properties: {Name, DueDate, Shared, Assignees, Runner}, "
                   "formFields: {fieldId: JSONPath}}. Data set: {columns: {fieldId: JSONPath}, "
                   "keyColumn}. JSONPaths of the subset in docs/incoming.md.",
})
class IncomingConfigField(serializers.JSONField):
    """The mapping: an object (null or absent: nothing mapped), checked by validate_config."""


class IncomingWebhookSerializer(StrictTypesMixin, AuditSerializer, serializers.ModelSerializer):
    automationApp = serializers.CharField(
        source="automation_app", required=False, allow_blank=True, max_length=100
    )
    config = IncomingConfigField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=IncomingStatus.choices, required=False)
    url = serializers.CharField(source="public_url", read_only=True)
    workflowId = serializers.CharField(source="workflow_id", read_only=True, allow_null=True)
    dataSetId = serializers.CharField(source="data_set_id", read_only=True, allow_null=True)
    verifySignatures = serializers.BooleanField(
        required=False, write_only=True,
        help_text="true: requests must be signed (Standard Webhooks) with signingSecret, which "
                  "is generated if there is none; false: no verification.",
    )
    signingSecret = serializers.CharField(
        source="signing_secret", read_only=True, allow_null=True,
        help_text="Shown on single reads and writes; null in lists, which never show secrets.",
    )

    class Meta:
        model = IncomingWebhook
        fields = [
            "id", "name", "automationApp", "config", "status", "url", "workflowId", "dataSetId",
            "verifySignatures", "signingSecret", "createdDate", "createdBy", "updatedDate",
            "updatedBy",
        ]
        read_only_fields = ["id"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if isinstance(self.parent, serializers.ListSerializer):
            data["signingSecret"] = None  # secrets never appear in list responses
        return data

    def validate_config(self, value):
        """The JSONPaths and field ids checked against the workflow or data set (nested errors
        under config)."""
        target = self.context.get("target") or {}
        if not target:
            return value
        try:
            return validate_config(value, **target)
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise serializers.ValidationError(exc.messages) from None
            messages = exc.message_dict
            if set(messages) == {"config"}:  # the config as a whole, not a key of it
                raise serializers.ValidationError(messages["config"]) from None
            raise serializers.ValidationError(messages) from None

    def to_service_data(self) -> dict:
        """The validated fields under the services' names, only those given."""
        names = {"name": "name", "automation_app": "automation_app", "config": "config",
                 "status": "status", "verifySignatures": "verify_signatures"}
        return {names[key]: value for key, value in self.validated_data.items() if key in names}


class IncomingRequestSerializer(serializers.ModelSerializer):
    receivedDate = serializers.SerializerMethodField()
    statusCode = serializers.IntegerField(source="status_code")
    objectId = serializers.SerializerMethodField()
    bodyTruncated = serializers.BooleanField(source="body_truncated")
    contentType = serializers.CharField(source="content_type")
    idempotencyKey = serializers.CharField(source="idempotency_key")
    payload = serializers.SerializerMethodField()

    class Meta:
        model = IncomingRequest
        fields = ["id", "receivedDate", "outcome", "statusCode", "objectId", "error", "body",
                  "bodyTruncated", "contentType", "idempotencyKey", "payload"]

    def get_receivedDate(self, obj) -> str:
        return iso_ms(obj.received_date)

    def get_objectId(self, obj) -> str | None:
        return obj.created_object_id or None

    # OpenAPI 3.1: an empty schema admits any JSON value, null included.
    @extend_schema_field({"description": "The body as parsed, when it parses; else null."})
    def get_payload(self, obj):
        return parsed_body(obj)


def parsed_body(obj: IncomingRequest) -> object:
    """The stored body as data (JSON, or a form-encoded body as an object), or None."""
    if obj.body_truncated or not obj.body:
        return None
    try:
        return parse_payload(obj.body.encode("utf-8"), obj.content_type)
    except Rejected:
        return None


def pretty_body(obj: IncomingRequest) -> str:
    data = parsed_body(obj)
    if data is None:
        return obj.body
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
