"""Every /api/v1/ route, gathered from the apps' own url modules."""

from django.urls import include, path

urlpatterns: list = [
    path("", include("accounts.api_urls")),
    path("", include("workflows.api_urls")),
    path("", include("datasets.api_urls")),
    path("", include("subscriptions.api_urls")),
    path("", include("incoming.api_urls")),
    path("", include("delivery.api_urls")),
    path("", include("events.api_urls")),
]
