"""ISO-8601 with milliseconds, in UTC, as Process Street's captured payloads carry dates."""

from datetime import UTC, datetime


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def admin_time(value: datetime | None) -> str:
    """To the second with the zone, for the admin: Django's default format stops at the minute,
    so two tries 25 s apart read the same."""
    if value is None:
        return "-"
    from django.utils import timezone

    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
