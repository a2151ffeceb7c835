"""The automation user of an organization: who the changes made by its incoming webhooks are by.

A run started or a record written by an incoming webhook has no person behind it, yet every
user object in a payload must be a user object (id, email, username), as in Process Street's own
payloads, and the domain rows' created_by/updated_by should say who did it. The incoming
webhook's creator would be a guess (they did not send the request, may have left, or been
deleted); so each organization has one automation user, created on first use:

- username `automation.<organization id>`, shown in payloads as "Incoming webhooks";
- email `incoming-webhooks+<organization id>@<AUTOMATION_EMAIL_DOMAIN>` (default
  `automation.invalid`, a domain reserved never to resolve, so no mail can reach anyone);
- inactive, with an unusable password and no membership: it can never log in, hold an API key
  or appear among the organization's members.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model

DISPLAY_NAME = "Incoming webhooks"


def automation_username(organization) -> str:
    return f"automation.{organization.pk}"


def automation_user(organization):
    """The organization's automation user, created the first time it is needed (safe under
    concurrent first uses: the username is unique, and get_or_create retries on a clash)."""
    domain = settings.AUTOMATION_EMAIL_DOMAIN
    user, created = get_user_model().objects.get_or_create(
        username=automation_username(organization),
        defaults={
            "email": f"incoming-webhooks+{organization.pk}@{domain}",
            "first_name": DISPLAY_NAME,
            "is_active": False,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
