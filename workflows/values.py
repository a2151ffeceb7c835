"""Form field values: validation and normalisation per FieldType, and Process Street's string form.

Stored values are typed (str, number, list of strings, ISO-8601 string for dates, list of member
emails); payloads carry them as strings. `None`, "" and [] all mean "no value" and are stored as
None, so "has a value" has one meaning everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from accounts.models import Membership
from workflows.models.templates import FieldType

TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.TEXTAREA, FieldType.HIDDEN, FieldType.FILE})
LIST_TYPES = frozenset({FieldType.MULTI_CHOICE, FieldType.MULTI_SELECT, FieldType.MEMBERS})
CHOICE_TYPES = frozenset({FieldType.SELECT, FieldType.MULTI_CHOICE, FieldType.MULTI_SELECT})

_url_validator = URLValidator(schemes=["http", "https"])


class FieldValueError(ValueError):
    """A value that does not fit its field; the message is meant for the API caller."""


def is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == ()


def parse_number(value: object) -> int | float:
    # bool is an int subclass, but True is not a number anyone means to enter.
    if isinstance(value, bool):
        raise FieldValueError("Enter a number.")
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise FieldValueError("Enter a number.") from None
        if not number.is_finite():
            raise FieldValueError("Enter a finite number.")
        number = int(number) if number == number.to_integral_value() else float(number)
    else:
        raise FieldValueError("Enter a number.")
    if isinstance(number, float):
        if not math.isfinite(number):
            raise FieldValueError("Enter a finite number.")
        if number.is_integer():
            return int(number)
    return number


def parse_datetime_value(value: object) -> datetime:
    """An aware datetime for comparisons; a date alone is midnight UTC of that day."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise FieldValueError("Enter an ISO-8601 date.")
    text = value.strip()
    try:
        if len(text) == 10:
            return parse_datetime_value(date.fromisoformat(text))
        return parse_datetime_value(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise FieldValueError("Enter an ISO-8601 date.") from None


def normalize_date(value: object) -> str:
    """A date stays a date ("2024-05-01"); a date-time keeps its instant, written in UTC."""
    if isinstance(value, str) and len(value.strip()) == 10:
        parsed = parse_datetime_value(value)
        return parsed.date().isoformat()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    parsed = parse_datetime_value(value)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_list(value: object) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise FieldValueError("Enter a list of values.")


def _choice(value: object, options: Iterable[str]) -> str:
    if not isinstance(value, str):
        raise FieldValueError("Choose one of the options.")
    by_folded = {str(option).casefold(): option for option in options}
    option = by_folded.get(value.strip().casefold())
    if option is None:
        raise FieldValueError(f"'{value}' is not one of the options.")
    return option


def normalize_value(
    field_type: str, value: object, *, options: Iterable[str] = (),
    member_emails: Mapping[str, str] | None = None,
) -> object:
    """The stored form of `value`, or FieldValueError. `member_emails` maps casefolded email to
    the member's email and is required for Members fields."""
    if is_empty(value):
        return None
    if field_type in TEXT_TYPES:
        if not isinstance(value, str):
            raise FieldValueError("Enter a text value.")
        return value
    if field_type == FieldType.EMAIL:
        if not isinstance(value, str):
            raise FieldValueError("Enter a valid email address.")
        try:
            validate_email(value.strip())
        except ValidationError:
            raise FieldValueError("Enter a valid email address.") from None
        return value.strip()
    if field_type == FieldType.URL:
        if not isinstance(value, str):
            raise FieldValueError("Enter a valid http(s) URL.")
        try:
            _url_validator(value.strip())
        except ValidationError:
            raise FieldValueError("Enter a valid http(s) URL.") from None
        return value.strip()
    if field_type == FieldType.DATE:
        return normalize_date(value)
    if field_type == FieldType.NUMBER:
        return parse_number(value)
    if field_type == FieldType.SELECT:
        return _choice(value, options)
    if field_type in (FieldType.MULTI_CHOICE, FieldType.MULTI_SELECT):
        chosen = [_choice(item, options) for item in _as_list(value)]
        return list(dict.fromkeys(chosen)) or None
    if field_type == FieldType.MEMBERS:
        if member_emails is None:
            raise FieldValueError("Members cannot be checked here.")
        emails = []
        for item in _as_list(value):
            email = member_emails.get(item.strip().casefold()) if isinstance(item, str) else None
            if email is None:
                raise FieldValueError(f"'{item}' is not a member of the organization.")
            emails.append(email)
        return list(dict.fromkeys(emails)) or None
    raise FieldValueError(f"Unknown field type '{field_type}'.")


def organization_member_emails(organization) -> dict[str, str]:
    """One query: casefolded email -> email of every member, for Members fields."""
    emails = Membership.objects.filter(organization=organization).values_list(
        "user__email", flat=True
    )
    return {email.casefold(): email for email in emails if email}


def value_as_text(field_type: str, value: object) -> str | None:
    """Process Street's payload form: everything is a string, lists joined with ", "."""
    if is_empty(value):
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if field_type == FieldType.NUMBER and isinstance(value, int | float):
        return str(parse_number(value))
    return str(value)


def check_values(
    fields: Mapping[str, object], raw: Mapping[str, object], organization
) -> dict[str, object]:
    """Normalises `raw` ({key: value}) against `fields` ({key: a field with field_type and
    options}); every unknown key and bad value is reported at once, keyed as given."""
    if not isinstance(raw, Mapping):
        raise ValidationError({"formFields": "Must be an object keyed by form field id."})
    errors: dict[str, str] = {}
    normalized: dict[str, object] = {}
    members = None
    for key, value in raw.items():
        field = fields.get(key)
        if field is None:
            errors[str(key)] = "Unknown form field."
            continue
        if field.field_type == FieldType.MEMBERS and members is None:
            members = organization_member_emails(organization)
        try:
            normalized[key] = normalize_value(
                field.field_type, value, options=field.options, member_emails=members
            )
        except FieldValueError as error:
            errors[str(key)] = str(error)
    if errors:
        raise ValidationError(errors)
    return normalized


def resolve_members(organization, people: Iterable[object], field_name: str) -> list:
    """Memberships of the organization for emails (or Memberships), in the order given."""
    people = list(people)
    emails = [p.strip().casefold() for p in people if isinstance(p, str)]
    by_email = {
        m.user.email.casefold(): m
        for m in Membership.objects.filter(organization=organization).select_related("user")
        if m.user.email and m.user.email.casefold() in emails
    } if emails else {}
    found = []
    for person in people:
        if isinstance(person, Membership) and person.organization_id == organization.pk:
            found.append(person)
        elif isinstance(person, str) and person.strip().casefold() in by_email:
            found.append(by_email[person.strip().casefold()])
        else:
            raise ValidationError({field_name: f"'{person}' is not a member of the organization."})
    return list(dict.fromkeys(found))


def parse_due_date(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_datetime_value(value)
    except FieldValueError:
        raise ValidationError({"dueDate": "Enter an ISO-8601 date-time."}) from None
