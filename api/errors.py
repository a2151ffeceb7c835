"""What every API view shares: pagination with links and one error body everywhere (Django's
error views too, for /api/ URLs no view matched)."""

import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.domain_errors import DomainConflict

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


def _positive_int(request, name: str, maximum: int | None = None) -> int | None:
    """The query parameter `name` as an integer from 1 (to `maximum`), None if absent; a 400
    naming it otherwise (DRF would ignore a bad `limit` and give the default page size)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    bound = f" to {maximum}" if maximum else ""
    try:
        value = int(raw) if raw.strip().lstrip("+").isdigit() else None
    except ValueError:
        value = None
    if value is None or value < 1 or (maximum is not None and value > maximum):
        raise exceptions.ValidationError({name: f"Enter a whole number from 1{bound}."})
    return value


class Pagination(PageNumberPagination):
    """?page= and ?limit= (1 to 200): a value of the wrong type or range is a 400 naming it; a
    page past the last is 404."""

    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        return _positive_int(request, self.page_size_query_param, self.max_page_size) or (
            self.page_size
        )

    def get_page_number(self, request, paginator):
        number = _positive_int(request, self.page_query_param)
        return number if number is not None else 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size} (default {self.page_size})."
                )
        return parameters

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


# --- Django's error views, for URLs no API view matched ------------------------------------------

_JSON_PREFIXES = ("/api/", "/incoming/")


def _json_or_default(request, status: int, code: str, message: str, default):
    if request.path.startswith(_JSON_PREFIXES):
        from api.request_limits import error_response

        return error_response(status, code, message)
    return default()


def not_found(request, exception=None):
    """handler404: a URL under /api/ or /incoming/ that matches no route (an id of the wrong
    shape, say) answers with the API's JSON error body, as the views do; elsewhere Django's."""
    return _json_or_default(request, 404, "NotFound", "Not found.",
                            lambda: defaults.page_not_found(request, exception))


def bad_request(request, exception=None):
    return _json_or_default(request, 400, "BadRequest", "Bad request.",
                            lambda: defaults.bad_request(request, exception))


def server_error(request):
    return _json_or_default(request, 500, "InternalError", "Internal error.",
                            lambda: defaults.server_error(request))
