"""What the OpenAPI schema tells integrators about each operation: a summary, a description and,
for the calls people make first, request and response examples.

Kept in one table rather than in the views' docstrings so that the API reference reads as one
text, and so that a test can require an entry for every operation: an endpoint added without
documentation fails it instead of showing a mixin's docstring in Swagger UI.
"""

from __future__ import annotations

ID = "aBcDeFgHiJkLmNoPqRsTuV"

WEBHOOK = {
    "id": "Hn3CqkTtPTGqFV4q8vS2Lw", "createdDate": "2026-12-02T06:30:00.000Z",
    "createdBy": {"id": "WbG0l3sXz6tJbLZ1mQ0b3Q", "email": "admin@example.com",
                  "username": "admin"},
    "updatedDate": "2026-12-02T06:30:00.000Z",
    "updatedBy": {"id": "WbG0l3sXz6tJbLZ1mQ0b3Q", "email": "admin@example.com",
                  "username": "admin"},
    "name": "CRM sync", "description": "Copies finished onboarding runs into the CRM.",
    "url": "https://hooks.example.com/process", "triggers": ["WorkflowRunCompleted"],
    "status": "Active", "disabledReason": "", "workflowId": None, "taskId": "",
    "formId": None, "dataSetId": None,
}
DELIVERY = {
    "id": "q0m3JvQ5RkSkB2o7fQ3aQw", "eventId": "Zp6cX1pDT0q3sQ9Jv2o1Kg",
    "eventType": "ChecklistCompleted", "webhookId": "Hn3CqkTtPTGqFV4q8vS2Lw",
    "url": "https://hooks.example.com/process", "status": "succeeded", "tries": 1,
    "nextTryAt": None, "lastTryAt": "2026-12-02T06:31:12.204Z", "lastStatusCode": 200,
    "lastError": "", "createdDate": "2026-12-02T06:31:12.101Z",
    "completedDate": "2026-12-02T06:31:12.330Z", "redeliveryOf": None,
}
ATTEMPT = {
    "number": 1, "startedAt": "2026-12-02T06:31:12.204Z", "durationMs": 126,
    "requestHeaders": {
        "content-type": "application/json", "user-agent": "ps-webhooks/1.0",
        "webhook-id": "Zp6cX1pDT0q3sQ9Jv2o1Kg", "webhook-timestamp": "1796193072",
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    },
    "responseStatus": 200, "responseHeaders": {"content-type": "application/json"},
    "responseBody": "{\"ok\":true}", "error": "", "connectedAddress": "203.0.113.10",
}
API_KEY = {
    "id": "Kq2m1bLrTz2x9cW0vY7p4A", "name": "CRM integration", "prefix": "psk_Xy12abCD",
    "createdDate": "2026-12-02T06:30:00.000Z", "lastUsedDate": None, "revokedDate": None,
}
ERROR = {"error": "url: Enter a valid URL.", "errorCode": "BadRequest",
         "requestId": "3f1c2e9a6b7d4c0e8a1b2c3d4e5f6a7b",
         "details": {"url": ["Enter a valid URL."]}}


def _page(item: dict) -> dict:
    return {"data": [item], "links": {"next": None, "previous": None}, "total": 1}


