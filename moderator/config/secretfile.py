"""The instance folder's secret key (signs dashboard sessions and CSRF tokens): created
once, mode 0600, shared by every worker."""

from __future__ import annotations

import os
import secrets
import tempfile
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
    # Written whole to a private file first, then linked under its name: os.link fails if the
    # name exists, so processes starting together agree on one key, and none ever reads the
    # file between its creation and its content (an empty file would be refused above).
    fd, temporary = tempfile.mkstemp(prefix=".secret_key-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:  # mkstemp: mode 0600
            out.write(secrets.token_urlsafe(48) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)
    return _read_secret(path)


def _read_secret(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path} holds no usable secret key; delete it to generate a new one")
    return key
