"""The public receiving endpoint (POST /incoming/<token>) and the Admin API for incoming webhooks
(/api/v1/workflows/{id}/incoming-webhooks, /api/v1/data-sets/{id}/incoming-webhooks)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import IsOrganizationAdmin
from accounts.tenancy import OrganizationScoped
from api.error_body import error_response
from api.throttles import incoming_rate_limited
from datasets.models import DataSet
from incoming import receiving, services
from incoming.models import IncomingWebhook
from incoming.serializers import IncomingRequestSerializer, IncomingWebhookSerializer
from workflows.models import Workflow

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


# --- Public endpoint ----------------------------------------------------------------------------


def read_limited(stream, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past `limit` bytes."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None


def _answer(answer: receiving.Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status_code)
    for name, value in answer.headers.items():
        response[name] = value
    return response


@csrf_exempt
def receive_incoming(request: HttpRequest, token: str) -> JsonResponse:
    """Anyone holding the URL may post; the token is the credential (plus a signature when the
    incoming webhook has a signing secret)."""
    if request.method != "POST":
        response = error_response(405, "BadRequest", "Send the payload with POST.")
        response["Allow"] = "POST"
        return response
    limited = incoming_rate_limited(request, token)
    if limited is not None:
        return limited
    webhook = (
        IncomingWebhook.objects.select_related("workflow", "data_set", "organization")
        .filter(token=token).first()
    )
    if webhook is None:
        logger.info("Incoming webhook request to an unknown token (%s...)", token[:6])
        return error_response(404, "NotFound", "No incoming webhook at this URL.")
    limit = settings.INCOMING_WEBHOOK_MAX_BYTES
    content_type = request.META.get("CONTENT_TYPE", "")
    too_large = receiving.Rejected(
        413, "PayloadTooLarge", f"The body is larger than {limit} bytes."
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    body = None if declared > limit else read_limited(request, limit)
    if body is None:
        return _answer(receiving.reject(
            webhook, body=b"", content_type=content_type, headers=request.headers,
            status_code=too_large.status_code, code=too_large.code, message=too_large.message,
        ))
    return _answer(receiving.receive(
        webhook, body=body, content_type=content_type, headers=request.headers
    ))


# --- Admin API ----------------------------------------------------------------------------------


class _IncomingWebhookViewSet(
    OrganizationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Incoming webhooks of one workflow or data set; organization Admins only."""

    serializer_class = IncomingWebhookSerializer
    permission_classes = [IsOrganizationAdmin]
    lookup_value_regex = "[A-Za-z0-9_-]{1,22}"
    parent_model: type = Workflow
    parent_kwarg = "workflow_id"
    parent_field = "workflow"

    def get_parent(self):
        if not hasattr(self, "_parent"):
            self._parent = get_object_or_404(
                self.scope(self.parent_model.objects.all()), pk=self.kwargs[self.parent_kwarg]
            )
        return self._parent

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncomingWebhook.objects.none()
        return (
            IncomingWebhook.objects.filter(**{self.parent_field: self.get_parent()})
            .select_related("created_by", "updated_by")
            .order_by("created_date")
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.parent_kwarg in self.kwargs:
            context["target"] = {self.parent_field: self.get_parent()}
        return context

    @extend_schema(request=IncomingWebhookSerializer, responses={201: IncomingWebhookSerializer})
    def create(self, request, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = services.create_incoming_webhook(
            self.organization, **{self.parent_field: self.get_parent()},
            **serializer.to_service_data(), actor=request.user,
        )
        return Response(self.get_serializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IncomingWebhookSerializer, responses={200: IncomingWebhookSerializer})
    def update(self, request, partial=False, **kwargs):
        webhook = self.get_object()
        serializer = self.get_serializer(webhook, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        services.update_incoming_webhook(webhook, serializer.to_service_data(),
                                         actor=request.user)
        return Response(self.get_serializer(webhook).data)

    @extend_schema(request=IncomingWebhookSerializer, responses={200: IncomingWebhookSerializer})
    def partial_update(self, request, **kwargs):
        return self.update(request, partial=True, **kwargs)

    def perform_destroy(self, instance):
        services.delete_incoming_webhook(instance)

    @extend_schema(request=None, responses={200: IncomingRequestSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def requests(self, request, **kwargs):
        """The most recent requests, newest first, with their bodies ("See payload")."""
        webhook = self.get_object()
        queryset = webhook.requests.order_by("-received_date")
        page = self.paginate_queryset(queryset)
        data = IncomingRequestSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(request=None, responses={200: IncomingWebhookSerializer})
    @action(detail=True, methods=["post"], url_path="regenerate-url")
    def regenerate_url(self, request, **kwargs):
        """A new public URL; the old one stops working at once."""
        webhook = services.regenerate_token(self.get_object())
        return Response(self.get_serializer(webhook).data)


class WorkflowIncomingWebhookViewSet(_IncomingWebhookViewSet):
    parent_model = Workflow
    parent_kwarg = "workflow_id"
    parent_field = "workflow"


class DataSetIncomingWebhookViewSet(_IncomingWebhookViewSet):
    parent_model = DataSet
    parent_kwarg = "data_set_id"
    parent_field = "data_set"
