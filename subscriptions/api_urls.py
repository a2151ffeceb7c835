from subscriptions.views import WebhookViewSet
from webhooks_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
