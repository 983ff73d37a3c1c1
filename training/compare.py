"""The promotion gate: is a candidate model at least as good as the live one, beyond noise?

`python -m training compare --candidate models/B --current models/A` scores the same rows
with both models and refuses the candidate when it is worse, by more than the noise of the
measurement, on any of:

  * a public test split (each dataset and category): ROC AUC, with DeLong's variance of the
    paired difference (both models score the same rows); "worse" = the drop is larger than
    z standard errors and at least MIN_AUC_DROP, where z keeps the whole family of k
    dataset-category comparisons at 95% (Bonferroni: z = 1.96 for one, 3.04 for 21): at
    1.96 each, one of 21 unchanged comparisons would look worse about 4 times in 10;
  * the neutral identity sentences (training/eval/): sentences the candidate flags and the
    current model doesn't, against the reverse (McNemar's paired count: worse when
    b - c > 1.96 * sqrt(b + c));
  * the innocent-word sentences (training/eval/innocent_words.tsv): a sentence the candidate
    rejects and the current model doesn't refuses it outright (none may ever be rejected);
    holds are compared like the neutral sentences;
  * the site's recent decisions (the newest share, training/decisions.py): comments the
    candidate decides against the moderator and the current model with them, against the
    reverse (McNemar again), overall and per site.

The comments on which the two models decide differently are listed for a person to read:
the gate catches regressions on average, a person catches the slur a slipped key press
taught the candidate to allow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass

import numpy as np

from moderator.policy import Action
from training.decisions import HumanDecision
from training.sitereport import decide
from training.sitereport import excerpt
from training.sitereport import flagged
from training.sitereport import human

#: z for a two-sided 95% interval.
Z = 1.96
#: An AUC drop smaller than this is never "worse", however many rows measured it.
MIN_AUC_DROP = 0.002
#: Fewest rows of each class for an AUC comparison of one dataset and category.
MIN_CLASS_ROWS = 10
PASS = "promote"
REFUSE = "refuse"


@dataclass(frozen=True)
class Check:
    """One comparison: what was measured, both models' figures, and whether it passed."""

    name: str
    current: float | int | None
    candidate: float | int | None
    passed: bool
    detail: str


