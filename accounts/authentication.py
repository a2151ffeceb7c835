"""DRF authentication by the X-API-Key header; the request then acts as that key's membership."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.keys import find_api_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        key = find_api_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if key.last_used_date is None or (timezone.now() - key.last_used_date).total_seconds() > 60:
            type(key).objects.filter(pk=key.pk).update(last_used_date=timezone.now())
        request.membership = key.membership
        return key.membership.user, key

    def authenticate_header(self, request):
        return "X-API-Key"
