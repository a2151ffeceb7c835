"""Incoming webhooks: their config (JSONPaths in Process Street's shape), the mapping of a payload
onto a workflow run or a data set record, and the handling of one request, all or nothing.

A workflow's config: {"properties": {"Name", "DueDate", "Shared", "Assignees", "Runner"} ->
JSONPath, "formFields": {form field id -> JSONPath}}. A data set's: {"columns": {field id ->
JSONPath}, "keyColumn": field id}. JSONPaths are of the bounded subset in jsonpath_subset.py
(docs/incoming.md), checked when the incoming webhook is saved. A JSONPath that matches nothing
leaves its field empty; one that matches several values gives the list of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.automation import automation_user
from datasets.models import DataSet, DataSetFieldType
from delivery.signing import SignatureError, generate_secret, verify_signature
from subscriptions import jsonpath_subset
from subscriptions.incoming_models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IncomingIdempotencyKey,
    IncomingOutcome,
    IncomingRequest,
    IncomingStatus,
    IncomingWebhook,
)
from webhooks_project import strict_json
from webhooks_project.errors import DomainConflict
from workflows.models import FormFieldTemplate, Workflow
from workflows.models.templates import FieldType
from workflows.values import TEXT_TYPES

logger = logging.getLogger(__name__)

PROPERTIES = ("Name", "DueDate", "Shared", "Assignees", "Runner")
# Field names the services report errors under -> the config property they come from.
SERVICE_FIELD_TO_PROPERTY = {
    "name": "Name", "dueDate": "DueDate", "assignees": "Assignees", "runner": "Runner",
}
BODY_CAP_BYTES = 64 * 1024
SIGNATURE_TOLERANCE_SECONDS = 300
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0", ""})


def idempotency_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "INCOMING_IDEMPOTENCY_SECONDS", 24 * 3600))


def requests_kept() -> int:
    return getattr(settings, "INCOMING_WEBHOOK_REQUESTS_KEPT", 100)


# --- JSONPath -----------------------------------------------------------------------------------

_MISSING = object()


def evaluate(path: str, payload: object, name: str) -> object:
    """The one value matched, the list of values when several match, _MISSING when none.
    ValidationError under `name` (the property, form field or column mapped) when the path is
    outside the subset (saved before the subset existed) or matches too many values."""
    try:
        matches = jsonpath_subset.find(path, payload)
    except jsonpath_subset.PathNotAllowed as exc:
        raise ValidationError({name: f"The mapping's JSONPath is no longer supported: {exc} "
                                     "Edit the incoming webhook."}) from None
    except jsonpath_subset.TooManyMatches as exc:
        raise ValidationError({name: str(exc)}) from None
    if not matches:
        return _MISSING
    return matches[0] if len(matches) == 1 else list(matches)


# --- Config -------------------------------------------------------------------------------------


def _check_paths(mapping: object, where: str, errors: dict[str, str]) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        errors[where] = "Must be an object mapping names to JSONPaths."
        return {}
    cleaned: dict[str, str] = {}
    for name, path in mapping.items():
        if path is None or path == "":
            continue
        if not isinstance(path, str):
            errors[f"{where}.{name}"] = "Must be a JSONPath string, e.g. $.customer.email."
            continue
        try:
            jsonpath_subset.compile_path(path.strip())
        except jsonpath_subset.PathNotAllowed as exc:
            errors[f"{where}.{name}"] = f"Not a supported JSONPath: {exc}"
            continue
        cleaned[str(name)] = path.strip()
    return cleaned


def _workflow_field_ids(workflow: Workflow) -> set[str]:
    """Form field ids that may be mapped: any version's template id, or a field's group id."""
    rows = FormFieldTemplate.objects.filter(version__workflow=workflow).values_list(
        "id", "group_id"
    )
    return {value for row in rows for value in row}


def validate_config(config: object, *, workflow: Workflow | None = None,
                    data_set: DataSet | None = None) -> dict:
    """The normalised config, or ValidationError keyed by dotted paths into it."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ValidationError({"config": "Must be an object."})
    errors: dict[str, str] = {}
    if workflow is not None:
        allowed = {"properties", "formFields"}
        properties = _check_paths(config.get("properties"), "properties", errors)
        for name in properties:
            if name not in PROPERTIES:
                errors[f"properties.{name}"] = (
                    f"Unknown property; known: {', '.join(PROPERTIES)}."
                )
        form_fields = _check_paths(config.get("formFields"), "formFields", errors)
        if form_fields:
            known = _workflow_field_ids(workflow)
            for field_id in form_fields:
                if field_id not in known:
                    errors[f"formFields.{field_id}"] = "Not a form field of this workflow."
        cleaned = {"properties": properties, "formFields": form_fields}
    elif data_set is not None:
        allowed = {"columns", "keyColumn"}
        columns = _check_paths(config.get("columns"), "columns", errors)
        known = set(data_set.fields.values_list("id", flat=True))
        for field_id in columns:
            if field_id not in known:
                errors[f"columns.{field_id}"] = "Not a field of this data set."
        key_column = config.get("keyColumn") or None
        if key_column is not None:
            if not isinstance(key_column, str) or key_column not in known:
                errors["keyColumn"] = "Not a field of this data set."
            elif key_column not in columns:
                errors["keyColumn"] = "The key column must also be mapped in columns."
        cleaned = {"columns": columns, "keyColumn": key_column}
    else:
        raise ValidationError({"config": "An incoming webhook needs a workflow or a data set."})
    for extra in set(config) - allowed:
        errors[str(extra)] = f"Unknown key; known: {', '.join(sorted(allowed))}."
    mapped = sum(len(value) for value in cleaned.values() if isinstance(value, dict))
    if mapped > jsonpath_subset.MAX_PATHS:
        errors["config"] = (f"At most {jsonpath_subset.MAX_PATHS} JSONPaths per incoming "
                            f"webhook; this config has {mapped}.")
    if errors:
        raise ValidationError(errors)
    return cleaned


