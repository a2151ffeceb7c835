"""System checks for settings that are unsafe in production or break the delivery contract."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_settings(app_configs, **kwargs):
    messages = []
    if not settings.DEBUG and not settings.SECRET_KEY:
        messages.append(Error("SECRET_KEY must be set when DEBUG is off.", id="webhooks.E001"))
    if not settings.DEBUG and "*" in settings.ALLOWED_HOSTS:
        messages.append(Warning("ALLOWED_HOSTS allows every host.", id="webhooks.W001"))
    if "sqlite" in settings.DATABASES["default"]["ENGINE"] and not settings.DEBUG:
        messages.append(
            Warning(
                "SQLite in production: fine for one machine; use PostgreSQL (DATABASE_URL) "
                "to run workers on several machines.",
                id="webhooks.W002",
            )
        )
    return messages


@register()
def delivery_settings(app_configs, **kwargs):
    messages = []
    if settings.DEBUG is False and settings.WEBHOOK_ALLOWED_NETWORKS:
        messages.append(
            Warning(
                "WEBHOOK_ALLOWED_NETWORKS lets webhooks reach private addresses: "
                f"{settings.WEBHOOK_ALLOWED_NETWORKS}.",
                id="webhooks.W003",
            )
        )
    longest = max(settings.WEBHOOK_RETRY_DELAYS, default=0)
    longest = max(longest * (1 + settings.WEBHOOK_RETRY_JITTER), settings.WEBHOOK_RETRY_AFTER_CAP)
    if longest >= settings.CELERY_VISIBILITY_TIMEOUT * 0.9:
        messages.append(
            Error(
                f"A retry delay of up to {longest:.0f} s is not well under the broker's "
                f"visibility timeout ({settings.CELERY_VISIBILITY_TIMEOUT} s): Redis would hand "
                "the task out twice.",
                hint="Lower WEBHOOK_RETRY_DELAYS / WEBHOOK_RETRY_AFTER_CAP or raise "
                "CELERY_VISIBILITY_TIMEOUT.",
                id="webhooks.E002",
            )
        )
    if settings.WEBHOOK_CONNECT_TIMEOUT <= 0 or settings.WEBHOOK_READ_TIMEOUT <= 0:
        messages.append(Error("Webhook timeouts must be positive.", id="webhooks.E003"))
    return messages
