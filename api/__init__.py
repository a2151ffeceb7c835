"""The HTTP edge every app's API views share: one error body, pagination, request limits,
rate limits, strict JSON and bodies, routers, the OpenAPI schema and its pages."""