# --- Admin and API changes ----------------------------------------------------------------------


def _apply_signing(webhook: IncomingWebhook, verify_signatures: bool | None) -> None:
    if verify_signatures is True and not webhook.signing_secret:
        webhook.signing_secret = generate_secret()
    elif verify_signatures is False:
        webhook.signing_secret = ""


@transaction.atomic
def create_incoming_webhook(organization, *, workflow: Workflow | None = None,
                            data_set: DataSet | None = None, name: str, config: object = None,
                            automation_app: str = "", status: str = IncomingStatus.ACTIVE,
                            verify_signatures: bool = False, actor=None) -> IncomingWebhook:
    target = workflow or data_set
    if target is None or (workflow is not None and data_set is not None):
        raise ValidationError({"target": "Give a workflow or a data set."})
    if target.organization_id != organization.pk:
        raise ValidationError({"target": "Not found."})
    cleaned = _validated_config(config, workflow=workflow, data_set=data_set)
    webhook = IncomingWebhook(
        organization=organization, workflow=workflow, data_set=data_set, name=name,
        automation_app=automation_app, config=cleaned, status=status,
        created_by=actor, updated_by=actor,
    )
    _apply_signing(webhook, verify_signatures)
    webhook.save()
    return webhook


@transaction.atomic
def update_incoming_webhook(webhook: IncomingWebhook, changes: Mapping, *,
                            actor=None) -> IncomingWebhook:
    """`changes` may hold name, automation_app, config, status, verify_signatures."""
    if "config" in changes:
        webhook.config = _validated_config(
            changes["config"], workflow=webhook.workflow, data_set=webhook.data_set
        )
    for name in ("name", "automation_app", "status"):
        if name in changes:
            setattr(webhook, name, changes[name])
    if "verify_signatures" in changes:
        _apply_signing(webhook, changes["verify_signatures"])
    webhook.updated_by = actor
    webhook.save()
    return webhook


def regenerate_token(webhook: IncomingWebhook) -> IncomingWebhook:
    """A new public URL; the old one answers 404 from now on."""
    from subscriptions.incoming_models import new_incoming_token

    webhook.token = new_incoming_token()
    webhook.save(update_fields=["token", "updated_date"])
    return webhook


def delete_incoming_webhook(webhook: IncomingWebhook) -> None:
    webhook.delete()


