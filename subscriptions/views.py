"""/api/v1/webhooks: organization Admins only."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsOrganizationAdmin
from accounts.tenancy import OrganizationScoped
from kernel.timefmt import iso_ms
from subscriptions import services
from subscriptions.models import Webhook
from subscriptions.serializers import (
    SecretSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)


# /api/v1/webhooks/{id}: the webhooks of the caller's organization, for its Admins; also the
# base of the routes about a webhook's deliveries (delivery/views.py). No docstring: the OpenAPI
# schema would take it as the description of every operation without one.
class OrganizationWebhooks(OrganizationScoped, viewsets.GenericViewSet):
    serializer_class = WebhookSerializer
    permission_classes = [IsOrganizationAdmin]
    lookup_value_regex = "[A-Za-z0-9_-]{1,22}"
    queryset = Webhook.objects.none()

    def get_queryset(self):
        return (
            self.scope(Webhook.objects.all())
            .select_related("created_by", "updated_by")
            .order_by("created_date")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "swagger_fake_view", False):
            return context
        context["organization"] = self.organization
        return context


class WebhookViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    OrganizationWebhooks,
):

    @extend_schema(request=WebhookSerializer, responses={201: WebhookWithSecretSerializer})
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook, secret = services.create_webhook(
            self.organization, serializer.to_service_data(), actor=request.user
        )
        webhook.secret = secret
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookSerializer, responses={200: WebhookSerializer})
    def update(self, request, pk=None):
        webhook = self.get_object()
        serializer = self.get_serializer(webhook, data=request.data)
        serializer.is_valid(raise_exception=True)
        services.replace_webhook(webhook, serializer.to_service_data(), actor=request.user)
        return Response(self.get_serializer(webhook).data)

    def perform_destroy(self, instance):
        services.delete_webhook(instance)

    @extend_schema(request=None, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        webhook = self.get_object()
        secret = services.rotate_secret(webhook)
        grace = settings.WEBHOOK_SECRET_ROTATION_GRACE
        expiring = webhook.secrets.exclude(expires_date__isnull=True).order_by("-expires_date")
        first = expiring.first()
        return Response(
            {"secret": secret, "previousSecretsExpire": iso_ms(first.expires_date)
             if first and grace else None}
        )

    @extend_schema(request=None, responses={200: WebhookSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        webhook = self.get_object()
        services.enable_webhook(webhook, actor=request.user)
        return Response(self.get_serializer(webhook).data)

    @extend_schema(request=None, responses={200: WebhookSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        webhook = self.get_object()
        services.disable_webhook(webhook, reason=f"Disabled by {request.user.get_username()}.")
        return Response(self.get_serializer(webhook).data)
