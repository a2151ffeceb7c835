"""/api/v1/ routes of the accounts app."""

from accounts.views import ApiKeyViewSet
from api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
