"""Secrets out of the logs: every log record of the process is redacted when it is created.

Three secrets can reach a log line by accident: the token of an incoming webhook's public URL
(Django logs "Unauthorized: /incoming/<token>" for every 4xx; gunicorn's access log prints every
path), an API key (psk_...) and a signing secret (whsec_...). Redacting at record creation, not
in one handler, covers every logger and handler (console, files, test capture) and every path
that logs: Django's request logging, tracebacks, Celery, gunicorn. The `extra` fields of a
record, set after it is created, are redacted by RedactSecretsFilter on the handlers.

What stays is enough to tell them apart: the first 6 characters of a token, an API key's stored
prefix (its first 12 characters, shown in the admin too), and the secret's `whsec_` prefix.
"""

from __future__ import annotations

import logging
import logging.config
import re

_INCOMING_PATH = re.compile(r"(incoming/)([A-Za-z0-9_-]{6})[A-Za-z0-9_%-]+")
_API_KEY = re.compile(r"\b(psk_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+")
_SIGNING_SECRET = re.compile(r"\b(whsec_)[A-Za-z0-9+/=]+")
# With DEBUG on, Django logs each SQL statement with its parameters: the lookup of an incoming
# webhook by its token among them. Tokens are 32 URL-safe characters (192 bits).
_QUOTED_TOKEN = re.compile(r"'([A-Za-z0-9_-]{6})[A-Za-z0-9_-]{26}'")
SQL_LOGGER = "django.db.backends"
MASK = "…"


def redact(text: str, *, sql: bool = False) -> str:
    """`text` with incoming webhook tokens, API keys and signing secrets cut short; `sql`: a
    logged SQL statement, where a token is a quoted parameter."""
    if sql:
        text = _QUOTED_TOKEN.sub(rf"'\g<1>{MASK}'", text)
    if "incoming/" not in text and "psk_" not in text and "whsec_" not in text:
        return text
    text = _INCOMING_PATH.sub(rf"\g<1>\g<2>{MASK}", text)
    text = _API_KEY.sub(rf"\g<1>{MASK}", text)
    return _SIGNING_SECRET.sub(rf"\g<1>{MASK}", text)


_formatter = logging.Formatter()


def _redacting_factory(base_factory):
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the formatter's to report
            return record
        redacted = redact(message, sql=record.name.startswith(SQL_LOGGER))
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_formatter.formatException(record.exc_info))
        return record

    make_record.redacts_secrets = True
    return make_record


_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """For handlers (settings.LOGGING): redacts the `extra` fields of a record too, which are set
    after the record is created and which a JSON formatter prints (Django's request logging
    passes the request itself, whose text is its path; the SQL log passes the parameters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        sql = record.name.startswith(SQL_LOGGER)
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD_ATTRIBUTES or value is None or isinstance(value, int | float):
                continue
            text = value if isinstance(value, str) else repr(value)
            redacted = redact(text, sql=sql)
            if redacted != text:
                setattr(record, name, redacted)
        return True


def install() -> None:
    """Makes every log record of this process redacted (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_secrets", False):
        logging.setLogRecordFactory(_redacting_factory(current))


def configure(logging_settings: dict) -> None:
    """settings.LOGGING_CONFIG: Django's default (dictConfig) with redaction installed first."""
    install()
    if logging_settings:
        logging.config.dictConfig(logging_settings)
