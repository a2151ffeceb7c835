"""API keys in JSON, and the small pieces every app's serializers share.

Shared here because every app already depends on accounts: ISO-8601 dates with milliseconds,
user references `{id, email, username}`, the audit fields, and `service_errors`, which turns the
snake_case field names of a service's ValidationError into the API's camelCase names.
"""

import re
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiKey
from accounts.users import user_ref
from api.strict_fields import StrictTypesMixin
from kernel.domain_errors import DomainConflict
from kernel.timefmt import iso_ms


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")


def _rename(name: str, renames: Mapping[str, str]) -> str:
    if name in renames:
        return renames[name]
    if name == NON_FIELD_ERRORS:
        return "detail"
    return camel(name) if _SNAKE.match(name) else name


@contextmanager
def service_errors(
    renames: Mapping[str, str] | None = None, *, nest: Mapping[str, Collection[str]] | None = None,
) -> Iterator[None]:
    """Re-raise a service's errors with API field names.

    `renames` maps a service's field name to the API's; `nest` gathers errors keyed by an id
    (a form field, a data set column) under the API field holding those ids, e.g.
    `{"cells": {<fieldId>: [...]}}`. Other snake_case names become camelCase.
    """
    renames = renames or {}
    nest = nest or {}

    def nested_under(name: str) -> str | None:
        return next((outer for outer, ids in nest.items() if name in ids), None)

    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        details: dict = {}
        for name, messages in exc.message_dict.items():
            outer = nested_under(name)
            if outer is not None:
                details.setdefault(outer, {})
                if isinstance(details[outer], dict):
                    details[outer][name] = messages
                continue
            details[_rename(name, renames)] = messages
        raise serializers.ValidationError(details) from exc
    except DomainConflict as exc:
        if exc.field:
            exc.field = nested_under(exc.field) or _rename(exc.field, renames)
        raise


class IsoDateTimeField(serializers.DateTimeField):
    """ISO-8601 in UTC with milliseconds and a 'Z', as Process Street's payloads carry dates."""

    def to_representation(self, value):
        return iso_ms(value)


class UserRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    email = serializers.EmailField()
    username = serializers.CharField()




@extend_schema_field(UserRefSerializer(allow_null=True))
class UserRefField(serializers.Field):
    """Read-only `{id, email, username}` of a user (null when none)."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return user_ref(value)

    def get_attribute(self, instance):
        # A null foreign key must still reach to_representation as None, not be skipped.
        try:
            return super().get_attribute(instance)
        except AttributeError:
            return None


# createdDate/createdBy/updatedDate/updatedBy of an `accounts.audit.Audited` row, read-only. A
# serializer inherits it to render them among its own fields (webhooks, incoming webhooks, data
# set records); a run renders it as its `audit` object. A comment, not a docstring: the schema
# would show a docstring as the description of every serializer that inherits it.
class AuditSerializer(serializers.Serializer):

    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    createdBy = UserRefField(source="created_by")
    updatedDate = IsoDateTimeField(source="updated_date", read_only=True)
    updatedBy = UserRefField(source="updated_by")


class ApiKeySerializer(serializers.ModelSerializer):
    """A stored key: never the key itself, only its first characters to recognise it by."""

    createdDate = IsoDateTimeField(source="created_date", read_only=True)
    lastUsedDate = IsoDateTimeField(source="last_used_date", read_only=True, allow_null=True)
    revokedDate = IsoDateTimeField(source="revoked_date", read_only=True, allow_null=True)
    membershipId = serializers.CharField(source="membership_id", read_only=True)
    email = serializers.EmailField(source="membership.user.email", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "membershipId", "email", "createdDate", "lastUsedDate",
            "revokedDate",
        ]
        read_only_fields = ["id", "prefix"]


class ApiKeyCreateSerializer(StrictTypesMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, required=True, allow_blank=False)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The answer to creating a key: the only time the raw `key` is ever shown."""

    key = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
