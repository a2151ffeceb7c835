from api.routers import OptionalSlashRouter
from delivery.views import DeliveryViewSet, EventViewSet, WebhookDeliveryViewSet

router = OptionalSlashRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookDeliveryViewSet, basename="webhook")
urlpatterns = router.urls
