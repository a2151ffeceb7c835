"""Limits on the size and shape of requests, checked before any view runs.

- A URL (path and query string) longer than MAX_URL_LENGTH answers 414.
- A header value longer than MAX_HEADER_VALUE_LENGTH, or headers longer than MAX_HEADERS_SIZE
  in total, answer 431.
- An /api/ request whose declared body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE answers 413
  without the body being read (the public incoming endpoint has its own limit).
- NUL characters, which no text column can store, are a 400 in the URL.
- An /api/ PUT or PATCH without a body is a 400 (the schema says the body is required).

JSON bodies are read by api.strict_json (depth, numbers, surrogates, NUL).

Every refusal has the API's error body (api.error_body).
"""

from django.conf import settings
from django.http import JsonResponse
from django.urls import Resolver404, resolve

from api.error_body import error_response

# WSGI puts these two request headers in META without the HTTP_ prefix.
_UNPREFIXED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def _route_takes(request) -> bool:
    """Whether the view at this URL takes the request's method (if not, it answers 405)."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if match.url_name == "api-not-found":
        return False  # no route: the catch-all answers 404 to every method
    method = request.method.lower()
    actions = getattr(match.func, "actions", None)  # a DRF viewset's {method: action}
    if actions is not None:
        return method in actions
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    return view_class is not None and hasattr(view_class, method)


def _headers(meta):
    for name, value in meta.items():
        if name.startswith("HTTP_") or name in _UNPREFIXED_HEADERS:
            yield name, str(value)


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.check(request)
        return refusal if refusal is not None else self.get_response(request)

    def check(self, request) -> JsonResponse | None:
        meta = request.META
        url_length = len(meta.get("PATH_INFO", "")) + len(meta.get("QUERY_STRING", ""))
        if url_length > settings.MAX_URL_LENGTH:
            return error_response(
                414, "UriTooLong", f"The URL is longer than {settings.MAX_URL_LENGTH} characters."
            )
        total = 0
        for name, value in _headers(meta):
            if len(value) > settings.MAX_HEADER_VALUE_LENGTH:
                header = name.removeprefix("HTTP_").replace("_", "-").title()
                return error_response(
                    431, "HeadersTooLarge",
                    f"The {header} header is longer than {settings.MAX_HEADER_VALUE_LENGTH} "
                    "characters.",
                )
            total += len(name) + len(value)
        if total > settings.MAX_HEADERS_SIZE:
            return error_response(
                431, "HeadersTooLarge",
                f"The request headers are larger than {settings.MAX_HEADERS_SIZE} bytes.",
            )
        query = [text for key, values in request.GET.lists() for text in (key, *values)]
        if "\x00" in request.path_info or any("\x00" in text for text in query):
            return error_response(400, "BadRequest", "The URL must not contain NUL characters.")
        if request.path_info.startswith("/api/"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            try:
                declared = int(meta.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return error_response(400, "BadRequest", "The Content-Length is not a number.")
            if limit is not None and declared > limit:
                return error_response(
                    413, "PayloadTooLarge", f"The request body is larger than {limit} bytes."
                )
            if declared == 0 and request.method in {"PUT", "PATCH"} and _route_takes(request):
                # The schema says these bodies are required; {} is the PATCH that changes nothing.
                return error_response(
                    400, "BadRequest", "Send a JSON body ({} with PATCH changes nothing)."
                )
        return None
