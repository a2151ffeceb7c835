"""/api/v1/events and /api/v1/deliveries: what happened and where it went; a webhook's test
event and the recovery of its failed deliveries (/api/v1/webhooks/{id}/test, /recover). Admins
only."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsOrganizationAdmin
from accounts.tenancy import OrganizationScoped
from api.errors import Conflict
from delivery import services
from delivery.filters import DeliveryFilter, EventFilter
from delivery.models import Delivery
from delivery.recovery import start_recovery
from delivery.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EventSerializer,
    RecoverResultSerializer,
    RecoverSerializer,
    TestEventSerializer,
)
from events.models import Event
from kernel.catalog import PING
from subscriptions.views import OrganizationWebhooks

LOOKUP = "[A-Za-z0-9_-]{1,22}"


class DeliveryViewSet(OrganizationScoped, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsOrganizationAdmin]
    filterset_class = DeliveryFilter
    lookup_value_regex = LOOKUP
    queryset = Delivery.objects.none()

    def get_queryset(self):
        queryset = self.scope(Delivery.objects.select_related("event").order_by("-created_date"))
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("attempts")
        return queryset

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        new = services.redeliver(self.get_object())
        return Response(DeliverySerializer(new).data, status=status.HTTP_202_ACCEPTED)


class EventViewSet(OrganizationScoped, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsOrganizationAdmin]
    serializer_class = EventSerializer
    filterset_class = EventFilter
    lookup_value_regex = LOOKUP
    queryset = Event.objects.none()

    def get_queryset(self):
        return (
            self.scope(Event.objects.all())
            .prefetch_related(Prefetch("deliveries", queryset=Delivery.objects.order_by("id")))
            .order_by("-created_date")
        )


# The routes about a webhook's deliveries, beside its own (subscriptions/views.py). No
# docstring: the OpenAPI schema would take it as each operation's description.
class WebhookDeliveryViewSet(OrganizationWebhooks):
    @extend_schema(
        request=TestEventSerializer,
        responses={202: DeliverySerializer, 409: OpenApiResponse(description="Disabled")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        webhook = self.get_object()
        body = TestEventSerializer(data=request.data if isinstance(request.data, dict) else {})
        body.is_valid(raise_exception=True)
        if not webhook.is_active:
            raise Conflict("The webhook is disabled; enable it to send a test.")
        delivery = services.send_test(webhook, body.validated_data.get("type") or PING)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=RecoverSerializer, responses={202: RecoverResultSerializer})
    @action(detail=True, methods=["post"])
    def recover(self, request, pk=None):
        """Redeliver every failed delivery whose event happened in [since, until)."""
        webhook = self.get_object()
        serializer = RecoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = start_recovery(
            webhook, serializer.validated_data["since"], serializer.validated_data.get("until")
        )
        return Response({"count": count}, status=status.HTTP_202_ACCEPTED)