def delong(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(AUC of a, AUC of b, standard error of AUC(b) - AUC(a)) on the same rows (DeLong 1988)."""
    from scipy.stats import rankdata

    pos, neg = y == 1, y == 0
    m, n = int(pos.sum()), int(neg.sum())
    aucs, v01, v10 = [], [], []
    for p in (a, b):
        x, z = p[pos], p[neg]
        tx, tz = rankdata(x), rankdata(z)
        t = rankdata(np.concatenate([x, z]))
        aucs.append((t[:m].sum() - m * (m + 1) / 2) / (m * n))
        v01.append((t[:m] - tx) / n)
        v10.append(1.0 - (t[m:] - tz) / m)
    s01, s10 = np.cov(np.array(v01)), np.cov(np.array(v10))
    var = (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / m + (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / n
    return float(aucs[0]), float(aucs[1]), math.sqrt(max(var, 0.0))


def paired_worse(worse: int, better: int) -> tuple[bool, float]:
    """McNemar's count: (the candidate is worse beyond noise, the noise in rows)."""
    noise = Z * math.sqrt(worse + better)
    return worse - better > noise, round(noise, 1)


def public_checks(current, candidate, examples, test_rows) -> list[Check]:
    """AUC per dataset and category on the public test splits (paired, DeLong)."""
    from moderator.service import Moderation

    texts = [examples[i].text for i in test_rows]
    names = [n for n in current.categories if n in candidate.categories]
    a = Moderation(current).scores(texts)
    b = Moderation(candidate).scores(texts)
    sources = np.array([examples[i].source for i in test_rows])
    labels = np.array([examples[i].labels for i in test_rows], dtype=float).reshape(-1, 5)
    from training.evaluate import NAMES

    pairs = []
    for source in sorted(set(sources)):
        for name in names:
            j = NAMES.index(name)
            mask = (sources == source) & ~np.isnan(labels[:, j])
            y = labels[mask, j]
            if (y == 1).sum() < MIN_CLASS_ROWS or (y == 0).sum() < MIN_CLASS_ROWS:
                continue
            pairs.append((source, name, mask, y))
    z = family_z(len(pairs))
    checks = []
    for source, name, mask, y in pairs:
        rows = np.flatnonzero(mask)
        pa = np.array([a[i][name] for i in rows])
        pb = np.array([b[i][name] for i in rows])
        auc_a, auc_b, se = delong(y.astype(int), pa, pb)
        noise = max(z * se, MIN_AUC_DROP)
        drop = auc_a - auc_b
        checks.append(
            Check(
                f"public {source} {name} AUC",
                round(auc_a, 4),
                round(auc_b, 4),
                drop <= noise,
                f"{source} {name}: AUC {auc_a:.4f} -> {auc_b:.4f} "
                f"(n={len(rows)}, noise ±{noise:.4f})",
            )
        )
    return checks


def family_z(k: int) -> float:
    """The one-sided z that keeps k comparisons together at 95% (Bonferroni)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - 0.025 / max(k, 1))


def neutral_check(
    current, candidate, sentences: Sequence[str], rules_current=None, rules_candidate=None
) -> Check:
    """False flags on the neutral identity sentences, paired. With a site's rules (a site
    layer against the shared model) a sentence is flagged when the full decision holds or
    rejects it; without, when a category's score reaches its hold threshold."""
    if rules_current is None and rules_candidate is None:
        fa, fb = _flags(current, sentences), _flags(candidate, sentences)
    else:
        fa = _decided_flags(current, sentences, rules_current)
        fb = _decided_flags(candidate, sentences, rules_candidate)
    worse = int((fb & ~fa).sum())
    better = int((fa & ~fb).sum())
    failed, noise = paired_worse(worse, better)
    n = len(sentences)
    return Check(
        "neutral identity false flags",
        int(fa.sum()),
        int(fb.sum()),
        not failed,
        f"neutral identity sentences flagged: {fa.sum()}/{n} ({fa.mean():.1%}) -> "
        f"{fb.sum()}/{n} ({fb.mean():.1%}); {worse} newly flagged, {better} no longer "
        f"(noise ±{noise})",
    )


def _flags(classifier, sentences: Sequence[str]) -> np.ndarray:
    from moderator.service import Moderation

    holds = {str(c): t.hold for c, t in classifier.thresholds.items()}
    scores = Moderation(classifier).scores(list(sentences))
    return np.array([any(s[c] >= holds[c] for c in holds) for s in scores], dtype=bool)


def _decided_flags(classifier, sentences: Sequence[str], rules) -> np.ndarray:
    from moderator.service import Moderation

    decided = Moderation(classifier).decide_batch(list(sentences), rules)
    return np.array([flagged(d) for d in decided], dtype=bool)


def innocent_checks(
    current, candidate, sentences: Sequence[str], rules_current=None, rules_candidate=None
) -> list[Check]:
    """No innocent sentence newly rejected; holds compared like the neutral set."""
    from moderator.service import Moderation

    da = Moderation(current).decide_batch(list(sentences), rules_current)
    db = Moderation(candidate).decide_batch(list(sentences), rules_candidate)
    rejected = [
        s
        for s, x, y in zip(sentences, da, db, strict=True)
        if y.action == Action.REJECT and x.action != Action.REJECT
    ]
    ra = sum(d.action == Action.REJECT for d in da)
    rb = sum(d.action == Action.REJECT for d in db)
    fa = np.array([flagged(d) for d in da])
    fb = np.array([flagged(d) for d in db])
    worse, better = int((fb & ~fa).sum()), int((fa & ~fb).sum())
    failed, noise = paired_worse(worse, better)
    n = len(sentences)
    return [
        Check(
            "innocent words rejected",
            ra,
            rb,
            not rejected,
            f"innocent-word sentences rejected: {ra}/{n} -> {rb}/{n}"
            + (
                f"; newly rejected: {'; '.join(excerpt(s, 60) for s in rejected[:5])}"
                if rejected
                else ""
            ),
        ),
        Check(
            "innocent words flagged",
            int(fa.sum()),
            int(fb.sum()),
            not failed,
            f"innocent-word sentences held or rejected: {fa.sum()}/{n} -> {fb.sum()}/{n}; "
            f"{worse} newly flagged, {better} no longer (noise ±{noise})",
        ),
    ]


