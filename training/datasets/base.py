"""What every loader shares: the Example record, split names, errors and CSV reading."""

from __future__ import annotations

import csv
import json
import math
import random
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from moderator.policy import CATEGORIES

NAN = math.nan
TRAIN = "train"
TEST = "test"
SPANS = "spans"


class DataError(Exception):
    """A data file is missing, unreadable or lacks a column; the message names it."""


@dataclass
class Example:
    """One labelled text: raw text, a label per category (NaN = unlabelled), its origin."""

    text: str
    labels: tuple[float, ...]
    source: str
    split: str
    meta: dict = field(default_factory=dict)


def labels(**values: float) -> tuple[float, ...]:
    """A label tuple in policy order; categories not named are NaN (unlabelled)."""
    unknown = set(values) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}")
    return tuple(float(values.get(str(c), NAN)) for c in CATEGORIES)


def every(value: float) -> tuple[float, ...]:
    """The same label for all five categories."""
    return tuple(float(value) for _ in CATEGORIES)


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """Rows of a CSV/TSV file with a header, or DataError naming the file."""
    if not path.is_file():
        raise DataError(f"missing data file {path}")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return rows


def read_jsonl(path: Path) -> list[dict]:
    """Objects of a JSON Lines file, or DataError naming the file and line."""
    if not path.is_file():
        raise DataError(f"missing data file {path}")
    out = []
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path} line {number}: not JSON ({exc.msg})") from None
                if not isinstance(value, dict):
                    raise DataError(f"{path} line {number}: not a JSON object")
                out.append(value)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return out


def need(rows: list[dict], path: Path, columns: Iterable[str]) -> None:
    """DataError unless `rows` is non-empty and its first row has every column."""
    if not rows:
        raise DataError(f"{path} has no data rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}")


def to_int(value, path: Path, column: str) -> int:
    """An integer cell, or DataError naming the file and column."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column {column} holds {value!r}, not an integer") from None


def to_float(value, path: Path, column: str) -> float:
    """A number cell, or DataError naming the file and column."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column {column} holds {value!r}, not a number") from None
    if math.isnan(result):
        raise DataError(f"{path}: column {column} holds NaN")
    return result


def mapped(fn, path: Path, *args):
    """fn(*args), a ValueError of the mapping turned into DataError naming the file."""
    try:
        return fn(*args)
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


def lines(path: Path) -> list[str]:
    """Non-empty, non-comment lines of one of our own text files."""
    try:
        text = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return [line.strip() for line in text if line.strip() and not line.startswith("#")]


def stratified_pick(groups: Sequence, share: float, seed: int) -> set[int]:
    """Indices of a seeded, per-group `share` of the rows."""
    rng = random.Random(seed)
    by_group: dict = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    picked: set[int] = set()
    for g in sorted(by_group, key=str):
        idx = by_group[g]
        rng.shuffle(idx)
        picked.update(idx[: round(len(idx) * share)])
    return picked


#: Training sources that never give validation rows (see validation_split): span snippets and
#: weakly labelled sentences, our own templates, and counterfactual copies (a copy of a
#: validation row in training would leak it).
NO_VALIDATION = frozenset(
    {
        "toxic_spans",
        "toxic_spans_types",
        "toxic_spans_sentences",
        "templates",
        "threat_templates",
        "attack_templates",
        "counter_templates",
        "innocent_words",
        "counterfactual",
    }
)
