from delivery.views import DeliveryViewSet, EventViewSet
from webhooks_project.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
urlpatterns = router.urls
