"""Creating, changing and deleting incoming webhooks: the one path the API and the admin share,
so a config is checked, and a signing secret generated, the same way from both."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Organization
from datasets.models import DataSet
from incoming.config import validate_config
from incoming.models import IncomingStatus, IncomingWebhook, new_incoming_token
from kernel.signing import generate_secret
from workflows.models import Workflow


def _apply_signing(webhook: IncomingWebhook, verify_signatures: bool | None) -> None:
    if verify_signatures is True and not webhook.signing_secret:
        webhook.signing_secret = generate_secret()
    elif verify_signatures is False:
        webhook.signing_secret = ""


@transaction.atomic
def create_incoming_webhook(organization: Organization, *, workflow: Workflow | None = None,
                            data_set: DataSet | None = None, name: str, config: object = None,
                            automation_app: str = "", status: str = IncomingStatus.ACTIVE,
                            verify_signatures: bool = False, actor=None) -> IncomingWebhook:
    """A new incoming webhook of exactly one target of `organization`; its config checked
    (ValidationError keyed "config.<path>")."""
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
    webhook.token = new_incoming_token()
    webhook.save(update_fields=["token", "updated_date"])
    return webhook


def delete_incoming_webhook(webhook: IncomingWebhook) -> None:
    """Deletes it with its request log; its URL answers 404 at once."""
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
