"""Rate limits: per API key on /api/v1/ (scope "api", API_RATE), per token on the public
incoming endpoint (scope "incoming", INCOMING_RATE), and failed API key attempts per client
address (scope "api_key_failures", API_KEY_FAILURE_RATE: guessing keys is slowed to a crawl).

Both are DRF's SimpleRateThrottle with their history in the "throttle" cache (Redis), so every
web process counts against the same limit. Over the limit the answer is 429 with Retry-After in
the API's error body. The rates are read from settings on every request, so they can be changed
without a restart of the class (tests do). If Redis cannot be reached the request is let
through: an outage of the counter must not take the API down with it.
"""

import logging
import math

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle

from api.error_body import error_response

logger = logging.getLogger(__name__)

THROTTLE_CACHE = "throttle"


class _RedisRateThrottle(SimpleRateThrottle):
    rate_setting = ""

    @property
    def cache(self):
        return caches[THROTTLE_CACHE]

    def get_rate(self):
        return getattr(settings, self.rate_setting)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # redis.exceptions.RedisError, OSError, ...
            logger.warning("Rate limit not checked (%s): %s", self.scope, type(exc).__name__)
            return True


class ApiKeyRateThrottle(_RedisRateThrottle):
    """Counts requests per API key; a session user per user, anyone else per client address."""

    scope = "api"
    rate_setting = "API_RATE"

    def get_cache_key(self, request, view):
        # request.auth is the ApiKey (accounts.authentication) when a key authenticated; read
        # by its attribute so that the API edge imports no app. The hash, not the primary key:
        # ids are reused after deletion (tests, SQLite).
        key_hash = getattr(getattr(request, "auth", None), "key_hash", None)
        if key_hash:
            ident = f"key:{key_hash[:32]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IncomingTokenRateThrottle(_RedisRateThrottle):
    """Counts requests per incoming webhook token (the public URL's last segment)."""

    scope = "incoming"
    rate_setting = "INCOMING_RATE"

    def get_cache_key(self, request, view):
        token = (getattr(view, "kwargs", None) or {}).get("token")
        if not token:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token}


class FailedApiKeyThrottle(_RedisRateThrottle):
    """Counts wrong API keys per client address. Only failures count; once over the limit every
    attempt from that address (a right key too) answers 429 until the window moves on, so a
    guess that happens to be right is not confirmed."""

    scope = "api_key_failures"
    rate_setting = "API_KEY_FAILURE_RATE"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def seconds_blocked(self, request) -> float | None:
        """None if the address may try a key, else the seconds until it may."""
        try:
            self.key = self.get_cache_key(request)
            self.history = self.cache.get(self.key, [])
            self.now = self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            if len(self.history) < self.num_requests:
                return None
            return max(1.0, self.wait() or 1.0)
        except Exception as exc:  # redis.exceptions.RedisError, OSError, ...
            logger.warning("Rate limit not checked (%s): %s", self.scope, type(exc).__name__)
            return None

    def record_failure(self, request) -> None:
        try:
            key = self.get_cache_key(request)
            history = [stamp for stamp in self.cache.get(key, [])
                       if stamp > self.timer() - self.duration]
            history.insert(0, self.timer())
            self.cache.set(key, history, self.duration)
        except Exception as exc:  # noqa: BLE001 - as above
            logger.warning("Rate limit not counted (%s): %s", self.scope, type(exc).__name__)


class _TokenView:
    def __init__(self, token: str) -> None:
        self.kwargs = {"token": token}


def incoming_rate_limited(request, token: str):
    """None if the request may go on, else the 429 response to send (with Retry-After)."""
    throttle = IncomingTokenRateThrottle()
    if throttle.allow_request(request, _TokenView(token)):
        return None
    wait = throttle.wait()
    response = error_response(429, "RateLimited", "Too many requests to this incoming webhook.")
    if wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response
