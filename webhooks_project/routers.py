from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with or without a trailing slash (`/api/v1/webhooks` as Process Street)."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
