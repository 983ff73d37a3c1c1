"""A baseline commit's tree for the benches that compare with one (--baseline / --ref).

No import of moderator here: the benches' child processes import this beside a tree of their
own, and must get that tree's moderator.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export(ref: str, into: Path) -> Path:
    """Commit `ref`'s tree under `into`, its compiled extension built in place when it has one
    (setup.py), as `pip install` builds it: a baseline measured without its extension would
    run numpy's slower path and flatter the tree it is compared with."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    if (into / "setup.py").exists():
        built = subprocess.run(
            [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
            cwd=into,
            capture_output=True,
            text=True,
        )
        if built.returncode != 0 or not list((into / "moderator" / "classifier").glob("_*.so")):
            raise SystemExit(f"could not build {ref}'s extension:\n{built.stderr[-2000:]}")
    return into
