"""DRF authentication by the X-API-Key header; the request then acts as that key's membership.

Wrong keys are counted per client address (api.throttles.FailedApiKeyThrottle):
past API_KEY_FAILURE_RATE the address gets 429 with Retry-After for any key."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.keys import find_api_key
from api.throttles import FailedApiKeyThrottle


class ApiKeyAuthentication(authentication.BaseAuthentication):
    header = "HTTP_X_API_KEY"

    def authenticate(self, request):
        raw = request.META.get(self.header)
        if not raw:
            return None
        failures = FailedApiKeyThrottle()
        wait = failures.seconds_blocked(request)
        if wait is not None:
            raise exceptions.Throttled(
                wait, "Too many wrong API keys from this address; try again later."
            )
        key = find_api_key(raw)
        if key is None:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if key.last_used_date is None or (timezone.now() - key.last_used_date).total_seconds() > 60:
            type(key).objects.filter(pk=key.pk).update(last_used_date=timezone.now())
        request.membership = key.membership
        return key.membership.user, key

    def authenticate_header(self, request):
        return "X-API-Key"
