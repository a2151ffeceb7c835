"""GET /api/v1/ (the index of the API's resources) and the JSON 404 for any other /api/ path.

Without the catch-all, an unknown /api/ path would fall through to Django's HTML 404 page (the
debug page with DEBUG on), which an API client cannot parse.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# name in the index -> the route name of its list view
RESOURCES = {
    "webhooks": "webhook-list",
    "deliveries": "delivery-list",
    "events": "event-list",
    "eventTypes": "event-type-list",
    "workflows": "workflow-list",
    "workflowRuns": "workflow-run-list",
    "forms": "form-list",
    "dataSets": "data-set-list",
    "apiKeys": "api-key-list",
}


class ApiRootView(APIView):
    """Open to anyone: it names the resources, and each of them asks for an API key."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("ApiIndex", {
        "resources": serializers.DictField(child=serializers.URLField()),
        "docs": serializers.URLField(), "schema": serializers.URLField(),
    })})
    def get(self, request: Request) -> Response:
        return Response({
            "resources": {name: reverse(route, request=request)
                          for name, route in RESOURCES.items()},
            "docs": reverse("swagger-ui", request=request),
            "schema": reverse("schema", request=request),
        })


class ApiNotFoundView(APIView):
    """Any method on an /api/ path that no route matches: 404 in the API's error body."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None

    def not_found(self, request: Request, *args, **kwargs) -> Response:
        raise NotFound(f"No API route matches {request.path}; see /api/v1/ for the resources.")

    get = post = put = patch = delete = head = options = not_found
