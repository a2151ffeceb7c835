"""The one router every /api/v1/ app uses, so that all routes treat a trailing slash alike."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with or without a trailing slash, the same answer and no redirect
    (`/api/v1/webhooks` as Process Street documents it, `/api/v1/webhooks/` as DRF users type
    it). A redirect would turn a POST into a GET in many clients."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
