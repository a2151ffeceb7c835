"""Request bodies are of the types the OpenAPI schema states, exactly.

DRF coerces: a string field takes 0 and stores "0", a boolean takes "yes", an integer takes
"7". The schema says string, boolean, integer; a client that sends another type has a bug, and
accepting it hides the bug (and makes the schema a lie). Serializers that read request bodies
mix this in: a value of the wrong JSON type is a 400 naming the field, before DRF's coercion,
and so is a key the body does not have (the schema says additionalProperties: false).
"""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

_NOT_STRING = "Must be a string."


def _wrong_type(field: serializers.Field, value: object) -> str | None:
    """The message for `value` in `field` if its JSON type is not the field's, else None."""
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be true or false."
    if isinstance(field, serializers.ChoiceField):
        if all(isinstance(choice, str) for choice in field.choices):
            return None if isinstance(value, str) else _NOT_STRING
        return None
    if isinstance(field, serializers.CharField | serializers.DateTimeField
                  | serializers.DateField):
        return None if isinstance(value, str) else _NOT_STRING
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else (
            "Must be an integer."
        )
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return None if isinstance(value, int | float) and not isinstance(value, bool) else (
            "Must be a number."
        )
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        if not isinstance(value, list):
            return "Must be a list."
        child = field.child
        if isinstance(child, serializers.CharField) and not all(
            isinstance(item, str) for item in value
        ):
            return "Must be a list of strings."
        return None
    if isinstance(field, serializers.DictField):
        if not isinstance(value, Mapping):
            return "Must be an object."
        if isinstance(field.child, serializers.CharField) and not all(
            isinstance(item, str) for item in value.values()
        ):
            return "Must be an object of strings."
        return None
    if isinstance(field, serializers.Serializer):
        return None if isinstance(value, Mapping) else "Must be an object."
    return None


class StrictTypesMixin:
    # No docstring: drf-spectacular would show it as the description of every request body
    # that mixes this in. See the module's docstring.

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            # Unknown keys are refused (as Stripe does), not ignored: a misspelt optional field
            # would otherwise be silently dropped. Read-only fields are known: a body read from
            # the API can be sent back.
            errors = {
                str(key): ["Unknown field."] for key in data if key not in self.fields
            }
            for field in self.fields.values():
                if field.read_only or field.field_name not in data:
                    continue
                message = _wrong_type(field, data[field.field_name])
                if message is not None:
                    errors[field.field_name] = [message]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
