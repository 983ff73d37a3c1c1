"""Fixtures for training tests (fixture data layout, real_data_dir: tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, fixture_data_dir: Path | None) -> Path:
    """A private copy of the fixture data directory that a test may break."""
    if fixture_data_dir is None:
        pytest.fail("tests/fixtures/train_*.csv are missing")
    return Path(shutil.copytree(fixture_data_dir, tmp_path / "data"))
