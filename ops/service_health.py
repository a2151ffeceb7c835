"""GET /healthz: can we reach the database, the broker and at least one worker?

A 503 here is the answer to the question, not a server error: Django's request logger would
log it as ERROR (every poll while the workers start, under `make run`), so HealthLogFilter
drops that record and the view logs the failing checks as a WARNING instead.
"""

import logging

from celery import current_app as celery_app
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported as text
        return {"ok": False, "error": str(exc)}


def _broker() -> dict:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            conn.default_channel.client.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)}


def _workers() -> dict:
    try:
        replies = celery_app.control.ping(timeout=1.0) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc), "count": 0}
    names = sorted(name for reply in replies for name in reply)
    result = {"ok": bool(names), "count": len(names), "names": names}
    if not names:
        result["error"] = "no worker answered a ping within 1 s"
    return result


logger = logging.getLogger(__name__)


class HealthLogFilter(logging.Filter):
    """On django.request: drops the record of a /healthz answer (503 when unavailable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        return getattr(request, "path", None) != "/healthz"


@require_GET
def healthz(request):
    checks = {"database": _database(), "broker": _broker()}
    checks["worker"] = _workers() if checks["broker"]["ok"] else {"ok": False, "count": 0,
                                                                   "error": "broker down"}
    healthy = all(check["ok"] for check in checks.values())
    if not healthy:
        failing = {name: check.get("error", "") for name, check in checks.items()
                   if not check["ok"]}
        logger.warning("healthz: unavailable: %s", failing)
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
