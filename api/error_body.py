"""The API's one error body, {"error", "errorCode", "requestId", "details"}: every error answer
carries it, from the views (api.errors.exception_handler), the request limits, the rate limits,
the public incoming endpoint and Django's error views alike, so a client reads them one way.

No Django REST framework import here: the authentication classes DRF loads from its settings
reach this module through the rate limits.
"""

import uuid

from django.http import JsonResponse


def error_body(message: str, code: str, *, request_id: str = "",
               details: dict | None = None) -> dict:
    """The body of an error answer; `request_id` names the request in the logs (a new one when
    not given), `details` the fields at fault."""
    return {
        "error": message,
        "errorCode": code,
        "requestId": request_id or uuid.uuid4().hex,
        "details": details or {},
    }


def error_response(status: int, code: str, message: str) -> JsonResponse:
    """An error answer outside DRF's views (middleware, plain Django views)."""
    return JsonResponse(error_body(message, code), status=status)
