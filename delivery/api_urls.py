from rest_framework.routers import SimpleRouter

from delivery.views import DeliveryViewSet, EventViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
urlpatterns = router.urls