def _validated_config(config: object, **target) -> dict:
    """validate_config with its errors under "config.<path>", as the API and admin name them."""
    try:
        return validate_config(config, **target)
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise ValidationError({"config": exc.messages}) from None
        raise ValidationError({
            key if key == "config" else f"config.{key}": messages
            for key, messages in exc.message_dict.items()
        }) from None


# --- Mapping a payload --------------------------------------------------------------------------


def _text(value: object) -> object:
    """Numbers and booleans become text for text fields; anything else is left to validation."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return value


def _shared(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().casefold() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().casefold() in TRUE_WORDS
    raise ValidationError({"Shared": "Enter true or false."})


def _emails(value: object, name: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ValidationError({name: "Enter an email address or a list of them."})


def run_arguments(webhook: IncomingWebhook, payload: object) -> dict:
    """The keyword arguments of workflows.services.start_run for this payload."""
    config = webhook.config or {}
    props = {
        name: evaluate(path, payload, name)
        for name, path in (config.get("properties") or {}).items()
    }
    workflow = webhook.workflow
    name = props.get("Name", _MISSING)
    if name is _MISSING or name is None or name == "":
        name = f"{workflow.name} (incoming)"[:255]
    elif isinstance(name, int | float | bool):
        name = _text(name)
    elif not isinstance(name, str):
        raise ValidationError({"Name": "Enter a text value."})
    arguments: dict = {"name": name}
    due = props.get("DueDate", _MISSING)
    if due is not _MISSING and due not in (None, ""):
        arguments["due_date"] = due
    shared = props.get("Shared", _MISSING)
    if shared is not _MISSING and shared is not None:
        arguments["shared"] = _shared(shared)
    assignees = props.get("Assignees", _MISSING)
    if assignees is not _MISSING and assignees is not None:
        arguments["assignee_emails"] = _emails(assignees, "Assignees")
    runner = props.get("Runner", _MISSING)
    if runner is not _MISSING and runner not in (None, ""):
        if not isinstance(runner, str):
            raise ValidationError({"Runner": "Enter the email address of a member."})
        arguments["runner"] = runner.strip()
    arguments["field_values"] = _form_field_values(webhook, config.get("formFields") or {},
                                                   payload)
    return arguments


def _form_field_values(webhook: IncomingWebhook, paths: Mapping[str, str],
                       payload: object) -> dict[str, object]:
    """Values keyed by the latest version's field template ids. A config may name a field by
    any version's template id or by its group id: both lead to the field in the latest version."""
    if not paths:
        return {}
    version = webhook.workflow.latest_version()
    if version is None:
        raise ValidationError({"version": "The workflow has no finished version to run."})
    latest = list(FormFieldTemplate.objects.filter(version=version))
    by_group = {ft.group_id: ft for ft in latest}
    by_id = {ft.id: ft for ft in latest}
    groups_of_old_ids = dict(
        FormFieldTemplate.objects.filter(pk__in=[k for k in paths if k not in by_id])
        .values_list("id", "group_id")
    )
    values: dict[str, object] = {}
    for field_id, path in paths.items():
        template = by_id.get(field_id) or by_group.get(field_id) or by_group.get(
            groups_of_old_ids.get(field_id, "")
        )
        if template is None:
            logger.info("Incoming webhook %s maps field %s, which the workflow no longer has",
                        webhook.pk, field_id)
            continue
        value = evaluate(path, payload, field_id)
        if value is _MISSING:
            continue
        if template.field_type in TEXT_TYPES or template.field_type == FieldType.EMAIL:
            value = _text(value)
        values[template.id] = value
    return values


def record_cells(webhook: IncomingWebhook, payload: object) -> dict[str, object]:
    types = dict(webhook.data_set.fields.values_list("id", "field_type"))
    cells: dict[str, object] = {}
    for field_id, path in ((webhook.config or {}).get("columns") or {}).items():
        value = evaluate(path, payload, field_id)
        if value is _MISSING:
            continue
        if types.get(field_id) == DataSetFieldType.TEXT:
            value = _text(value)
        cells[field_id] = value
    return cells


