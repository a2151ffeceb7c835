"""/api/v1/ routes of the workflows app."""

from api.routers import OptionalSlashRouter
from workflows.views import (
    FormResponseViewSet,
    FormViewSet,
    RunTaskViewSet,
    WorkflowRunViewSet,
    WorkflowViewSet,
)

router = OptionalSlashRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("workflow-runs", WorkflowRunViewSet, basename="workflow-run")
router.register(r"workflow-runs/(?P<run_id>[^/.]+)/tasks", RunTaskViewSet, basename="run-task")
router.register("forms", FormViewSet, basename="form")
router.register(
    r"forms/(?P<form_id>[^/.]+)/responses", FormResponseViewSet, basename="form-response"
)

urlpatterns = router.urls
