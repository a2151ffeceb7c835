"""Request bodies sent with Transfer-Encoding: chunked (no Content-Length).

Django reads a WSGI body only up to CONTENT_LENGTH, so a chunked body (which gunicorn decodes
but cannot size in advance) was read as empty. This WSGI middleware reads such a body before
Django sees the request, up to one byte past the largest body any route accepts, and hands it
on with its CONTENT_LENGTH set: from there it is limited exactly like a body that declared its
size (413 from api.request_limits or the incoming endpoint when it is too large).
"""

from __future__ import annotations

import io

from django.conf import settings


def largest_accepted_body() -> int:
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.INCOMING_WEBHOOK_MAX_BYTES)


def _read_at_most(stream, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(64 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class ChunkedBodyMiddleware:
    """Wraps the WSGI application: chunked bodies get a CONTENT_LENGTH (capped, see above)."""

    def __init__(self, application) -> None:
        self.application = application

    def __call__(self, environ, start_response):
        is_chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if is_chunked and not environ.get("CONTENT_LENGTH"):
            body = _read_at_most(environ["wsgi.input"], largest_accepted_body() + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)
