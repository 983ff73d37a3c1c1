"""The policy: from word-rule hits and classifier scores to allow, hold or reject, with reasons.

No Flask, no database: everything arrives as arguments, so the API, the dashboard's
re-scoring and the `moderator score` command decide exactly the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field


class Category(enum.StrEnum):
    """The policy categories; the values are the strings the API and the model use."""

    TOXICITY = "toxicity"
    OBSCENE = "obscene"
    INSULT = "insult"
    IDENTITY_ATTACK = "identity_attack"
    THREAT = "threat"


CATEGORIES: tuple[Category, ...] = tuple(Category)


class Action(enum.StrEnum):
    """What happens to a comment."""

    ALLOW = "allow"
    HOLD = "hold"
    REJECT = "reject"


class Source(enum.StrEnum):
    """What produced a reason."""

    CLASSIFIER = "classifier"
    WORDLIST = "wordlist"
    SYSTEM = "system"


class ListKind(enum.StrEnum):
    """A word list's effect: block rejects, suspect holds, allow never triggers by itself."""

    BLOCK = "block"
    SUSPECT = "suspect"
    ALLOW = "allow"


#: The reason category given when the classifier could not score a comment.
CLASSIFIER_UNAVAILABLE = "classifier_unavailable"
#: The reason category given when a comment is in a language the model wasn't trained for.
LANGUAGE_UNSUPPORTED = "language_unsupported"

_SEVERITY = {Action.ALLOW: 0, Action.HOLD: 1, Action.REJECT: 2}


@dataclass(frozen=True)
class RuleHit:
    """One word-list match, with its character span in the text that was checked."""

    word: str
    start: int
    end: int
    kind: ListKind = ListKind.BLOCK
    category: Category = Category.OBSCENE


