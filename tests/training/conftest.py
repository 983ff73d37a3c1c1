"""Fixtures for training tests (the fixture data layout itself is tests/conftest.py's)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, fixture_data_dir: Path | None) -> Path:
    """A private copy of the fixture data directory that a test may break."""
    if fixture_data_dir is None:
        pytest.fail("tests/fixtures/train_*.csv are missing")
    return Path(shutil.copytree(fixture_data_dir, tmp_path / "data"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared datasets; tests using it are marked `data` and skip without them."""
    path = Path(os.environ.get("MODERATOR_DATA_DIR", PROJECT.parent / "shared" / "data"))
    if not (path / "olid" / "olid_train.csv").is_file():
        pytest.skip(f"shared data not found at {path}")
    return path
