"""bench_instructions' command line: what it refuses before starting valgrind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_instructions.py"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--languages", "xx"], "unknown languages ['xx']"),
        (["--languages", "en,<script>"], "unknown languages ['<script>']"),
        (["--n", "0"], "--n must be at least 1"),
        (["--warm", "-1"], "--warm at least 0"),
        (["--n", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused_before_any_run(args, message):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert message in done.stderr
