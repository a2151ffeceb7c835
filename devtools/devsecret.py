"""A development SECRET_KEY that survives restarts, kept in the ignored .local folder."""

import secrets
from pathlib import Path


def development_secret_key(local_dir: Path) -> str:
    path = local_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        local_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        return key
