"""Rows in, decisions out: the reading and writing behind `moderator score`.

Input is CSV (with a header) or JSON Lines; every row yields either its text or a
`RowError` with the line number it started on, so one bad row never stops a run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

# Large comment exports are normal; the csv module's 128 KB default field limit is not.
csv.field_size_limit(16 * 1024 * 1024)


class InputError(Exception):
    """The input as a whole can't be read (missing column, not CSV, not decodable)."""


@dataclass(frozen=True)
class Row:
    """One comment to score, with the line it started on."""

    line: int
    text: str


@dataclass(frozen=True)
class RowError:
    """A row that can't be scored, and why."""

    line: int
    message: str

    def to_dict(self) -> dict:
        """The JSON line written in the row's place, so output stays aligned with input."""
        return {"line": self.line, "error": self.message}


def detect_format(path: str, given: str | None) -> str:
    """`csv` or `jsonl`: the --format option if given, else from the file name."""
    if given:
        return given
    lower = path.lower()
    return "jsonl" if lower.endswith((".jsonl", ".ndjson", ".json")) else "csv"


def read_rows(stream: IO[str], fmt: str, text_column: str) -> Iterator[Row | RowError]:
    """Rows of `stream` in order; raises InputError only for problems with the whole input."""
    if fmt == "jsonl":
        return _read_jsonl(stream, text_column)
    return _read_csv(stream, text_column)


def _read_csv(stream: IO[str], text_column: str) -> Iterator[Row | RowError]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("input is empty: expected a CSV header row") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise InputError(f"cannot read CSV header: {error}") from None
    header = [h.strip() for h in header]
    if text_column not in header:
        shown = ", ".join(repr(h) for h in header[:10]) or "none"
        raise InputError(f"column {text_column!r} not found in CSV header (columns: {shown})")
    index = header.index(text_column)
    return _csv_rows(reader, index, text_column)


def _csv_rows(reader, index: int, text_column: str) -> Iterator[Row | RowError]:
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RowError(line, f"malformed CSV: {error}")
            line = reader.line_num + 1
            continue
        if not record:  # a blank line is not a row
            line = reader.line_num + 1
            continue
        if index >= len(record):
            yield RowError(line, f"row has {len(record)} fields, no {text_column!r} value")
        else:
            yield _checked(line, record[index])
        line = reader.line_num + 1


def _read_jsonl(stream: IO[str], text_column: str) -> Iterator[Row | RowError]:
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except ValueError as error:
            yield RowError(number, f"invalid JSON: {error}")
            continue
        if not isinstance(record, dict):
            yield RowError(number, f"expected a JSON object, got {type(record).__name__}")
        elif text_column not in record:
            yield RowError(number, f"no {text_column!r} key")
        elif not isinstance(record[text_column], str):
            kind = type(record[text_column]).__name__
            yield RowError(number, f"{text_column!r} must be a string, got {kind}")
        else:
            yield _checked(number, record[text_column])


def _checked(line: int, text: str) -> Row | RowError:
    if not text.strip():
        return RowError(line, "text is empty")
    if _has_surrogates(text):
        return RowError(line, "text is not valid Unicode (undecodable bytes or lone surrogates)")
    return Row(line, text)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@contextlib.contextmanager
def open_input(path: str) -> Iterator[IO[str]]:
    """The input stream; undecodable bytes become row errors rather than a crash."""
    if path == "-":
        stream = io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        try:
            yield stream
        finally:
            stream.detach()  # leave the process's stdin open
        return
    try:
        stream = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as error:
        raise InputError(f"cannot open {path}: {error.strerror or error}") from None
    with stream:
        yield stream
