from api.routers import OptionalSlashRouter
from delivery.views import DeliveryViewSet, EventViewSet

router = OptionalSlashRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
urlpatterns = router.urls
