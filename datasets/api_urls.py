"""/api/v1/ routes of the datasets app."""

from api.routers import OptionalSlashRouter
from datasets.views import DataSetRecordViewSet, DataSetViewSet

router = OptionalSlashRouter()
router.register("data-sets", DataSetViewSet, basename="data-set")
router.register(
    r"data-sets/(?P<data_set_id>[^/.]+)/records", DataSetRecordViewSet, basename="data-set-record"
)

urlpatterns = router.urls
