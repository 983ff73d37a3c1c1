"""How a model agrees with a site's moderators: per site, per category, and what it would change.

A moderator's approve counts as "allow", a reject as "flag" (hold or reject: either puts
the comment in front of a person or keeps it off the page). The model decides each comment
on the full decision path (word rules, sentence-aware scores, policy) with the site's own
settings when they are known (decisions read from the database) and the model's defaults
otherwise (an export file carries no site settings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from moderator.policy import Action
from moderator.policy import Decision
from training.decisions import HumanDecision

#: Characters of a comment shown in a table of flipped or disagreeing comments.
EXCERPT = 100


def decide(
    moderation, decisions: Sequence[HumanDecision], rules: Mapping[str, object] | None = None
) -> list[Decision]:
    """The model's decision on each comment, in input order (batched per site)."""
    by_site: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(decisions):
        by_site[d.site].append(i)
    out: list[Decision | None] = [None] * len(decisions)
    for site, rows in by_site.items():
        site_rules = (rules or {}).get(site)
        decided = moderation.decide_batch([decisions[i].text for i in rows], site_rules)
        for i, decision in zip(rows, decided, strict=True):
            out[i] = decision
    return out  # type: ignore[return-value]


def flagged(decision: Decision) -> bool:
    """The model would not publish the comment as it is."""
    return decision.action != Action.ALLOW


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """One line of a comment for a terminal table: control characters and newlines escaped."""
    flat = "".join(c if c.isprintable() else " " for c in text.replace("\n", " "))
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def human(d: HumanDecision) -> str:
    """approve or reject (with the reason when known)."""
    if not d.rejected:
        return "approve"
    return f"reject ({d.reason})" if d.reason else "reject"


def site_report(
    decisions: Sequence[HumanDecision],
    outcomes: Sequence[Decision],
    thresholds: Mapping[str, float],
    listed: int = 20,
) -> dict:
    """Agreement with the moderators overall, per site and per category, and the comments
    the model would have decided the other way (the first `listed` of them, newest first).

    `thresholds` is each category's hold threshold (the per-category agreement is the
    category's score against it, on the rows the decision labels for that category).
    """
    from sklearn.metrics import roc_auc_score

    n = len(decisions)
    right = [flagged(o) == d.rejected for d, o in zip(decisions, outcomes, strict=True)]
    report: dict = {
        "n": n,
        "agreement": _share(sum(right), n),
        "moderators_rejected": sum(d.rejected for d in decisions),
        "model_flagged": sum(flagged(o) for o in outcomes),
        "per_site": {},
        "per_category": {},
    }
    for site in sorted({d.site for d in decisions}):
        rows = [i for i, d in enumerate(decisions) if d.site == site]
        report["per_site"][site] = {
            "n": len(rows),
            "agreement": _share(sum(right[i] for i in rows), len(rows)),
            "moderators_rejected": sum(decisions[i].rejected for i in rows),
            "model_flagged": sum(flagged(outcomes[i]) for i in rows),
        }
    for name, threshold in thresholds.items():
        rows = [i for i, d in enumerate(decisions) if d.labels.get(name) is not None]
        if not rows:
            continue
        y = np.array([decisions[i].labels[name] for i in rows])
        p = np.array([outcomes[i].scores.get(name, 0.0) for i in rows])
        m = {
            "n": len(rows),
            "positives": int(y.sum()),
            "agreement": _share(int(((p >= threshold) == (y == 1)).sum()), len(rows)),
        }
        if len(set(y)) == 2:
            m["auc"] = round(float(roc_auc_score(y, p)), 4)
        report["per_category"][name] = m
    wrong = [i for i in range(n) if not right[i]]
    report["disagreements"] = [_row(decisions[i], outcomes[i]) for i in reversed(wrong)][:listed]
    report["disagreement_count"] = len(wrong)
    return report


def _row(d: HumanDecision, o: Decision) -> dict:
    return {
        "site": d.site,
        "comment_id": d.comment_id,
        "decided_at": d.decided_at.isoformat() if d.decided_at else None,
        "moderator": human(d),
        "model": str(o.action),
        "text": excerpt(d.text),
    }


def _share(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None


def site_lines(report: dict, title: str = "site decisions") -> list[str]:
    """The report as text lines."""
    if not report["n"]:
        return [f"{title}: none"]
    lines = [
        f"{title}: n={report['n']} agreement with moderators {report['agreement']:.1%} "
        f"(moderators rejected {report['moderators_rejected']}, "
        f"the model flagged {report['model_flagged']})"
    ]
    for site, m in report["per_site"].items():
        lines.append(
            f"  site {site:20} n={m['n']:5} agreement {m['agreement']:.1%} "
            f"rejected {m['moderators_rejected']} flagged {m['model_flagged']}"
        )
    for name, m in report["per_category"].items():
        auc = f" auc={m['auc']}" if "auc" in m else ""
        lines.append(
            f"  {name:16} n={m['n']:5} pos={m['positives']:4} "
            f"agreement at hold {m['agreement']:.1%}{auc}"
        )
    if report["disagreements"]:
        lines.append(
            f"  the model would have decided {report['disagreement_count']} the other way "
            f"(newest {len(report['disagreements'])}):"
        )
        lines.append(f"    {'site':16} {'moderator':22} {'model':7} text")
        for r in report["disagreements"]:
            lines.append(
                f"    {r['site'][:16]:16} {r['moderator'][:22]:22} {r['model']:7} {r['text']}"
            )
    return lines
