from django.apps import AppConfig


class OpsConfig(AppConfig):
    """An app without models, so that Django registers the system checks at start-up."""

    name = "ops"

    def ready(self) -> None:
        from ops import system_checks  # noqa: F401 - registers the system checks
