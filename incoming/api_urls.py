"""/api/v1/ routes of incoming webhooks, nested under their workflow or data set."""

from api.routers import OptionalSlashRouter
from incoming.views import (
    DataSetIncomingWebhookViewSet,
    WorkflowIncomingWebhookViewSet,
)

router = OptionalSlashRouter()
router.register(
    r"workflows/(?P<workflow_id>[A-Za-z0-9_-]{1,22})/incoming-webhooks",
    WorkflowIncomingWebhookViewSet, basename="workflow-incoming-webhook",
)
router.register(
    r"data-sets/(?P<data_set_id>[A-Za-z0-9_-]{1,22})/incoming-webhooks",
    DataSetIncomingWebhookViewSet, basename="data-set-incoming-webhook",
)
urlpatterns = router.urls
