"""Creating, checking and revoking API keys. Keys are random, shown once and stored hashed."""

import hashlib
import hmac
import secrets

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, Membership

KEY_PREFIX = "psk_"


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def create_api_key(membership: Membership, name: str = "") -> tuple[ApiKey, str]:
    """Returns the stored key and the raw key, which exists nowhere else after this call."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        membership=membership, name=name, prefix=raw[:12], key_hash=_hash(raw)
    )
    return key, raw


def find_api_key(raw_key: str) -> ApiKey | None:
    digest = _hash(raw_key)
    key = (
        ApiKey.objects.select_related("membership__organization", "membership__user")
        .filter(key_hash=digest, revoked_date__isnull=True)
        .first()
    )
    # The lookup is by hash, so timing reveals nothing of the key; compare again to be explicit.
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        return None
    return key


def revoke_api_key(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_date__isnull=True).update(revoked_date=timezone.now())
