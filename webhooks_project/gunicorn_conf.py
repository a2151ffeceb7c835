"""gunicorn's configuration (Procfile: `gunicorn -c python:webhooks_project.gunicorn_conf`).

Limits: gunicorn checks the request line and each header before Django sees the request, and
answers a breach itself with a bare text 400. Its limits are set above Django's
(settings.MAX_URL_LENGTH, MAX_HEADER_VALUE_LENGTH, MAX_HEADERS_SIZE), so that a URL or header
that is too long for the API meets Django's check and gets the API's JSON error body (414, 431).
Only requests beyond gunicorn's own ceilings (a request line over 8,190 bytes, its maximum; a
header line over 16,384 bytes; more than 200 headers) get gunicorn's plain answer.

Start-up: each web worker connects to the broker and Redis once it has loaded the app
(`post_worker_init`), so its first change that makes deliveries wakes the workers as fast as
the next ones.

Logs: the access log redacts secrets (ops.log_redaction) from every atom, so the
incoming webhook token in a path never reaches it.
"""

from gunicorn.glogging import Logger

from ops.log_redaction import install, redact

limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 200


class RedactingLogger(Logger):
    """gunicorn's logger with secrets cut out of the access log's atoms and of its own error
    log."""

    def setup(self, cfg) -> None:
        install()
        super().setup(cfg)

    def atoms(self, resp, req, environ, request_time) -> dict:
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in super().atoms(resp, req, environ, request_time).items()
        }


logger_class = RedactingLogger


def post_worker_init(worker) -> None:
    from delivery.dispatch import prepare_wake_ups

    prepare_wake_ups()
