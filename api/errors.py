"""Errors to answers in the API's error body (api.error_body): DRF's exception handler for the
views, and Django's error views for /api/ and /incoming/ URLs no view matched."""

import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.error_body import error_body, error_response
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
        return Response(error_body("Internal error.", "InternalError", request_id=request_id),
                        status=500)
    details = response.data if isinstance(response.data, dict) else {"detail": response.data}
    if set(details) == {"detail"}:
        error = str(details["detail"])
        details = {}
    else:
        error = _message(details)
    response.data = error_body(error, ERROR_CODES.get(response.status_code, "BadRequest"),
                               request_id=request_id, details=details)
    return response


# --- Django's error views, for URLs no API view matched ------------------------------------------

_JSON_PREFIXES = ("/api/", "/incoming/")


def _json_or_default(request, status: int, code: str, message: str, default):
    if request.path.startswith(_JSON_PREFIXES):
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