def site_checks(
    current,
    candidate,
    decisions: Sequence[HumanDecision],
    rules_current: Mapping | None = None,
    rules_candidate: Mapping | None = None,
) -> tuple[list[Check], list[dict]]:
    """Agreement with the moderators on the test decisions, overall and per site; and the
    comments the two models decide differently (newest first)."""
    from moderator.service import Moderation

    if not decisions:
        return [], []
    da = decide(Moderation(current), decisions, rules_current)
    db = decide(Moderation(candidate), decisions, rules_candidate)
    right_a = np.array([flagged(o) == d.rejected for d, o in zip(decisions, da, strict=True)])
    right_b = np.array([flagged(o) == d.rejected for d, o in zip(decisions, db, strict=True)])
    sites = np.array([d.site for d in decisions])
    checks = []
    scopes = [("site decisions", np.ones(len(decisions), dtype=bool))]
    if len(set(sites)) > 1:
        scopes += [(f"site {s} decisions", sites == s) for s in sorted(set(sites))]
    for name, scope in scopes:
        worse = int((scope & right_a & ~right_b).sum())
        better = int((scope & right_b & ~right_a).sum())
        failed, noise = paired_worse(worse, better)
        n = int(scope.sum())
        checks.append(
            Check(
                f"{name} agreement",
                round(float(right_a[scope].mean()), 4),
                round(float(right_b[scope].mean()), 4),
                not failed,
                f"{name}: agreement with moderators {right_a[scope].mean():.1%} -> "
                f"{right_b[scope].mean():.1%} (n={n}); the candidate gets {worse} wrong that "
                f"the current model got right, {better} the other way (noise ±{noise})",
            )
        )
    flipped = [
        {
            "site": d.site,
            "comment_id": d.comment_id,
            "decided_at": d.decided_at.isoformat() if d.decided_at else None,
            "moderator": human(d),
            "current": str(x.action),
            "candidate": str(y.action),
            "agrees": "candidate" if flagged(y) == d.rejected else "current",
            "text": excerpt(d.text),
        }
        for d, x, y in zip(decisions, da, db, strict=True)
        if flagged(x) != flagged(y)
    ]
    flipped.reverse()
    return checks, flipped


def verdict(checks: Sequence[Check], missing: Sequence[str] = ()) -> dict:
    """promote when every check passed (and the candidate scores what the current model
    scores); the reasons are the failed checks' details."""
    reasons = [f"the candidate does not score {c}" for c in missing]
    reasons += [c.detail for c in checks if not c.passed]
    return {
        "verdict": REFUSE if reasons else PASS,
        "reasons": reasons,
        "checks": [asdict(c) for c in checks],
    }


def report_lines(report: dict, listed: int = 50) -> list[str]:
    """The comparison as text: verdict, reasons, every check, the flipped comments."""
    lines = [
        f"current   {report['current']['label']} ({report['current']['path']})",
        f"candidate {report['candidate']['label']} ({report['candidate']['path']})",
    ]
    if report.get("split"):
        s = report["split"]
        lines.append(
            f"site decisions: {s['train']} older, {s['test']} newest tested"
            + (f" (decided from {s['test_from']})" if s.get("test_from") else "")
        )
    lines.append("checks:")
    for c in report["checks"]:
        lines.append(f"  {'ok  ' if c['passed'] else 'FAIL'} {c['detail']}")
    for note in report.get("notes", []):
        lines.append(f"  note: {note}")
    flipped = report.get("flipped", [])
    lines.append(f"flipped comments (the models decide differently): {len(flipped)}")
    if flipped:
        lines.append(f"  {'site':16} {'moderator':22} {'current':7} {'candidate':9} text")
        for r in flipped[:listed]:
            lines.append(
                f"  {r['site'][:16]:16} {r['moderator'][:22]:22} {r['current']:7} "
                f"{r['candidate']:9} {r['text']}"
            )
        if len(flipped) > listed:
            lines.append(f"  ... and {len(flipped) - listed} more (--json lists them all)")
    lines.append(f"verdict: {report['verdict'].upper()}")
    for reason in report["reasons"]:
        lines.append(f"  - {reason}")
    return lines