def apply_payload(webhook: IncomingWebhook, payload: object) -> tuple[str, str]:
    """Starts the run or writes the record; (outcome, object id). Call inside a transaction.
    The changes are by the organization's automation user (accounts/automation.py)."""
    from datasets import services as datasets
    from workflows import services as workflows

    actor = automation_user(webhook.organization)
    if webhook.workflow_id:
        run = workflows.start_run(webhook.workflow, actor=actor, **run_arguments(webhook, payload))
        return IncomingOutcome.CREATED, run.pk
    data_set = webhook.data_set
    cells = record_cells(webhook, payload)
    key_column = (webhook.config or {}).get("keyColumn")
    if key_column and cells.get(key_column) not in (None, ""):
        # One upsert per data set at a time, so two payloads with a new key make one record.
        DataSet.objects.select_for_update().filter(pk=data_set.pk).first()
        existing = datasets.find_record_by_key(data_set, key_column, cells[key_column])
        if existing is not None:
            record = datasets.update_record(existing, cells, actor=actor)
            return IncomingOutcome.UPDATED, record.pk
    record = datasets.create_record(data_set, cells, actor=actor)
    return IncomingOutcome.CREATED, record.pk


# --- One request --------------------------------------------------------------------------------


@dataclass
class Answer:
    status_code: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, status_code: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.details = details or {}


def error_body(message: str, code: str, request_id: str, details: dict | None = None) -> dict:
    return {"error": message, "errorCode": code, "requestId": request_id,
            "details": details or {}}


