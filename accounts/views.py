"""API keys, and the permission rules every API view follows.

Permission rules (the whole /api/v1/ API):
- Every view works inside the caller's organization (`accounts.tenancy.OrganizationScoped`):
  querysets are filtered by it, so another organization's id answers 404, as an unknown one does.
- Admin and Member read and write workflows' runs, tasks, form fields, approvals, data set
  records and form responses; workflows, data sets and forms themselves are read-only here.
- Guest reads only the runs they are assigned to, with their tasks, form fields and approvals:
  the run list is filtered to those, any other run is 404. Every other endpoint answers a Guest
  403, and so does every write.
- /api-keys is for Admins only (403 for Members and Guests).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts.keys import create_api_key, revoke_api_key
from accounts.models import ApiKey, Role
from accounts.permissions import HasRole, IsOrganizationAdmin
from accounts.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
)
from accounts.tenancy import OrganizationScoped


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the X-API-Key header in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class AdminsAndMembers(HasRole):
    """Read and write for Admin and Member; Guests get 403."""

    message = "Guests may not use this endpoint."
    read_roles = frozenset({Role.ADMIN, Role.MEMBER})
    write_roles = frozenset({Role.ADMIN, Role.MEMBER})


@extend_schema_view(
    list=extend_schema(summary="List the organization's API keys (never the keys themselves)"),
    retrieve=extend_schema(summary="Get an API key (never the key itself)"),
    destroy=extend_schema(summary="Revoke an API key", responses={204: None}),
)
class ApiKeyViewSet(
    OrganizationScoped,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsOrganizationAdmin]
    serializer_class = ApiKeySerializer
    queryset = ApiKey.objects.none()

    def get_queryset(self):
        return self.scope(
            ApiKey.objects.select_related("membership__user").order_by("-created_date", "id")
        )

    @extend_schema(
        summary="Create an API key for the caller's membership; `key` is shown only here",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
    )
    def create(self, request):
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key, raw = create_api_key(self.membership, name=body.validated_data["name"])
        key = ApiKey.objects.select_related("membership__user").get(pk=key.pk)
        data = ApiKeyCreatedSerializer(key).data
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        key = get_object_or_404(self.get_queryset(), pk=pk)
        revoke_api_key(key)
        return Response(status=status.HTTP_204_NO_CONTENT)
