"""What every API view shares: pagination with links and one error body everywhere."""

import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from webhooks_project.errors import DomainConflict

logger = logging.getLogger(__name__)

ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "BadRequest",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "BadRequest",
    422: "Validation",
    429: "RateLimited",
}


class Conflict(exceptions.APIException):
    """A request that is well formed but clashes with the current state (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class Pagination(PageNumberPagination):
    page_size_query_param = "limit"
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response(
            {
                "data": data,
                "links": {"next": self.get_next_link(), "previous": self.get_previous_link()},
                "total": self.page.paginator.count,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "links", "total"],
            "properties": {
                "data": schema,
                "links": {
                    "type": "object",
                    "properties": {
                        "next": {"type": "string", "nullable": True, "format": "uri"},
                        "previous": {"type": "string", "nullable": True, "format": "uri"},
                    },
                },
                "total": {"type": "integer"},
            },
        }


def _message(detail) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        return f"{field}: {_message(value)}"
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, DomainConflict):
        exc = Conflict({exc.field or "detail": exc.message} if exc.field else exc.message)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    request_id = uuid.uuid4().hex
    if response is None:
        logger.exception("Unhandled API error %s", request_id, exc_info=exc)
        return Response(
            {
                "error": "Internal error.",
                "errorCode": "InternalError",
                "requestId": request_id,
                "details": {},
            },
            status=500,
        )
    details = response.data if isinstance(response.data, dict) else {"detail": response.data}
    if set(details) == {"detail"}:
        error = str(details["detail"])
        details = {}
    else:
        error = _message(details)
    response.data = {
        "error": error,
        "errorCode": ERROR_CODES.get(response.status_code, "BadRequest"),
        "requestId": request_id,
        "details": details,
    }
    return response