@dataclass(frozen=True)
class Threshold:
    """Scores at or above `hold` are held, at or above `reject` rejected (`reject` >= `hold`).

    A threshold of 1.0 never fires: `reject: 1.0` means the category never rejects on its own
    (model.json uses it so), even for a score that saturates at exactly 1.0.
    """

    hold: float
    reject: float

    def __post_init__(self) -> None:
        for name in ("hold", "reject"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"threshold {name} must be a number, got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"threshold {name} must be between 0 and 1, got {value!r}")
        if self.reject < self.hold:
            raise ValueError(f"reject threshold {self.reject} is below hold threshold {self.hold}")

    def action(self, score: float) -> Action:
        """The action this threshold asks for at `score`."""
        if score >= self.reject and self.reject < 1.0:
            return Action.REJECT
        if score >= self.hold and self.hold < 1.0:
            return Action.HOLD
        return Action.ALLOW


Thresholds = Mapping[Category, Threshold]


def thresholds_from_dict(data: Mapping[str, Mapping[str, float]]) -> dict[Category, Threshold]:
    """Parse `{"toxicity": {"hold": 0.5, "reject": 0.9}, ...}` (the model.json shape)."""
    parsed = {}
    for name, values in data.items():
        try:
            category = Category(name)
        except ValueError:
            raise ValueError(f"unknown category {name!r} in thresholds") from None
        if not isinstance(values, Mapping) or set(values) - {"hold", "reject"}:
            raise ValueError(f"thresholds for {name} must be an object with hold and reject")
        try:
            parsed[category] = Threshold(hold=values["hold"], reject=values["reject"])
        except KeyError as missing:
            raise ValueError(f"thresholds for {name} lack {missing.args[0]}") from None
    return parsed


def thresholds_to_dict(thresholds: Thresholds) -> dict[str, dict[str, float]]:
    """The inverse of thresholds_from_dict."""
    return {str(c): {"hold": t.hold, "reject": t.reject} for c, t in thresholds.items()}


@dataclass(frozen=True)
class Reason:
    """Why a comment was held or rejected: the category, the score and the words, with spans."""

    category: str
    score: float | None
    source: Source
    words: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    #: [start, end) of the sentence whose score fired, when it was not the whole comment.
    sentence: tuple[int, int] | None = None

    def to_dict(self) -> dict:
        """The JSON shape every caller returns: category, score, source, words, spans,
        and `sentence` for a classifier reason that a single sentence of the comment fired."""
        data = {
            "category": self.category,
            "score": None if self.score is None else round(float(self.score), 4),
            "source": str(self.source),
            "words": list(self.words),
            "spans": [list(s) for s in self.spans],
        }
        if self.sentence is not None:
            data["sentence"] = list(self.sentence)
        return data


@dataclass(frozen=True)
class Decision:
    """The outcome for one comment."""

    action: Action
    scores: dict[str, float] = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()

    def to_dict(self) -> dict:
        """`{"decision", "scores", "reasons"}`, the `moderator score` line and the API's core."""
        return {
            "decision": str(self.action),
            "scores": {k: round(float(v), 4) for k, v in self.scores.items()},
            "reasons": [r.to_dict() for r in self.reasons],
        }


#: Called for a category whose score crossed its threshold: the words that drove it, with spans,
#: and optionally the [start, end) sentence whose score crossed (None: the whole comment); None
#: when there is no explanation.
Explainer = Callable[
    [Category],
    tuple[Iterable[str], Iterable[tuple[int, int]]]
    | tuple[Iterable[str], Iterable[tuple[int, int]], tuple[int, int] | None],
]


def decide(
    hits: Iterable[RuleHit],
    scores: Mapping[str, float] | None,
    thresholds: Thresholds,
    explain: Explainer | None = None,
) -> Decision:
    """Combine word-rule hits and classifier scores into one decision.

    `scores` is None when the classifier could not score the comment: the comment is then
    held with reason `classifier_unavailable`, never allowed unseen and never dropped.
    Allow-listed words must already be removed from `hits` (rules.py does that) and from
    the text the classifier scored (service.py does that). `explain` is only called for
    categories that cross their hold threshold, so clean comments cost nothing extra.
    """
    action = Action.ALLOW
    reasons: list[Reason] = []

    by_kind: dict[tuple[ListKind, Category], list[RuleHit]] = {}
    for hit in hits:
        if hit.kind is ListKind.ALLOW:
            continue
        by_kind.setdefault((hit.kind, hit.category), []).append(hit)
    for (kind, category), group in sorted(by_kind.items(), key=lambda kv: kv[0][0] != "block"):
        action = _worse(action, Action.REJECT if kind is ListKind.BLOCK else Action.HOLD)
        reasons.append(
            Reason(
                category=str(category),
                score=1.0,
                source=Source.WORDLIST,
                words=tuple(h.word for h in group),
                spans=tuple((h.start, h.end) for h in group),
            )
        )

    if scores is None:
        action = _worse(action, Action.HOLD)
        reasons.append(Reason(category=CLASSIFIER_UNAVAILABLE, score=None, source=Source.SYSTEM))
        return Decision(action=action, scores={}, reasons=tuple(reasons))

    fired = []
    for category, category_action in firing(scores, thresholds):
        action = _worse(action, category_action)
        fired.append((scores[category], category))

    for score, category in sorted(fired, key=lambda sc: -sc[0]):
        explained = (explain(category) if explain else None) or ((), ())
        words, spans = explained[0], explained[1]
        sentence = explained[2] if len(explained) > 2 else None
        reasons.append(
            Reason(
                category=str(category),
                score=score,
                source=Source.CLASSIFIER,
                words=tuple(words),
                spans=tuple(tuple(s) for s in spans),
                sentence=None if sentence is None else tuple(sentence),
            )
        )
    return Decision(action=action, scores=dict(scores), reasons=tuple(reasons))


def firing(scores: Mapping[str, float], thresholds: Thresholds) -> list[tuple[Category, Action]]:
    """The categories whose score crosses a threshold, with the action each asks for; these
    are the ones decide() explains (so a caller can prepare their explanations in a batch)."""
    out = []
    for category in CATEGORIES:
        threshold = thresholds.get(category)
        score = scores.get(category)
        if threshold is None or score is None:
            continue
        category_action = threshold.action(score)
        if category_action is not Action.ALLOW:
            out.append((category, category_action))
    return out


def _worse(a: Action, b: Action) -> Action:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def unsupported_language(word_decision: Decision, hold: bool) -> Decision:
    """The decision for a comment in a language the model can't judge.

    `word_decision` was made with the site's word lists and no classifier thresholds (its
    scores are kept for the record, not acted on). With `hold` (the default policy) the
    comment is held at least, with reason `language_unsupported`; without, the word lists
    alone decide.
    """
    if not hold:
        return word_decision
    return Decision(
        action=_worse(word_decision.action, Action.HOLD),
        scores=word_decision.scores,
        reasons=(
            *word_decision.reasons,
            Reason(category=LANGUAGE_UNSUPPORTED, score=None, source=Source.SYSTEM),
        ),
    )
