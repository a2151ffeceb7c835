"""/api/v1/events and /api/v1/deliveries: what happened and where it went (Admins only)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsOrganizationAdmin
from accounts.tenancy import OrganizationScoped
from delivery import services
from delivery.filters import DeliveryFilter, EventFilter
from delivery.models import Delivery
from delivery.serializers import DeliveryDetailSerializer, DeliverySerializer, EventSerializer
from events.models import Event

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
