"""The instance folder's secret key (signs dashboard sessions and CSRF tokens): created
once, mode 0600, shared by every worker."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from moderator.config.parsing import ConfigError

SECRET_KEY_FILE = "secret_key"


def load_or_create_secret(instance_path: Path) -> str:
    """Read the instance folder's secret key, creating it (mode 0600) on first run."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two workers starting together agree on one key instead of overwriting.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path} holds no usable secret key; delete it to generate a new one")
    return key
