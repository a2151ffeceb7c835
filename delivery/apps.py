from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from delivery import receivers  # noqa: F401 - connects the webhook signal receivers
        from delivery.writer import write_events
        from kernel.outbox import set_writer

        # The outbox sits below the apps: it stores a change's events through this writer.
        set_writer(write_events)
