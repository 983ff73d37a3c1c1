"""Extra labelled CSVs: moderators' decisions exported by `python -m training export-labels`."""

from __future__ import annotations

from pathlib import Path

from moderator.policy import CATEGORIES
from training.datasets.base import TRAIN
from training.datasets.base import DataError
from training.datasets.base import Example
from training.datasets.base import labels
from training.datasets.base import read_csv

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


def load_extra(path: Path) -> list[Example]:
    """A moderators' CSV: `text` plus any category columns holding 1, 0 or empty."""
    path = Path(path)
    rows = read_csv(path)
    if not rows:
        raise DataError(f"{path} has no data rows")
    columns = set(rows[0])
    if "text" not in columns:
        raise DataError(f"{path} lacks the text column")
    categories = [str(c) for c in CATEGORIES if str(c) in columns]
    if not categories:
        raise DataError(f"{path} has no category column (any of {', '.join(CATEGORIES)})")
    allowed = {"text", "source", "decided_by", "decided_at", "comment_id", *categories}
    unknown = sorted(c for c in columns - allowed if c is not None)
    if unknown or None in columns:
        raise DataError(f"{path} has unknown column(s) {', '.join(unknown) or '(unnamed)'}")
    out = []
    for line, r in enumerate(rows, start=2):
        text = r["text"]
        if text is None or not text.strip():
            raise DataError(f"{path} line {line}: empty text")
        values = {}
        for c in categories:
            raw = (r[c] or "").strip().lower()
            if raw in _TRUE:
                values[c] = 1
            elif raw in _FALSE:
                values[c] = 0
            elif raw != "":
                raise DataError(f"{path} line {line}: {c} must be 1, 0 or empty, got {raw!r}")
        meta = {k: r[k] for k in ("source", "decided_by", "decided_at") if r.get(k)}
        out.append(Example(text, labels(**values), "extra", TRAIN, meta))
    return out
