"""Form field values: validation, normalisation and Process Street's string form."""

import pytest

from tests.support import builders
from workflows.values import (
    FieldValueError,
    normalize_value,
    organization_member_emails,
    value_as_text,
)

OPTIONS = ["Red", "Blue"]


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("Text", "hi", "hi"),
        ("Textarea", "a\nb", "a\nb"),
        ("Hidden", "x", "x"),
        ("File", "https://files.example.com/a.pdf", "https://files.example.com/a.pdf"),
        ("Email", " ann@example.com ", "ann@example.com"),
        ("Url", "https://example.com/x?y=1", "https://example.com/x?y=1"),
        ("Date", "2024-05-01", "2024-05-01"),
        ("Date", "2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00.000Z"),
        ("Number", "42", 42),
        ("Number", "4.50", 4.5),
        ("Number", 3.0, 3),
        ("Number", -7, -7),
        ("Select", "red", "Red"),
        ("MultiChoice", ["blue", "Red", "Blue"], ["Blue", "Red"]),
        ("MultiSelect", "Red", ["Red"]),
        ("Text", "", None),
        ("Number", None, None),
        ("MultiChoice", [], None),
    ],
)
def test_normalize(field_type, value, expected):
    assert normalize_value(field_type, value, options=OPTIONS) == expected


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        ("Text", 12), ("Text", ["a"]), ("Email", "nope"), ("Url", "ftp://example.com"),
        ("Url", "example"), ("Date", "yesterday"), ("Date", 20240501), ("Number", "ten"),
        ("Number", True), ("Number", "nan"), ("Number", "inf"), ("Select", "Green"),
        ("Select", ["Red"]), ("MultiChoice", ["Red", "Green"]), ("MultiChoice", {"a": 1}),
        ("Members", ["x@example.com"]),
    ],
)
def test_invalid(field_type, value):
    with pytest.raises(FieldValueError):
        normalize_value(field_type, value, options=OPTIONS, member_emails={})


@pytest.mark.django_db
def test_members_are_emails_of_the_organization():
    org = builders.organization()
    builders.member(org, "Ann@Example.com")
    builders.member(builders.organization(), "other@example.com")
    members = organization_member_emails(org)
    assert normalize_value("Members", "ann@example.com", member_emails=members) == [
        "Ann@Example.com"
    ]
    with pytest.raises(FieldValueError):
        normalize_value("Members", ["other@example.com"], member_emails=members)


@pytest.mark.parametrize(
    ("field_type", "value", "text"),
    [
        ("Number", 123, "123"), ("Number", 1.5, "1.5"), ("Number", 2.0, "2"),
        ("Date", "2024-05-01T10:30:00.000Z", "2024-05-01T10:30:00.000Z"),
        ("Members", ["a@x.io", "b@x.io"], "a@x.io, b@x.io"),
        ("MultiChoice", ["Red", "Blue"], "Red, Blue"), ("Text", "hi", "hi"),
        ("Text", None, None), ("MultiSelect", [], None),
    ],
)
def test_value_as_text(field_type, value, text):
    assert value_as_text(field_type, value) == text
