"""A site's own layer over the shared model, and thresholds suggested from its decisions.

Sites differ: one site's moderators reject what another's let through. From a site's own
decisions two things are learnt (training/sitelearn.py fits them; this module applies them):

* **Suggested thresholds** (`suggest_thresholds`): per category, the hold threshold that
  would have agreed most with the moderators on the site's older decisions, with the
  agreement on the newest ones. Shown to a person; applied only by one
  (`moderator sites set-threshold`, the site's admin page).
* **A site layer** (`SiteLayer`): a logistic regression over the shared model's
  category scores (as logits) that estimates the probability that this site's moderators
  reject the comment. For a site with a promoted layer, that probability is the comment's
  `toxicity` (the category that means "breaks the policy"), held at the layer's threshold;
  the layer never rejects on its own (the other categories, the word lists and the
  shared model's reject thresholds still do). A layer is fitted on one shared model's
  scores and applies only while that model serves (`base`); after a new shared model is
  promoted the site is decided by the shared model until its layer is learnt again.

A site needs MIN_DECISIONS policy decisions, at least MIN_EACH approvals and as many
rejections, before either is learnt: with fewer, the newest fifth that tests it holds under
40 decisions and an agreement measured on them is uncertain by more than ±15 points (95%),
more than the difference a site's own threshold usually makes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Fewest policy decisions (approve, or reject for a policy reason) a site needs.
MIN_DECISIONS = 200
#: Fewest approvals and fewest rejections among them.
MIN_EACH = 30
#: Scores are clipped to [EPS, 1 - EPS] before the logit.
EPS = 1e-4


def logit(p: float) -> float:
    """log(p / (1 - p)), clipped so 0 and 1 stay finite."""
    p = min(max(float(p), EPS), 1 - EPS)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class SiteLayer:
    """A fitted layer: P(this site's moderators reject) from the shared model's scores."""

    site_id: int
    categories: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    hold: float
    #: The shared model's digest (moderator.serving.model_digest) it was fitted on.
    base: str
    label: str

    def probability(self, scores: Mapping[str, float]) -> float:
        """The layer's probability for one comment's shared-model scores."""
        z = self.intercept + sum(
            w * logit(scores.get(c, 0.0)) for c, w in zip(self.categories, self.coef, strict=True)
        )
        # Clipped so the probability stays below 1.0: a layer never rejects on its own.
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    def apply(self, scores: Mapping[str, float]) -> dict[str, float]:
        """The scores with `toxicity` replaced by the layer's probability."""
        out = dict(scores)
        out["toxicity"] = self.probability(scores)
        return out

    def to_dict(self) -> dict:
        """What model_promotions.layer stores."""
        return {
            "kind": "logistic",
            "categories": list(self.categories),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "hold": self.hold,
            "base": self.base,
        }

    @classmethod
    def from_dict(cls, site_id: int, label: str, data: Mapping) -> SiteLayer:
        """The stored layer; ValueError when it is not one."""
        try:
            if data["kind"] != "logistic":
                raise ValueError(f"unknown layer kind {data['kind']!r}")
            categories = tuple(str(c) for c in data["categories"])
            coef = tuple(float(w) for w in data["coef"])
            hold = float(data["hold"])
            layer = cls(
                site_id, categories, coef, float(data["intercept"]), hold, str(data["base"]), label
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a site layer: {error}") from None
        if len(categories) != len(coef) or not 0.0 < hold < 1.0:
            raise ValueError("not a site layer: categories and coefficients differ, or bad hold")
        if not all(math.isfinite(w) for w in (*coef, layer.intercept)):
            raise ValueError("not a site layer: a coefficient is not finite")
        return layer


@dataclass(frozen=True)
class Suggestion:
    """A suggested hold threshold for one category, with what it would have changed."""

    category: str
    current: float
    suggested: float
    #: Agreement with the moderators on the category's labelled newest decisions.
    agreement_current: float | None
    agreement_suggested: float | None
    n: int


def best_threshold(
    scores: list[float], labels: list[int], lo: float = 0.05, hi: float = 0.95
) -> float:
    """The hold threshold in [lo, hi] that agrees most with the labels (1 = reject); ties go
    to the highest threshold (the fewest comments held)."""
    candidates = sorted({lo, hi, *(s for s in scores if lo < s < hi)})
    best, best_right = hi, -1
    for t in candidates:
        right = sum((s >= t) == (y == 1) for s, y in zip(scores, labels, strict=True))
        if right >= best_right:
            best, best_right = t, right
    return best


def agreement(scores: list[float], labels: list[int], threshold: float) -> float | None:
    """The share of labels the threshold agrees with (None without labels)."""
    if not labels:
        return None
    right = sum((s >= threshold) == (y == 1) for s, y in zip(scores, labels, strict=True))
    return round(right / len(labels), 4)


def enough(approvals: int, rejections: int) -> str | None:
    """None when a site has enough decisions to learn from, else why not."""
    if approvals + rejections < MIN_DECISIONS:
        return (
            f"{approvals + rejections} policy decisions; at least {MIN_DECISIONS} are needed "
            "(fewer leave a test set whose agreement is uncertain by more than ±15 points)"
        )
    if min(approvals, rejections) < MIN_EACH:
        return f"{approvals} approvals and {rejections} rejections; at least {MIN_EACH} of each"
    return None
