"""Webhooks in Process Street's API shape (camelCase, muids, ISO-8601 ms)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuditSerializer
from accounts.tenancy import scoped
from api.strict_fields import StrictTypesMixin
from datasets.models import DataSet
from kernel.catalog import TRIGGERS
from subscriptions import headers
from subscriptions.models import Webhook
from workflows.models import Form, Workflow


class OrgScopedPrimaryKey(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the caller's organization (else: not found)."""

    def get_queryset(self):
        organization = self.context["organization"]
        return scoped(self.queryset, organization)


@extend_schema_field({
    "type": "string", "format": "uri", "maxLength": 2048, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
    "description": "An http(s) URL whose host resolves only to public addresses "
                   "(docs/security.md, SSRF).",
})
class WebhookUrlField(serializers.CharField):
    """The schema states what a client can check in advance (scheme, length, format); where the
    host resolves is checked when saved and on every try."""


@extend_schema_field({
    "type": "object", "maxProperties": headers.MAX_HEADERS,
    "propertyNames": {"pattern": "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,"
                                 + str(headers.MAX_NAME_LENGTH) + "}$"},
    "additionalProperties": {"type": "string", "minLength": 1,
                             "maxLength": headers.MAX_VALUE_LENGTH,
                             "pattern": "^[\\x21-\\x7e]([\\x20-\\x7e\\t]*[\\x21-\\x7e])?$"},
})
class CustomHeadersField(serializers.DictField):
    """A webhook's custom headers, with the rules of subscriptions/headers.py in the schema."""


class WebhookSerializer(StrictTypesMixin, AuditSerializer, serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True,
                                        default="")
    url = WebhookUrlField(max_length=2048)
    triggers = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(TRIGGERS)), allow_empty=False,
        min_length=1, max_length=20,
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
    rateLimit = serializers.IntegerField(
        source="rate_limit", required=False, allow_null=True, min_value=1, max_value=10_000,
        help_text="Deliveries per second at most, across every worker; null for no limit.",
    )
    orderedDelivery = serializers.BooleanField(
        source="ordered_delivery", required=False, default=False,
        help_text="Deliveries about one subject (a workflow run, a data set record, a form "
                  "response) go one at a time, in the order their events were committed; a "
                  "failing one holds the later ones of its subject until it ends "
                  "(docs/receiving.md). Off by default.",
    )
    headers = CustomHeadersField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False), required=False,
        write_only=True,
        help_text="Header names and values sent on every try. Write-only: the values are "
                  "never returned; leave out to keep the current ones, {} to remove them all. "
                  "Refused names: Host, Content-Length, Content-Type, Content-Encoding, "
                  "Transfer-Encoding, User-Agent, Expect, Cookie, webhook-*, proxy-*, and "
                  "the hop-by-hop headers (Connection, Keep-Alive, TE, Trailer, Upgrade).",
    )
    headerNames = serializers.SerializerMethodField(
        help_text="The names of the custom headers sent on every try (values are write-only).")

    class Meta:
        model = Webhook
        fields = [
            "id", "createdDate", "createdBy", "updatedDate", "updatedBy", "name", "description",
            "url", "triggers",
            "status", "disabledReason", "workflowId", "taskId", "formId", "dataSetId",
            "rateLimit", "orderedDelivery", "headers", "headerNames",
        ]
        read_only_fields = ["id"]

    def get_headerNames(self, obj) -> list[str]:
        return sorted(obj.headers or {}, key=str.lower)

    def to_service_data(self) -> dict:
        data = self.validated_data
        return {
            "name": data.get("name", ""), "description": data.get("description", ""),
            "url": data["url"], "triggers": data["triggers"],
            "workflow": data.get("workflow"), "form": data.get("form"),
            "data_set": data.get("data_set"), "task_group_id": data.get("task_group_id", ""),
            "rate_limit": data.get("rate_limit"), "headers": data.get("headers"),
            "ordered_delivery": data.get("ordered_delivery", False),
        }


class WebhookWithSecretSerializer(WebhookSerializer):
    """The answer to a create: the only time the signing secret is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = WebhookSerializer.Meta.fields + ["secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True)
    previousSecretsExpire = serializers.CharField(read_only=True, allow_null=True)
