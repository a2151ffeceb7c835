"""Muids: Process Street's ids, 22 characters of URL-safe base64 over a UUID."""

import base64
import uuid

from django.db import models

MUID_LENGTH = 22


def new_muid() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


class MuidField(models.CharField):
    """Primary key holding a muid, so the id in the database is the id in the API and payloads."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", MUID_LENGTH)
        kwargs.setdefault("default", new_muid)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("primary_key", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("max_length", "default", "editable", "primary_key"):
            kwargs.pop(key, None)
        return name, path, args, kwargs
