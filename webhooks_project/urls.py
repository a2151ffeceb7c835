from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from api.docs_pages import RedocView, SwaggerView
from api.root import ApiNotFoundView, ApiRootView
from ops.metrics import metrics
from ops.service_health import healthz

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
handler400 = "api.errors.bad_request"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
