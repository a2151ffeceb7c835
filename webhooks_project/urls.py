from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from webhooks_project.health import healthz
from webhooks_project.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include("webhooks_project.api_urls")),
    path("", include("subscriptions.incoming_urls")),
]

# /api/ and /incoming/ URLs that match no route answer with the API's JSON error body.
handler400 = "webhooks_project.api.bad_request"
handler404 = "webhooks_project.api.not_found"
handler500 = "webhooks_project.api.server_error"
