"""How a user appears in the API and in payloads: {id, email, username} with a muid id."""

from __future__ import annotations

import base64
import uuid
from typing import Any

_USER_NAMESPACE = uuid.UUID("6f1d8a52-4a8c-4b43-9a3e-1f1f3b8e2c11")


def user_muid(user) -> str:
    """Users have integer keys; the API and payloads carry muids, derived stably from the key."""
    raw = uuid.uuid5(_USER_NAMESPACE, f"user:{user.pk}").bytes
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def user_ref(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user_muid(user),
        "email": user.email,
        "username": user.get_full_name() or user.get_username(),
    }
