from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from webhooks_project.api_docs import RedocView, SwaggerView
from webhooks_project.api_root import ApiNotFoundView, ApiRootView
from webhooks_project.health import healthz
from webhooks_project.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    re_path(r"^api/v1/?$", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include("webhooks_project.api_urls")),
    # Last of /api/: any other path answers the JSON error body, never an HTML page.
    re_path(r"^api/", ApiNotFoundView.as_view(), name="api-not-found"),
    path("", include("incoming.urls")),
]

# /api/ and /incoming/ URLs that match no route answer with the API's JSON error body.
handler400 = "webhooks_project.api.bad_request"
handler404 = "webhooks_project.api.not_found"
handler500 = "webhooks_project.api.server_error"
