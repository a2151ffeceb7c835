"""The event-type catalogue as integrators read it: each type's meaning, kind, trigger names,
JSON Schema and example body. Served by GET /api/v1/event-types and put in the OpenAPI schema's
webhooks section; docs/events.md is made from the same schemas."""

from __future__ import annotations

from events.examples import ALL_TYPES, description, kind_name, stored_examples, trigger_names
from events.schemas import event_schema


def catalogue() -> list[dict]:
    examples = stored_examples()
    return [
        {"type": event_type, "kind": kind_name(event_type),
         "description": description(event_type), "triggers": trigger_names(event_type),
         "schema": event_schema(event_type), "example": examples[event_type]}
        for event_type in ALL_TYPES
    ]


def openapi_webhooks(result: dict, generator=None, request=None, public=None) -> dict:
    """drf-spectacular postprocessing hook: one entry per event type in `webhooks` (OpenAPI
    3.1), a POST of that type's body (its schema under components, with the example)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    webhooks = result.setdefault("webhooks", {})
    for entry in catalogue():
        name = f"{entry['type']}Event"
        schema = {key: value for key, value in entry["schema"].items() if key != "$schema"}
        schemas[name] = schema
        triggers = ", ".join(f"`{t}`" for t in entry["triggers"]) or "none (test only)"
        webhooks[entry["type"]] = {"post": {
            "operationId": f"webhook_{entry['type']}",
            "summary": entry["description"],
            "description": (
                f"Kind: {entry['kind'] or 'any'}. Trigger names: {triggers}. Sent as a signed "
                "POST (Standard Webhooks headers `webhook-id`, `webhook-timestamp`, "
                "`webhook-signature`; see docs/receiving.md) to each matching webhook."
            ),
            "tags": ["Outgoing events"],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{name}"},
                "example": entry["example"],
            }}},
            "responses": {"2XX": {"description": "Received: any 2xx ends the delivery. Any "
                                                 "other answer, or none in 15 s, is retried."}},
            "security": [],
        }}
    return result
