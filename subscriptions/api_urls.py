from api.routers import OptionalSlashRouter
from subscriptions.views import WebhookViewSet

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
