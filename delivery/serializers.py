from rest_framework import serializers

from api.strict_fields import StrictTypesMixin
from delivery.models import Attempt, Delivery
from delivery.services import test_event_types
from events.models import Event
from kernel.timefmt import iso_ms


class IsoDateTimeField(serializers.DateTimeField):
    def to_representation(self, value):
        return iso_ms(value)


class AttemptSerializer(serializers.ModelSerializer):
    startedAt = IsoDateTimeField(source="started_at")
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    requestHeaders = serializers.JSONField(source="request_headers")
    responseStatus = serializers.IntegerField(source="response_status", allow_null=True)
    responseHeaders = serializers.JSONField(source="response_headers")
    responseBody = serializers.CharField(source="response_excerpt")
    connectedAddress = serializers.CharField(source="connected_address")

    class Meta:
        model = Attempt
        fields = ["number", "startedAt", "durationMs", "requestHeaders", "responseStatus",
                  "responseHeaders", "responseBody", "error", "connectedAddress"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    eventId = serializers.CharField(source="event_id")
    eventType = serializers.CharField(source="event.type")
    webhookId = serializers.CharField(source="webhook_id", allow_null=True)
    nextTryAt = IsoDateTimeField(source="next_try_at", allow_null=True)
    lastTryAt = IsoDateTimeField(source="last_try_at", allow_null=True)
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    createdDate = IsoDateTimeField(source="created_date")
    completedDate = IsoDateTimeField(source="completed_date", allow_null=True)
    redeliveryOf = serializers.CharField(source="redelivery_of_id", allow_null=True)

    class Meta:
        model = Delivery
        fields = ["id", "eventId", "eventType", "webhookId", "url", "status", "tries",
                  "nextTryAt", "lastTryAt", "lastStatusCode", "lastError", "createdDate",
                  "completedDate", "redeliveryOf"]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = AttemptSerializer(many=True, read_only=True)
    payload = serializers.JSONField(source="event.body")

    class Meta(DeliverySerializer.Meta):
        fields = DeliverySerializer.Meta.fields + ["payload", "attempts"]
        read_only_fields = fields

    def to_representation(self, instance):
        import json

        data = super().to_representation(instance)
        data["payload"] = json.loads(instance.event.body)
        return data


class EventSerializer(serializers.ModelSerializer):
    createdDate = IsoDateTimeField(source="created_date")
    payload = serializers.SerializerMethodField()
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "type", "createdDate", "payload", "deliveries"]
        read_only_fields = fields

    def get_payload(self, obj) -> dict:
        import json

        return json.loads(obj.body)

    def get_deliveries(self, obj) -> list[dict]:
        return [
            {"id": d.id, "webhookId": d.webhook_id, "status": d.status, "tries": d.tries}
            for d in obj.deliveries.all()
        ]


class RecoverSerializer(StrictTypesMixin, serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(required=False, allow_null=True)


class RecoverResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(read_only=True)


class TestEventSerializer(serializers.Serializer):
    """POST /webhooks/{id}/test: which event to send (default: a Ping)."""

    type = serializers.ChoiceField(choices=[], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = test_event_types()
