"""GET /api/v1/event-types: the catalogue of outgoing events (events/catalogue.py)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.views import AdminsAndMembers
from events.catalogue import catalogue


class EventTypesView(APIView):
    """Admins and Members (Guests reach only their runs, as everywhere): the catalogue is the
    same for every organization."""

    permission_classes = [AdminsAndMembers]

    @extend_schema(responses={200: inline_serializer("EventTypeList", {
        "data": serializers.ListField(child=inline_serializer("EventType", {
            "type": serializers.CharField(), "kind": serializers.CharField(allow_null=True),
            "description": serializers.CharField(),
            "triggers": serializers.ListField(child=serializers.CharField()),
            "schema": serializers.JSONField(), "example": serializers.JSONField(),
        })),
    })})
    def get(self, request: Request) -> Response:
        return Response({"data": catalogue()})
