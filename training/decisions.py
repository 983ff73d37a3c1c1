"""The site's own decisions as an evaluation set: from the database or an export, split by time.

A moderator's decision is the ground truth a site cares about most. `evaluate` and
`compare` read the human decisions either straight from the database (DATABASE_URL, or
the instance's SQLite) or from a CSV that `export-labels` wrote, keep the ones that say
something about the policy categories (training/labels.py's mapping: spam, off-topic and
other rejections and comments in a language without a model are left out), and split them
by time: the newest share is the test set, so a model is judged on decisions made after
the ones it could have learnt from (`export-labels --test-share` leaves the same ones out).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from moderator.language import MODEL_LANGUAGES
from moderator.policy import CATEGORIES
from training.labels import SOURCE
from training.labels import label_values

#: The share of the newest decisions held out as the test set.
TEST_SHARE = 0.2
#: What `--decisions` takes to read the database instead of a file.
DATABASE = "database"
NAMES = tuple(str(c) for c in CATEGORIES)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class DecisionsError(Exception):
    """The decisions can't be read (a bad file, an unreachable database)."""


@dataclass(frozen=True)
class HumanDecision:
    """One moderator's decision on one comment, as an evaluation row."""

    site: str
    text: str
    #: The moderator rejected the comment (a policy reason or none); False = approved.
    rejected: bool
    #: Category -> 1, 0 or None (unlabelled), as export-labels writes them.
    labels: dict[str, int | None] = field(compare=False)
    decided_at: dt.datetime | None = None
    comment_id: str | None = None
    reason: str | None = None


def from_database(url: str) -> list[HumanDecision]:
    """Every policy decision stored in the database at `url`, oldest first."""
    from sqlalchemy import exc

    from moderator import storage

    engine = storage.make_engine(url)
    try:
        return from_engine(engine)
    except (storage.StorageUnavailable, exc.SQLAlchemyError) as error:
        first = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise DecisionsError(
            f"cannot read decisions: {first} (is the database initialised? moderator init-db)"
        ) from None
    finally:
        engine.dispose()


def from_engine(engine) -> list[HumanDecision]:
    """The policy decisions stored in `engine`'s database, oldest first."""
    from moderator import storage
    from moderator.storage import review

    out = []
    with storage.reading(engine) as conn:
        for label in review.human_labels(conn):
            if label.language is not None and label.language not in MODEL_LANGUAGES:
                continue
            values = label_values(label.human_decision, label.reason_code)
            if values is None:
                continue
            out.append(
                HumanDecision(
                    site=label.site_name,
                    text=label.text,
                    rejected=label.human_decision == "reject",
                    labels=values,
                    decided_at=label.decided_at,
                    comment_id=label.comment_id,
                    reason=label.reason_code,
                )
            )
    return out


def from_export(path: Path) -> list[HumanDecision]:
    """The decisions of an export-labels CSV (text, categories, source, decided_at, ...)."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DecisionsError(f"cannot read decisions {path}: {error}") from None
    if not rows:
        raise DecisionsError(f"{path} has no decisions")
    if "text" not in rows[0] or "toxicity" not in rows[0]:
        raise DecisionsError(f"{path} is not an export-labels CSV (needs text and toxicity)")
    out = []
    for line, row in enumerate(rows, start=2):
        text = row.get("text") or ""
        if not text.strip():
            raise DecisionsError(f"{path} line {line}: empty text")
        labels: dict[str, int | None] = {}
        for name in NAMES:
            raw = (row.get(name) or "").strip()
            if raw not in ("", "0", "1"):
                raise DecisionsError(f"{path} line {line}: {name} must be 1, 0 or empty")
            labels[name] = int(raw) if raw else None
        if labels["toxicity"] is None:
            raise DecisionsError(f"{path} line {line}: toxicity must be 1 or 0")
        source = (row.get("source") or "").strip()
        site = source.split(":", 1)[1] if source.startswith(f"{SOURCE}:") else source or "-"
        out.append(
            HumanDecision(
                site=site,
                text=text,
                rejected=labels["toxicity"] == 1,
                labels=labels,
                decided_at=_moment(row.get("decided_at"), path, line),
                comment_id=(row.get("comment_id") or "").strip() or None,
            )
        )
    return out


def _moment(raw: str | None, path: Path, line: int) -> dt.datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DecisionsError(f"{path} line {line}: decided_at is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def read(source: str, database_url: str | None = None) -> list[HumanDecision]:
    """`source` is an export file's path or `database` (then `database_url` is read)."""
    if source == DATABASE:
        if not database_url:
            raise DecisionsError("no database to read (set DATABASE_URL)")
        return from_database(database_url)
    return from_export(Path(source))


def time_order(decisions: Sequence[HumanDecision]) -> list[HumanDecision]:
    """Oldest decision first; ties broken by comment id and text so the order is stable."""
    return sorted(
        decisions, key=lambda d: (d.decided_at or _EPOCH, d.comment_id or "", d.site, d.text)
    )


def held_out_count(n: int, share: float) -> int:
    """How many of `n` decisions are the newest `share` (at least one when there are two)."""
    if n < 2:
        return 0
    return min(n - 1, max(1, math.ceil(n * share)))


def time_split(
    decisions: Sequence[HumanDecision], share: float = TEST_SHARE
) -> tuple[list[HumanDecision], list[HumanDecision]]:
    """(older decisions, newest `share` of them): the second is the test set."""
    ordered = time_order(decisions)
    k = held_out_count(len(ordered), share)
    return ordered[: len(ordered) - k], ordered[len(ordered) - k :]


def split_time(decisions: Sequence[HumanDecision], share: float = TEST_SHARE):
    """The first test decision's time (None without a test set): export before it to train."""
    _, test = time_split(decisions, share)
    return test[0].decided_at if test else None


def sites_from_database(url: str) -> dict:
    """Each site's stored settings by name (moderator.storage.sites.Site), to decide as it does."""
    from sqlalchemy import exc

    from moderator import storage
    from moderator.storage import sites

    engine = storage.make_engine(url)
    try:
        with storage.reading(engine) as conn:
            return {site.name: site for site in sites.list_sites(conn)}
    except (storage.StorageUnavailable, exc.SQLAlchemyError) as error:
        first = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise DecisionsError(f"cannot read sites: {first}") from None
    finally:
        engine.dispose()