def parse_payload(body: bytes, content_type: str) -> object:
    """The payload as JSON data; a form-encoded body becomes an object (repeated keys: lists).
    JSON is read strictly (webhooks_project.strict_json): too deep, NaN, out-of-range numbers,
    lone surrogates and NUL are a 400 that never quotes the body."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "BadRequest", "The body is not UTF-8 text.") from None
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == FORM_CONTENT_TYPE:
        query = QueryDict(text, encoding="utf-8")
        payload = {key: values[0] if len(values) == 1 else values
                   for key, values in query.lists()}
    else:
        if not text.strip():
            raise Rejected(400, "BadRequest", "The body is empty; send a JSON object.")
        try:
            payload = strict_json.loads(text)
        except strict_json.JSONRefused as exc:
            raise Rejected(400, "BadRequest", str(exc)) from None
        if not isinstance(payload, dict | list):
            raise Rejected(400, "BadRequest", "The body must be a JSON object or array.")
        return payload
    try:
        strict_json.check_strings_and_depth(payload, strict_json.max_depth())
    except strict_json.JSONRefused as exc:
        raise Rejected(400, "BadRequest", str(exc)) from None
    return payload


def idempotency_key(headers: Mapping[str, str]) -> str:
    return (headers.get("Idempotency-Key") or headers.get("webhook-id") or "").strip()


@dataclass
class _Request:
    webhook: IncomingWebhook
    body: bytes
    content_type: str
    key: str
    received: object

    def record(self, outcome: str, status_code: int, *, object_id: str = "",
               error: str = "") -> IncomingRequest:
        capped = self.body[:BODY_CAP_BYTES]
        return IncomingRequest.objects.create(
            incoming_webhook=self.webhook, received_date=self.received, outcome=outcome,
            status_code=status_code, created_object_id=object_id or "", error=error[:2000],
            body=capped.decode("utf-8", errors="replace"),
            body_truncated=len(self.body) > BODY_CAP_BYTES,
            content_type=self.content_type[:255], idempotency_key=self.key[:255],
        )


def reject(webhook: IncomingWebhook, *, body: bytes, content_type: str, headers: Mapping,
           status_code: int, code: str, message: str, details: dict | None = None) -> Answer:
    """Records a rejected request and gives the error answer (also used by the view for 413)."""
    request = _Request(webhook, body, content_type, idempotency_key(headers)[:255],
                       timezone.now())
    return _reject(request, Rejected(status_code, code, message, details))


def _reject(request: _Request, rejected: Rejected) -> Answer:
    logger.info("Incoming webhook %s rejected a request (%s): %s", request.webhook.pk,
                rejected.status_code, rejected.message)
    row = request.record(IncomingOutcome.REJECTED, rejected.status_code, error=rejected.message)
    _prune(request.webhook)
    return Answer(rejected.status_code,
                  error_body(rejected.message, rejected.code, row.pk, rejected.details))


def receive(webhook: IncomingWebhook, *, body: bytes, content_type: str,
            headers: Mapping[str, str]) -> Answer:
    """Handles one request whose body is already within the size limit."""
    request = _Request(webhook, body, content_type or "", idempotency_key(headers),
                       timezone.now())
    try:
        if webhook.signing_secret:
            try:
                verify_signature(webhook.signing_secret, headers, body,
                                 tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS)
            except SignatureError as exc:
                raise Rejected(401, "Unauthorized", f"Invalid signature: {exc}") from None
        if len(request.key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            request.key = request.key[:IDEMPOTENCY_KEY_MAX_LENGTH]
            raise Rejected(400, "BadRequest", "The idempotency key is longer than "
                                              f"{IDEMPOTENCY_KEY_MAX_LENGTH} characters.")
        if not webhook.is_active:
            logger.info("Incoming webhook %s is disabled: payload dropped", webhook.pk)
            row = request.record(IncomingOutcome.DROPPED, 202)
            _prune(webhook)
            return Answer(202, {"id": row.pk, "status": IncomingOutcome.DROPPED,
                                "objectId": None})
        payload = parse_payload(body, request.content_type)
        answer = _process(request, payload)
    except Rejected as rejected:
        return _reject(request, rejected)
    except Exception:
        logger.exception("Incoming webhook %s failed on a request", webhook.pk)
        return _reject(request, Rejected(500, "InternalError", "Internal error."))
    _prune(webhook)
    return answer


def _validation_details(exc: ValidationError) -> dict[str, str]:
    if not hasattr(exc, "error_dict"):
        return {"payload": " ".join(exc.messages)}
    return {SERVICE_FIELD_TO_PROPERTY.get(key, key): " ".join(messages)
            for key, messages in exc.message_dict.items()}


def _replay(request: _Request, stored: IncomingIdempotencyKey) -> Answer:
    row = request.record(IncomingOutcome.DUPLICATE, stored.status_code,
                         object_id=(stored.response or {}).get("objectId") or "")
    logger.info("Incoming webhook %s: repeated idempotency key, request %s answered as before",
                request.webhook.pk, row.pk)
    return Answer(stored.status_code, stored.response, {"Idempotent-Replayed": "true"})


def _process(request: _Request, payload: object) -> Answer:
    webhook, key = request.webhook, request.key
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                if key:
                    stored = (IncomingIdempotencyKey.objects.select_for_update()
                              .filter(incoming_webhook=webhook, key=key).first())
                    if stored is not None:
                        if stored.created_date >= request.received - idempotency_window():
                            return _replay(request, stored)
                        stored.delete()
                    with transaction.atomic():
                        stored = IncomingIdempotencyKey.objects.create(
                            incoming_webhook=webhook, key=key, created_date=request.received
                        )
                outcome, object_id = apply_payload(webhook, payload)
                row = request.record(outcome, 202, object_id=object_id)
                body = {"id": row.pk, "status": outcome, "objectId": object_id}
                if key:
                    stored.request, stored.response = row, body
                    stored.save(update_fields=["request", "response"])
                logger.info("Incoming webhook %s: %s %s", webhook.pk, outcome, object_id)
                return Answer(202, body)
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as it did.
            if attempt == 2 or not key:
                raise
        except ValidationError as exc:
            details = _validation_details(exc)
            first = next(iter(details.items()), ("payload", "invalid"))
            raise Rejected(400, "Validation", f"{first[0]}: {first[1]}", details) from None
        except DomainConflict as exc:
            raise Rejected(409, "Conflict", exc.message) from None
    raise AssertionError("unreachable")


def _prune(webhook: IncomingWebhook) -> None:
    """Keeps the most recent requests and forgets idempotency keys past their window."""
    keep = requests_kept()
    cutoff = list(
        IncomingRequest.objects.filter(incoming_webhook=webhook)
        .order_by("-received_date").values_list("received_date", flat=True)[keep:keep + 1]
    )
    if cutoff:
        IncomingRequest.objects.filter(
            incoming_webhook=webhook, received_date__lte=cutoff[0]
        ).delete()
    IncomingIdempotencyKey.objects.filter(
        incoming_webhook=webhook, created_date__lt=timezone.now() - idempotency_window()
    ).delete()
