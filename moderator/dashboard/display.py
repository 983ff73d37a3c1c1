"""What the dashboard's templates show, computed in Python: highlighted text, safe links, bars.

No Flask and no database. Comment text is only ever rendered through Jinja's autoescaping:
triggering words are highlighted by cutting the text at the reasons' spans here into
(segment, highlighted) pairs that the template escapes one by one, so no markup is ever
built from comment text.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections import Counter
from collections.abc import Iterable
from collections.abc import Mapping
from urllib.parse import urlsplit

from markupsafe import Markup

from moderator.storage import review


def highlight(text: str, reasons: Iterable[Mapping]) -> list[tuple[str, bool]]:
    """`text` cut into (segment, highlighted) pairs at the reasons' spans.

    Spans are [start, end) character offsets into the text. Malformed, out-of-range or
    empty spans are ignored and overlapping ones merged, so stored data can never make
    this fail or drop text: the segments always join back to `text`.
    """
    spans = []
    for reason in reasons:
        for span in reason.get("spans") or () if isinstance(reason, Mapping) else ():
            if not isinstance(span, list | tuple) or len(span) != 2:
                continue
            start, end = span
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                continue
            start, end = max(0, start), min(len(text), end)
            if start < end:
                spans.append((start, end))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    segments, position = [], 0
    for start, end in merged:
        if position < start:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return segments


#: Characters that change the direction of the text around them (embeddings, overrides,
#: isolates and marks).
BIDI_CONTROLS = dict.fromkeys(
    [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


def isolate(value) -> Markup:
    """`value`, escaped, inside `<bdi>`: its direction can't reorder the text around it.

    An unterminated right-to-left override in an author name would otherwise reverse the
    id and URL shown after it. Every user-supplied string shown inline goes through this;
    blocks of user text get `dir="auto"` in the templates instead.
    """
    return Markup("<bdi>%s</bdi>") % ("" if value is None else value)


def strip_bidi(value) -> str:
    """`value` without direction controls, where markup can't isolate it (`<title>`)."""
    return str("" if value is None else value).translate(BIDI_CONTROLS)


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL fit to link to, else None (shown as text)."""
    if not url or len(url) > 2000:
        return None
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def default_reason(item: review.ReviewComment) -> str:
    """The reason code preselected for a rejection: the first reason's category, if a code."""
    for reason in item.reasons:
        if reason.get("category") in review.REASON_CODES:
            return reason["category"]
    return "toxicity"


def past_tense(decision: str | None) -> str:
    """The past tense of a human decision: approved or rejected."""
    return {"approve": "approved", "reject": "rejected"}.get(decision or "", decision or "")


def timestamp(value: dt.datetime | None) -> str:
    """`2026-11-25 13:46 UTC`, or "" for no time."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def shown(value) -> str:
    """An audit value as text: JSON for lists and objects, "–" for nothing (escaped later)."""
    if value is None:
        return "–"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def stacked_bars(
    by_day: Mapping[str, Counter], keys: Iterable[str], first: dt.date, last: dt.date
) -> dict:
    """SVG geometry for one stacked bar per day (oldest left), scaled to the busiest day."""
    keys = list(keys)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    height, step = 160.0, max(4.0, min(24.0, 720.0 / max(1, len(days))))
    totals = [sum(by_day.get(d.isoformat(), Counter())[k] for k in keys) for d in days]
    peak = max(totals, default=0)
    scale = peak or 1
    bars = []
    for i, (day, total) in enumerate(zip(days, totals, strict=True)):
        counts, y, segments = by_day.get(day.isoformat(), Counter()), height, []
        for key in keys:
            if counts[key]:
                h = counts[key] / scale * height
                y -= h
                segments.append({"key": key, "n": counts[key], "y": round(y, 2), "h": round(h, 2)})
        bars.append(
            {"x": round(i * step, 2), "day": day.isoformat(), "total": total, "segments": segments}
        )
    return {
        "width": round(len(days) * step, 2),
        "height": height,
        "bar": round(step * 0.8, 2),
        "bars": bars,
        "peak": peak,
        "total": sum(totals),
        "series": keys,
    }


def bar_rows(counts: Counter, order: Iterable[str] | None = None) -> list[dict]:
    """Horizontal bar rows (label, count, share of the largest) for a counter."""
    labels = list(order) if order is not None else [k for k, _ in counts.most_common()]
    labels += [k for k in counts if k not in labels]
    peak = max(counts.values(), default=0) or 1
    return [{"label": k, "n": counts[k], "share": counts[k] / peak} for k in labels]


#: Comments longer than this (characters) show only the sentences behind their reasons.
COLLAPSE_AT = 600
#: The longest a single excerpt grows around its words, and all excerpts together.
MAX_EXCERPT = 500
MAX_EXCERPTS = 1500


def excerpts(text: str, reasons: Iterable[Mapping]) -> list[dict] | None:
    """A long comment cut down to the sentences that triggered its hold; None when short.

    Each excerpt is `{"start", "end", "segments", "gap"}`: `segments` are highlight()'s pairs
    for that part of the text, `gap` says text was left out before it. The sentences come
    from the reasons' `sentence` fields, else the sentence around each word span; a comment
    with neither (held for its author, say) shows its beginning. Malformed stored values are
    ignored, as in highlight().
    """
    if len(text) <= COLLAPSE_AT:
        return None
    from moderator.text import sentences

    reasons = [r for r in reasons if isinstance(r, Mapping)]
    ranges: list[tuple[int, int]] = []
    spans = _valid_pairs((s for r in reasons for s in r.get("spans") or ()), len(text))
    for start, end in _valid_pairs((r.get("sentence") for r in reasons), len(text)):
        ranges.append((start, end))
    if spans:
        cuts = sentences(text)
        for start, end in spans:
            around = next(((a, b) for a, b in cuts if a <= start and end <= b), None)
            ranges.append(around or (max(0, start - 150), min(len(text), end + 150)))
    ranges = [_shrink(r, spans) for r in ranges]
    if not ranges:
        ranges = [(0, min(len(text), 300))]
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 20:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    found, budget = [], MAX_EXCERPTS
    for start, end in merged:
        if budget <= 0:
            break
        end = min(end, start + budget)
        budget -= end - start
        inside = [
            {"spans": [[max(a, start) - start, min(b, end) - start]]}
            for a, b in spans
            if a < end and b > start
        ]
        found.append(
            {
                "start": start,
                "end": end,
                "segments": highlight(text[start:end], inside),
                "gap": start > 0 if not found else start > found[-1]["end"],
            }
        )
    return found


def _valid_pairs(values, length: int) -> list[tuple[int, int]]:
    pairs = []
    for value in values:
        if not isinstance(value, list | tuple) or len(value) != 2:
            continue
        start, end = value
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
            continue
        start, end = max(0, start), min(length, end)
        if start < end:
            pairs.append((start, end))
    return pairs


def _shrink(span: tuple[int, int], words: list[tuple[int, int]]) -> tuple[int, int]:
    """A range cut to MAX_EXCERPT characters around the words inside it."""
    start, end = span
    if end - start <= MAX_EXCERPT:
        return span
    inside = [(a, b) for a, b in words if start <= a and b <= end]
    if not inside:
        return start, start + MAX_EXCERPT
    first, last = inside[0][0], max(b for _, b in inside)
    pad = max(0, (MAX_EXCERPT - (last - first)) // 2)
    return max(start, first - pad), min(end, max(last + pad, first + MAX_EXCERPT))
