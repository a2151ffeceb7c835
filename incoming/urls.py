"""The public route incoming webhooks receive on: POST /incoming/<token>."""

from django.urls import re_path

from incoming.views import receive_incoming

urlpatterns = [
    re_path(r"^incoming/(?P<token>[A-Za-z0-9_-]{1,128})/?$", receive_incoming,
            name="incoming-webhook-receive"),
]
