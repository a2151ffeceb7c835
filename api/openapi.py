"""The OpenAPI schema states the error answers every operation can give, with the error body.

drf-spectacular documents the success answer of each operation only; a client (and Schemathesis)
then meets 400, 401, 404... that the schema never mentioned. This postprocessing hook
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds the `Error` body
({"error", "errorCode", "requestId", "details"}, api.error_body) and, to each
operation, the statuses it can answer with:

- every operation: 400 (bad query parameters; a bad request line), 401 (no or wrong key),
  403 (role), 404 (unknown or another organization's id), 414 and 431 (URL and header limits),
  429 (rate limits);
- an operation with a request body: 413 (too large) and 415 (not JSON);
- a write (POST, PUT, PATCH, DELETE): 409 (the request clashes with the current state).

405 is not listed: the schema lists every method a path takes.

It also states the rules every request follows, so that a client (and Schemathesis) can know
them in advance:

- a filter (query parameter) is never empty (minLength 1): an empty one is a 400
  (api.filtering), not "no filter";
- a request body has no keys but its own (additionalProperties: false,
  api.strict_fields) and no string holds U+0000 (api.strict_json);
- a PUT or PATCH without a body is a 400 (api.request_limits); PATCH {} changes nothing.
"""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "description": "The error body of every 4xx and 5xx answer.",
    "required": ["error", "errorCode", "requestId", "details"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for people."},
        "errorCode": {
            "type": "string",
            "enum": ["BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                     "PayloadTooLarge", "UriTooLong", "HeadersTooLarge", "Validation",
                     "RateLimited", "InternalError"],
        },
        "requestId": {"type": "string"},
        "details": {
            "type": "object",
            "additionalProperties": True,
            "description": "Per field at fault (dotted paths into the body), its message(s).",
        },
    },
}

DESCRIPTIONS = {
    "400": "The request is invalid: `details` names each field at fault.",
    "401": "No API key, or a wrong or revoked one.",
    "403": "The caller's role may not do this.",
    "404": "No such object in the caller's organization.",
    "409": "The request conflicts with the object's current state.",
    "413": "The request body is too large.",
    "414": "The URL is too long.",
    "415": "The request body is not JSON.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
    "431": "A header, or the headers together, are too large.",
}
ALWAYS = ("400", "401", "403", "404", "414", "429", "431")
WITH_BODY = ("413", "415")
WRITES = {"post", "put", "patch", "delete"}
METHODS = WRITES | {"get", "head", "options", "trace"}


def _error_response(status: str) -> dict:
    response = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return response


NO_NUL = "^[^\\u0000]*$"


def _tighten_request_schema(schema: object) -> None:
    """additionalProperties: false on objects that list their properties, and the no-NUL
    pattern on free strings, throughout a request body's schema."""
    if isinstance(schema, list):
        for item in schema:
            _tighten_request_schema(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
    if schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
        schema["pattern"] = NO_NUL
    for value in schema.values():
        _tighten_request_schema(value)


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: the Error component and the error answers of every
    operation (those it documents itself are kept)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the request bodies
            _tighten_request_schema(schema)
    schemas["Error"] = ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            statuses = list(ALWAYS)
            if "requestBody" in operation:
                statuses += WITH_BODY
            if method in WRITES:
                statuses.append("409")
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, _error_response(status))
            for status, response in responses.items():
                # An error a view documents itself (a 409, say) has the error body too.
                if str(status).startswith(("4", "5")) and "content" not in response:
                    response["content"] = _error_response("400")["content"]
    return result
