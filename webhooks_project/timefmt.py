"""ISO-8601 with milliseconds, in UTC, as Process Street's captured payloads carry dates."""

from datetime import UTC, datetime


def iso_ms(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
