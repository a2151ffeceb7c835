"""/api/docs/ (Swagger UI) and /api/redoc/ (ReDoc), both from drf-spectacular-sidecar's static
files, with a Content-Security-Policy that keeps the browser on this server.

The ReDoc bundle itself points an image at its vendor's CDN (the "API docs by Redocly" logo);
the policy stops that request, so the pages load nothing from elsewhere even where a bundle
would, and they work the same with no network at all.
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# Inline scripts and styles: drf-spectacular's page templates carry their start-up code inline.
# blob: workers: ReDoc runs its search index in a worker made from a blob.
POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
])


class _SelfContained:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = POLICY
        return response


class SwaggerView(_SelfContained, SpectacularSwaggerView):
    """Swagger UI on our own copy of swagger-ui-dist."""


class RedocView(_SelfContained, SpectacularRedocView):
    """ReDoc on our own copy of its standalone bundle."""
