"""/api/v1/ routes of the accounts app."""

from rest_framework.routers import SimpleRouter

from accounts.views import ApiKeyViewSet

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
