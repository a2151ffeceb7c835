"""The only code that changes webhooks and their secrets."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from kernel.catalog import TASK_EVENTS, TRIGGERS, Kind, kind_of_triggers
from kernel.domain_errors import DomainConflict
from kernel.signing import generate_secret
from kernel.ssrf import UnsafeDestination, resolve_destination, validate_url_syntax
from subscriptions.headers import validate_headers
from subscriptions.models import Webhook, WebhookSecret, WebhookStatus
from subscriptions.signals import ordered_delivery_turned_off, webhook_deleting
from workflows.models import TaskTemplate


def check_destination(url: str) -> None:
    """Refuses a URL that is malformed or resolves to an address webhooks may not reach."""
    try:
        validate_url_syntax(url)
        resolve_destination(url, settings.WEBHOOK_ALLOWED_NETWORKS)
    except UnsafeDestination as exc:
        raise ValidationError({"url": str(exc)}) from None


def validate_webhook_data(organization: Organization, data: dict) -> dict:
    triggers = data.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        raise ValidationError({"triggers": "Give at least one trigger."})
    unknown = [t for t in triggers if t not in TRIGGERS]
    if unknown:
        raise ValidationError(
            {"triggers": f"Unknown trigger(s): {', '.join(map(str, unknown))}. "
                         f"Known: {', '.join(sorted(TRIGGERS))}."}
        )
    kinds = kind_of_triggers(triggers)
    if len(kinds) > 1:
        raise ValidationError(
            {"triggers": "A webhook is for workflows, forms or data sets: do not mix "
                         f"triggers of {', '.join(sorted(kinds))}."}
        )
    kind = kinds.pop()
    scope = {name: data.get(name) for name in ("workflow", "form", "data_set")}
    expected = {Kind.WORKFLOW: "workflow", Kind.FORM: "form", Kind.DATA_SET: "data_set"}[kind]
    for name, value in scope.items():
        api_name = {"workflow": "workflowId", "form": "formId", "data_set": "dataSetId"}[name]
        if value is not None and name != expected:
            raise ValidationError({api_name: f"{kind} triggers cannot be scoped to a {name}."})
        if value is not None and value.organization_id != organization.id:
            raise ValidationError({api_name: "Not found."})
    task_group_id = data.get("task_group_id") or ""
    if task_group_id:
        if not set(TRIGGERS[t].event_type for t in triggers) & TASK_EVENTS:
            raise ValidationError({"taskId": "taskId applies only to task triggers."})
        workflow = data.get("workflow")
        templates = TaskTemplate.objects.filter(
            group_id=task_group_id, version__workflow__organization=organization
        )
        if workflow is not None:
            templates = templates.filter(version__workflow=workflow)
        if not templates.exists():
            raise ValidationError({"taskId": "No task template with this id in the scope."})
    check_destination(data.get("url") or "")
    name = (data.get("name") or "").strip()
    description = (data.get("description") or "").strip()
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    if len(description) > 1000:
        raise ValidationError({"description": "At most 1000 characters."})
    cleaned = {
        "name": name, "description": description, "url": data["url"],
        "triggers": list(dict.fromkeys(triggers)),
        "workflow": scope["workflow"], "form": scope["form"], "data_set": scope["data_set"],
        "task_group_id": task_group_id,
        "rate_limit": _valid_rate_limit(data.get("rate_limit")),
        "ordered_delivery": _valid_ordered_delivery(data.get("ordered_delivery", False)),
    }
    # Write-only: left as they are unless given (an empty object clears them).
    if data.get("headers") is not None:
        cleaned["headers"] = validate_headers(data["headers"])
    return cleaned


MAX_RATE_LIMIT = 10_000


def _valid_rate_limit(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RATE_LIMIT:
        raise ValidationError(
            {"rateLimit": f"Deliveries per second: a whole number from 1 to {MAX_RATE_LIMIT}, "
                          "or null for no limit."})
    return value


def _valid_ordered_delivery(value: object) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationError({"orderedDelivery": "true or false."})
    return value


@transaction.atomic
def create_webhook(organization: Organization, data: dict, *, actor=None) -> tuple[Webhook, str]:
    """Returns the webhook and its first signing secret, which is shown only this once."""
    cleaned = validate_webhook_data(organization, data)
    # Lock the organization row so concurrent creates queue up behind the count below.
    Organization.objects.select_for_update().get(pk=organization.pk)
    limit = settings.WEBHOOK_MAX_PER_ORGANIZATION
    if Webhook.objects.filter(organization=organization).count() >= limit:
        # A limit reached is the organization's state, not bad input: 409, as other conflicts.
        raise DomainConflict(
            f"An organization can have at most {limit} webhooks; delete one first.",
            field="webhooks",
        )
    webhook = Webhook.objects.create(
        organization=organization, created_by=actor, updated_by=actor, **cleaned
    )
    secret = generate_secret()
    WebhookSecret.objects.create(webhook=webhook, secret=secret)
    return webhook, secret


@transaction.atomic
def replace_webhook(webhook: Webhook, data: dict, *, actor=None) -> Webhook:
    cleaned = validate_webhook_data(webhook.organization, data)
    was_ordered = Webhook.objects.filter(pk=webhook.pk, ordered_delivery=True).exists()
    for name, value in cleaned.items():
        setattr(webhook, name, value)
    webhook.updated_by = actor
    webhook.save()
    if was_ordered and not webhook.ordered_delivery:
        ordered_delivery_turned_off.send(sender=Webhook, webhook=webhook)
    return webhook


@transaction.atomic
def delete_webhook(webhook: Webhook) -> None:
    webhook_deleting.send(sender=Webhook, webhook=webhook)
    webhook.delete()


@transaction.atomic
def rotate_secret(webhook: Webhook, *, grace_seconds: int | None = None) -> str:
    """A new secret signs from now on; the current ones keep signing for the grace period."""
    grace = settings.WEBHOOK_SECRET_ROTATION_GRACE if grace_seconds is None else grace_seconds
    now = timezone.now()
    expires = now + timedelta(seconds=grace)
    webhook.secrets.filter(expires_date__isnull=True).update(expires_date=expires)
    webhook.secrets.filter(expires_date__gt=expires).update(expires_date=expires)
    secret = generate_secret()
    WebhookSecret.objects.create(webhook=webhook, secret=secret)
    # A new version of the webhook: workers keep its secrets only while its updated_date stays.
    Webhook.objects.filter(pk=webhook.pk).update(updated_date=now)
    webhook.updated_date = now
    return secret


@transaction.atomic
def disable_webhook(webhook: Webhook, *, reason: str) -> None:
    Webhook.objects.filter(pk=webhook.pk).update(
        status=WebhookStatus.DISABLED, disabled_reason=reason[:500],
        disabled_date=timezone.now(), updated_date=timezone.now(),
    )
    webhook.refresh_from_db()


@transaction.atomic
def enable_webhook(webhook: Webhook, *, actor=None) -> None:
    webhook.status, webhook.disabled_reason, webhook.disabled_date = (
        WebhookStatus.ACTIVE, "", None
    )
    webhook.updated_by = actor
    webhook.save()
