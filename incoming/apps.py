from django.apps import AppConfig


class IncomingConfig(AppConfig):
    """Incoming webhooks: public URLs whose payloads start workflow runs or write data set
    records. Its models moved here from `subscriptions` (incoming/migrations/0001_initial.py)."""

    name = "incoming"
    verbose_name = "Incoming webhooks"
    default_auto_field = "django.db.models.BigAutoField"
