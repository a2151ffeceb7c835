from delivery.views import DeliveryViewSet, EventViewSet, WebhookDeliveryViewSet
from webhooks_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookDeliveryViewSet, basename="webhook")
urlpatterns = router.urls