# operationId -> summary, description, optional "request" and "responses" ({status: example}).
OPERATIONS: dict[str, dict] = {
    # --- API keys ---
    "v1_api_keys_list": {
        "summary": "List API keys",
        "description": "The organization's API keys, newest first. Only a key's first 12 "
                       "characters (`prefix`) are ever shown again; the key itself is shown "
                       "once, in the answer that creates it. Admins only.",
        "responses": {"200": _page(API_KEY)},
    },
    "v1_api_keys_create": {
        "summary": "Create an API key",
        "description": "Creates a key acting as the caller's membership. `key` is in this "
                       "answer only: store it now, it cannot be read again (revoke it and "
                       "create another if it is lost). Send it as the `X-API-Key` header. "
                       "Admins only.",
        "request": {"name": "CRM integration"},
        "responses": {"201": {**API_KEY, "key": "psk_Xy12abCDexampleexampleexampleexample000"}},
    },
    "v1_api_keys_retrieve": {
        "summary": "Get an API key",
        "description": "One key's name, prefix and dates; never the key itself.",
        "responses": {"200": API_KEY},
    },
    "v1_api_keys_destroy": {
        "summary": "Revoke an API key",
        "description": "The key stops working at once; requests with it answer 401. The "
                       "record stays, with its `revokedDate`.",
    },
    # --- Webhooks ---
    "v1_webhooks_list": {
        "summary": "List webhooks",
        "description": "The organization's outgoing webhooks, oldest first. "
                       "Signing secrets are never listed. Admins only.",
        "responses": {"200": _page(WEBHOOK)},
    },
    "v1_webhooks_create": {
        "summary": "Create a webhook",
        "description": "Subscribes a URL to one or more triggers (`GET /api/v1/event-types`"
                       ", the webhooks section of this document). Scope it to one workflow "
                       "(`workflowId`, and `taskId` for task triggers), form (`formId`) or data "
                       "set (`dataSetId`), or leave the scope empty for every object of that "
                       "kind. The answer carries the signing `secret`, shown only here. The URL "
                       "must be HTTPS or HTTP on a public address.",
        "request": {"name": "CRM sync", "description": "Copies finished onboarding runs.",
                    "url": "https://hooks.example.com/process",
                    "triggers": ["WorkflowRunCompleted"]},
        "responses": {"201": {**WEBHOOK, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                      "400": ERROR},
    },
    "v1_webhooks_retrieve": {
        "summary": "Get a webhook",
        "description": "One webhook: its URL, triggers, scope and status (a webhook whose "
                       "deliveries keep failing is disabled, with `disabledReason`).",
        "responses": {"200": WEBHOOK},
    },
    "v1_webhooks_update": {
        "summary": "Replace a webhook",
        "description": "Replaces the URL, name, description, triggers and scope; fields left "
                       "out take their defaults. The secret is unchanged (see rotate-secret).",
        "request": {"name": "CRM sync", "url": "https://hooks.example.com/v2",
                    "triggers": ["WorkflowRunCompleted", "WorkflowRunCreated"]},
        "responses": {"200": WEBHOOK},
    },
    "v1_webhooks_destroy": {
        "summary": "Delete a webhook",
        "description": "Nothing more is sent to it; its pending deliveries are cancelled. Past "
                       "deliveries stay readable under /deliveries.",
    },
    "v1_webhooks_disable_create": {
        "summary": "Disable a webhook",
        "description": "Stops new deliveries to it until it is enabled again.",
        "responses": {"200": {**WEBHOOK, "status": "Disabled",
                              "disabledReason": "Disabled by admin."}},
    },
    "v1_webhooks_enable_create": {
        "summary": "Enable a webhook",
        "description": "Deliveries to it start again for new events. Use recover to resend "
                       "what failed meanwhile.",
        "responses": {"200": WEBHOOK},
    },
    "v1_webhooks_recover_create": {
        "summary": "Resend failed deliveries since a time",
        "description": "Redelivers every failed delivery of this webhook whose event was "
                       "created in [since, until), oldest first, in batches. Deliveries already "
                       "redelivered are skipped. Answers how many were queued.",
        "request": {"since": "2026-12-01T00:00:00Z"},
        "responses": {"202": {"count": 12}},
    },
    "v1_webhooks_rotate_secret_create": {
        "summary": "Rotate the signing secret",
        "description": "A new secret signs from now on and is shown only in this answer. The "
                       "previous ones keep signing too (one signature each in "
                       "`webhook-signature`) until `previousSecretsExpire`, so a receiver can "
                       "switch without dropping a delivery.",
        "responses": {"200": {"secret": "whsec_Q2ZkZ3JhbmRvbXNlY3JldGV4YW1wbGU=",
                              "previousSecretsExpire": "2026-12-03T06:30:00.000Z"}},
    },
    "v1_webhooks_test_create": {
        "summary": "Send a test event",
        "description": "Sends a signed event to this webhook only, through the real delivery "
                       "path (retried and recorded as any delivery). Without a body: a `Ping`. "
                       "With `{\"type\": \"<event type>\"}`: that type's documented example "
                       "body (docs/events.md), with `\"test\": true` in the envelope so the "
                       "receiver can tell it from a real change. 409 when the webhook is "
                       "disabled.",
        "request": {"type": "ChecklistCompleted"},
        "responses": {"202": {**DELIVERY, "status": "pending", "tries": 0, "lastTryAt": None,
                              "lastStatusCode": None, "completedDate": None}},
    },
    # --- Deliveries and events ---
    "v1_deliveries_list": {
        "summary": "List deliveries",
        "description": "Every delivery of an event to a webhook, newest first. Filter by "
                       "`status` (pending, succeeded, failed, cancelled), `type` (event type), "
                       "`webhookId`, `eventId`, and `since` / `until` (ISO-8601).",
        "responses": {"200": _page(DELIVERY)},
    },
    "v1_deliveries_retrieve": {
        "summary": "Get a delivery with its tries",
        "description": "The delivery, the exact body sent (`payload`) and every try: request "
                       "and response headers, the response status and the first "
                       "`WEBHOOK_RESPONSE_EXCERPT_BYTES` of its body, the duration and any "
                       "network error.",
        "responses": {"200": {**DELIVERY, "payload": {"id": "Zp6cX1pDT0q3sQ9Jv2o1Kg",
                                                      "type": "ChecklistCompleted",
                                                      "createdDate": "2026-12-02T06:31:12.100Z",
                                                      "data": {"id": "..."}},
                              "attempts": [ATTEMPT]}},
    },
    "v1_deliveries_redeliver_create": {
        "summary": "Redeliver",
        "description": "A new delivery of the same event (same body and `webhook-id`, so "
                       "receivers can deduplicate) to the same webhook, with fresh tries.",
        "responses": {"202": {**DELIVERY, "id": "Y8b2cN1mQ0aW3eR5tY7uIo", "status": "pending",
                              "tries": 0, "redeliveryOf": DELIVERY["id"]}},
    },
    "v1_events_list": {
        "summary": "List events",
        "description": "Everything that happened and was sent (or would have been) to "
                       "webhooks, newest first, each with its deliveries. Filter by `type`, "
                       "`runId`, `since` and `until`.",
    },
    "v1_events_retrieve": {
        "summary": "Get an event",
        "description": "The event's body exactly as sent, and its deliveries.",
    },
    "v1_event_types_retrieve": {
        "summary": "List event types",
        "description": "The catalogue of outgoing event types: for each, what it means, the "
                       "kind of object it is about, the trigger names that select it, its "
                       "JSON Schema and an example body (the same as in the webhooks section of "
                       "this document and in docs/events.md). Admins and Members.",
    },
    "v1_retrieve": {
        "summary": "API index",
        "description": "The resources of this API with their URLs, and where the reference is. "
                       "Needs no key; every resource does (header `X-API-Key`).",
    },
    # --- Workflows and runs ---
    "v1_workflows_list": {
        "summary": "List workflows",
        "description": "The organization's workflows (templates). Read-only in the API.",
    },
    "v1_workflows_retrieve": {
        "summary": "Get a workflow",
        "description": "A workflow with its latest version's tasks and form fields; their ids "
                       "are what incoming webhook mappings and task-scoped webhooks refer to.",
    },
    "v1_workflow_runs_list": {
        "summary": "List workflow runs",
        "description": "Runs, newest first, filterable by workflow and status. A Guest sees "
                       "only the runs they are assigned to.",
    },
    "v1_workflow_runs_create": {
        "summary": "Start a workflow run",
        "description": "Starts a run of a workflow's latest version; emits `ChecklistCreated`.",
        "request": {"workflowId": ID, "name": "Onboarding Ada Lovelace"},
    },
    "v1_workflow_runs_retrieve": {
        "summary": "Get a workflow run",
        "description": "A run with its tasks and form field values.",
    },
    "v1_workflow_runs_approvals_list": {
        "summary": "List a run's approvals",
        "description": "Each approval task's subjects with their approved / rejected state.",
    },
    "v1_workflow_runs_approvals_create": {
        "summary": "Approve or reject",
        "description": "Approves or rejects subject tasks of an approval task; emits "
                       "`TaskApproved` or `TaskRejected`.",
    },
    "v1_workflow_runs_archive_create": {
        "summary": "Archive a workflow run",
        "description": "Archives the run; it stays readable.",
    },
    "v1_workflow_runs_complete_create": {
        "summary": "Complete a workflow run",
        "description": "Completes the run when every required task is done; emits "
                       "`ChecklistCompleted`.",
    },
    "v1_workflow_runs_form_fields_retrieve": {
        "summary": "Get a run's form fields",
        "description": "Every form field of the run with its current value.",
    },
    "v1_workflow_runs_form_fields_update": {
        "summary": "Set form field values",
        "description": "Sets the named fields; fields not named keep their values. Conditional "
                       "rules are re-evaluated, so tasks may become ready or hidden.",
    },
    "v1_workflow_runs_migrate_create": {
        "summary": "Migrate a run to another version",
        "description": "Moves the run to another version of its workflow, keeping the values "
                       "and checks of tasks and fields that still exist.",
    },
    "v1_workflow_runs_tasks_list": {
        "summary": "List a run's tasks",
        "description": "Each task's status, whether it is ready and hidden.",
    },
    "v1_workflow_runs_tasks_retrieve": {
        "summary": "Get a task",
        "description": "One task of a run: its status, readiness and whether it is hidden.",
    },
    "v1_workflow_runs_tasks_update": {
        "summary": "Check or uncheck a task",
        "description": "Sets `status` to `Completed` or `NotCompleted`; emits "
                       "`TaskCheckedUnchecked` (and `TaskReady` / `TaskNotReady` for the tasks "
                       "after a stop task).",
        "request": {"status": "Completed"},
    },
    "v1_workflow_runs_tasks_partial_update": {
        "summary": "Check or uncheck a task (partial)",
        "description": "As PUT: sets `status` to `Completed` or `NotCompleted`.",
        "request": {"status": "Completed"},
    },
    # --- Data sets ---
    "v1_data_sets_list": {
        "summary": "List data sets",
        "description": "The organization's data sets. Read-only in the API.",
    },
    "v1_data_sets_retrieve": {
        "summary": "Get a data set",
        "description": "A data set with its fields (their ids key a record's cells).",
    },
    "v1_data_sets_records_list": {
        "summary": "List a data set's records",
        "description": "Records with their cells, keyed by field id.",
    },
    "v1_data_sets_records_create": {
        "summary": "Create a record",
        "description": "Adds a record; emits `DataSetRecordCreated`.",
        "request": {"cells": {ID: "Acme Corp"}},
    },
    "v1_data_sets_records_retrieve": {
        "summary": "Get a record", "description": "One record of the data set with its cells.",
    },
    "v1_data_sets_records_update": {
        "summary": "Replace a record's cells",
        "description": "Cells not named become empty; emits `DataSetRecordUpdated`.",
    },
    "v1_data_sets_records_partial_update": {
        "summary": "Change some of a record's cells",
        "description": "Cells not named are kept; emits `DataSetRecordUpdated`.",
    },
    "v1_data_sets_records_destroy": {
        "summary": "Delete a record",
        "description": "Deletes the record; emits `DataSetRecordDeleted`.",
    },
    # --- Forms ---
    "v1_forms_list": {"summary": "List forms", "description": "The organization's forms."},
    "v1_forms_retrieve": {
        "summary": "Get a form", "description": "A form with its fields.",
    },
    "v1_forms_responses_list": {
        "summary": "List a form's responses", "description": "Responses, newest first.",
    },
    "v1_forms_responses_create": {
        "summary": "Create a form response",
        "description": "Creates a response; with `submit: true` it is submitted at once and "
                       "emits `FormResponseCompleted`.",
    },
    "v1_forms_responses_retrieve": {
        "summary": "Get a form response", "description": "One response with its answers.",
    },
    "v1_forms_responses_partial_update": {
        "summary": "Change a response's answers",
        "description": "Answers not named are kept. A submitted response cannot change.",
    },
    "v1_forms_responses_submit_create": {
        "summary": "Submit a form response",
        "description": "Submits the response; emits `FormResponseCompleted`.",
    },
}

_INCOMING = {
    "list": ("List incoming webhooks", "The {kind}'s incoming webhooks, with their public "
             "URLs and mappings (docs/incoming.md)."),
    "create": ("Create an incoming webhook", "A public URL that {effect} from the JSON posted "
               "to it, through the mapping (docs/incoming.md)."),
    "retrieve": ("Get an incoming webhook", "One incoming webhook with its mapping."),
    "update": ("Replace an incoming webhook", "Replaces the name, mapping and options."),
    "partial_update": ("Change an incoming webhook", "Changes the fields given."),
    "destroy": ("Delete an incoming webhook", "Its URL stops working at once."),
    "regenerate_url_create": ("Regenerate the public URL", "A new public URL; the old one "
                              "stops working at once."),
    "requests_list": ("Recent requests", "The most recent requests received, newest first, "
                      "with their bodies and what became of them."),
}
for _prefix, _kind, _effect in (
    ("v1_workflows_incoming_webhooks", "workflow", "starts a run of the workflow"),
    ("v1_data_sets_incoming_webhooks", "data set", "adds or updates a record of the data set"),
):
    for _action, (_summary, _description) in _INCOMING.items():
        OPERATIONS[f"{_prefix}_{_action}"] = {
            "summary": _summary, "description": _description.format(kind=_kind, effect=_effect),
        }


def _media(content: dict, example) -> None:
    json_media = content.setdefault("application/json", {})
    json_media["example"] = example


def document_operations(result: dict, generator=None, request=None, public=None) -> dict:
    """drf-spectacular postprocessing hook: paths without their trailing slash (both forms are
    routed; the documented one is the canonical), and the table above applied to each
    operation."""
    paths = {}
    for path, item in result.get("paths", {}).items():
        canonical = path.rstrip("/") if path.startswith("/api/v1/") and path != "/api/v1/" \
            else path
        paths.setdefault(canonical, {}).update(item)
    result["paths"] = paths
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            doc = OPERATIONS.get(operation["operationId"])
            if doc is None:
                continue
            operation["summary"] = doc["summary"]
            operation["description"] = doc["description"]
            if "request" in doc and "requestBody" in operation:
                _media(operation["requestBody"].setdefault("content", {}), doc["request"])
            for status, example in doc.get("responses", {}).items():
                response = operation.setdefault("responses", {}).get(status)
                if response is not None:
                    _media(response.setdefault("content", {}), example)
    return result


def _nullable_31(node):
    """OpenAPI 3.0's `nullable: true` as 3.1 says it: a 3.1 validator ignores `nullable`, so a
    `{"type": "string", "nullable": true}` would refuse the null it documents."""
    if isinstance(node, list):
        return [_nullable_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_31(value) for key, value in node.items()}
    # drf-spectacular's own 3.1 nullables: "oneOf": [X, {"type": "null"}]. With oneOf, a null
    # that X admits too (X = {} for "any JSON") matches both branches and is refused.
    branches = node.get("oneOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        node["anyOf"] = node.pop("oneOf")
        if {} in node["anyOf"]:
            del node["anyOf"]  # anything, null included
    if node.pop("nullable", False) is True:
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            node["type"] = [*kind, "null"]
        elif "$ref" in node or "oneOf" in node or "anyOf" in node or "allOf" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def openapi_31(result: dict, generator=None, request=None, public=None) -> dict:
    """drf-spectacular postprocessing hook, after those that add to the schema: it is OpenAPI
    3.1 (for its webhooks section), so any 3.0 `nullable` left by a serializer's schema is
    rewritten."""
    return _nullable_31(result)


_SCHEMA_REF = "#/components/schemas/"


def _references(node, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
            found.add(ref[len(_SCHEMA_REF):])
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def drop_unreferenced_components(result: dict, generator=None, request=None,
                                 public=None) -> dict:
    """drf-spectacular postprocessing hook: removes schema components that no operation, no
    webhook and no other kept component refers to. With COMPONENT_SPLIT_REQUEST, a read-only
    field typed by a serializer (UserRefField) also gets a request component (`UserRefRequest`)
    that no request body uses; clients generated from the schema would carry it as a model."""
    components = result.get("components", {})
    schemas = components.get("schemas", {})
    kept: set[str] = set()
    # Every part of the schema but the schemas themselves is a root: paths, webhooks, and any
    # other kind of component (a shared response or parameter may name a schema too).
    _references({**result, "components": {kind: value for kind, value in components.items()
                                          if kind != "schemas"}}, kept)
    todo = list(kept)
    while todo:
        found: set[str] = set()
        _references(schemas.get(todo.pop(), {}), found)
        todo += found - kept
        kept |= found
    for name in set(schemas) - kept:
        del schemas[name]
    return result
