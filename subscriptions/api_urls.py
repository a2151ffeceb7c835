from rest_framework.routers import SimpleRouter

from subscriptions.views import WebhookViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
