"""/api/v1/ routes of the events app."""

from django.urls import re_path

from events.views import EventTypesView

urlpatterns = [
    re_path(r"^event-types/?$", EventTypesView.as_view(), name="event-type-list"),
]
