"""Every WEBHOOK_* and INCOMING_* setting the code reads is declared once, in
webhooks_project/settings.py (from the environment variable of the same name), and documented in
the configuration table of docs/operations.md; no module repeats a default with
getattr(settings, ..., default)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (ROOT / "webhooks_project" / "settings.py").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
SETTING_NAME = re.compile(r"\b((?:WEBHOOK|INCOMING)_[A-Z0-9_]+)\b")
APP_DIRS = ("accounts", "workflows", "datasets", "events", "subscriptions", "incoming",
            "delivery", "webhooks_project", "kernel", "api", "ops", "devtools", "bench")


def source_files() -> list[Path]:
    return [path for name in APP_DIRS for path in (ROOT / name).rglob("*.py")
            if "migrations" not in path.parts and path.name != "settings.py"]


def names_read_in_code() -> set[str]:
    names: set[str] = set()
    for path in source_files():
        names |= set(re.findall(r"settings\.((?:WEBHOOK|INCOMING)_[A-Z0-9_]+)",
                                path.read_text()))
    return names


def declared() -> dict[str, str]:
    """Setting name -> the line declaring it."""
    return {match.group(1): match.group(0)
            for match in re.finditer(r"^((?:WEBHOOK|INCOMING)_[A-Z0-9_]+) = .*$", SETTINGS,
                                     re.MULTILINE)}


def documented() -> set[str]:
    rows = [line for line in OPERATIONS.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in SETTING_NAME.findall(row.split("|")[1])}


def test_the_code_reads_these_settings():
    # The scan below would pass vacuously if it found nothing.
    assert {"WEBHOOK_READ_TIMEOUT", "INCOMING_IDEMPOTENCY_SECONDS",
            "INCOMING_WEBHOOK_REQUESTS_KEPT", "INCOMING_WEBHOOK_MAX_BYTES"} <= names_read_in_code()


def test_every_setting_read_is_declared_once_and_documented():
    lines = declared()
    for name in names_read_in_code():
        assert name in lines, f"{name} is read but not declared in settings.py"
        assert len(re.findall(rf"^{name} = ", SETTINGS, re.MULTILINE)) == 1, name
    for name in lines:
        assert name in documented(), f"{name} has no row in docs/operations.md"


def test_each_is_read_from_the_environment_variable_of_its_name():
    fixed = {"WEBHOOK_MAX_TRIES"}  # documented as not read from the environment
    for name, line in declared().items():
        if name not in fixed:
            assert 'env.' in line and f'("{name}"' in line, line


def test_no_default_is_repeated_outside_settings():
    repeated = re.compile(r"getattr\(\s*(?:django_)?settings\s*,\s*[^,()]+,")
    offenders = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in source_files()
                 for match in repeated.finditer(path.read_text())]
    assert offenders == []
