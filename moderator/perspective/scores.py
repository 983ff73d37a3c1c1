"""From our decision to Perspective's attribute scores, and from suggested scores to a label.

    TOXICITY -> toxicity, PROFANITY -> obscene, INSULT -> insult,
    THREAT -> threat, IDENTITY_ATTACK -> identity_attack,
    SEVERE_TOXICITY -> toxicity * max(obscene, threat, identity_attack)   (see severe_toxicity)

A summary score is the classifier's probability, raised to 1.0 when one of the site's
block or suspect words of that category matched, so Perspective clients that act on a
score enforce the site's word lists too. With the site setting
`perspective_reflects_decision`, TOXICITY also follows our decision: at least the site's
toxicity hold threshold when we hold, at least its reject threshold when we reject, and
below the hold threshold when we allow, so a client with one TOXICITY threshold (Coral)
holds exactly what we hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any

from moderator.policy import Action
from moderator.policy import Category
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source
from moderator.policy import Threshold

if TYPE_CHECKING:
    from moderator.perspective.requests import AnalyzeRequest

#: Perspective attribute -> our category (SEVERE_TOXICITY is derived, see severe_toxicity).
ATTRIBUTES: dict[str, Category] = {
    "TOXICITY": Category.TOXICITY,
    "PROFANITY": Category.OBSCENE,
    "INSULT": Category.INSULT,
    "THREAT": Category.THREAT,
    "IDENTITY_ATTACK": Category.IDENTITY_ATTACK,
}
SEVERE_TOXICITY = "SEVERE_TOXICITY"
SUPPORTED_ATTRIBUTES = (*ATTRIBUTES, SEVERE_TOXICITY)
#: The categories whose strength makes toxicity severe.
SEVERE_FACTORS = (Category.OBSCENE, Category.THREAT, Category.IDENTITY_ATTACK)
#: How far below the hold threshold an allowed comment's reflected TOXICITY stays.
ALLOW_MARGIN = 0.01
#: A suggested score at or above this says the person found the comment to be that attribute.
SUGGESTION_CUTOFF = 0.5
#: Attributes that say least about which kind of toxicity a person saw.
GENERAL = ("TOXICITY", SEVERE_TOXICITY)


def severe_toxicity(scores: Mapping[str, float]) -> float:
    """SEVERE_TOXICITY: toxicity times the strongest of obscene, threat and identity_attack.

    Severe means toxic *and* obscene, threatening or hateful, so the product is never above
    TOXICITY and never decreases when any of its inputs increases (all are in [0, 1]).
    Missing categories count as 0.
    """
    toxicity = _unit(scores.get(Category.TOXICITY, 0.0))
    strongest = max(_unit(scores.get(c, 0.0)) for c in SEVERE_FACTORS)
    return toxicity * strongest


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def reflect(toxicity: float, action: Action, threshold: Threshold) -> float:
    """TOXICITY moved to agree with `action` under the site's toxicity `threshold`."""
    if action is Action.REJECT:
        return max(toxicity, threshold.reject)
    if action is Action.HOLD:
        return max(toxicity, threshold.hold)
    return min(toxicity, max(0.0, threshold.hold - ALLOW_MARGIN))


def coral_threshold(hold: float) -> str:
    """The percentage to set as Coral's toxicity threshold when TOXICITY reflects decisions.

    Coral withholds when `score > threshold` (phases/toxic.ts); reflected scores are at least
    `hold` when we hold and at most `hold - ALLOW_MARGIN` when we allow, so halfway between
    splits them.
    """
    return f"{max(0.0, hold - ALLOW_MARGIN / 2) * 100:.1f}"


def summary_scores(decision: Decision, reflect_with: Threshold | None = None) -> dict[str, float]:
    """Every supported attribute's summary score for `decision`.

    `reflect_with` is the site's toxicity threshold when it set perspective_reflects_decision.
    """
    scores = {str(c): _unit(decision.scores.get(c, 0.0)) for c in Category}
    for reason in decision.reasons:
        if reason.source is Source.WORDLIST and reason.category in scores:
            scores[reason.category] = 1.0
    summaries = {name: scores[category] for name, category in ATTRIBUTES.items()}
    summaries[SEVERE_TOXICITY] = severe_toxicity(scores)
    if reflect_with is not None:
        summaries["TOXICITY"] = reflect(summaries["TOXICITY"], decision.action, reflect_with)
    return summaries


def attribute_scores(
    request: AnalyzeRequest, decision: Decision, reflect_with: Threshold | None = None
) -> dict[str, dict]:
    """The response's attributeScores for `decision`, in request order."""
    summaries = summary_scores(decision, reflect_with)
    out = {}
    for attribute in request.attributes:
        if attribute.name not in summaries:
            continue  # dropUnsupportedAttributes
        value = summaries[attribute.name]
        if attribute.threshold is not None and value < attribute.threshold:
            # Perspective leaves out scores below a requested scoreThreshold.
            continue
        entry: dict[str, Any] = {}
        if request.span_annotations:
            entry["spanScores"] = span_scores(request.text, attribute.name, decision, value)
        entry["summaryScore"] = _score(value)
        out[attribute.key] = entry
    return out


def span_scores(text: str, attribute: str, decision: Decision, summary: float) -> list[dict]:
    """Per-word spans from the decision's reasons, as UTF-16 offsets like Perspective's.

    A category with no reason (it stayed under its hold threshold), and SEVERE_TOXICITY,
    get one span over the whole text carrying the summary score.
    """
    category = ATTRIBUTES.get(attribute)
    spans = []
    if category is not None:
        for reason in decision.reasons:
            if reason.category != category:
                continue
            score = 1.0 if reason.source is Source.WORDLIST else _unit(reason.score or 0.0)
            for start, end in reason.spans:
                spans.append((_utf16(text, start), _utf16(text, end), score))
    if not spans:
        spans.append((0, _utf16(text, len(text)), summary))
    return [{"begin": b, "end": e, "score": _score(s)} for b, e, s in sorted(set(spans))]


def _utf16(text: str, index: int) -> int:
    """The UTF-16 code-unit offset of code-point `index` (characters past U+FFFF count two)."""
    index = max(0, min(index, len(text)))
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def _score(value: float) -> dict:
    return {"value": round(float(value), 7), "type": "PROBABILITY"}


def render_response(
    request: AnalyzeRequest,
    decision: Decision,
    detected: str | None = "en",
    reflect_with: Threshold | None = None,
) -> dict:
    """The AnalyzeComment response body.

    `detected` is the identified language, None when undetermined (reported as `und`).
    `languages` echoes the request's, else the language the comment was taken to be.
    """
    body: dict[str, Any] = {
        "attributeScores": attribute_scores(request, decision, reflect_with),
        "languages": list(request.languages) or [detected or "en"],
        "detectedLanguages": [detected or "und"],
    }
    if request.client_token is not None:
        body["clientToken"] = request.client_token
    return body


def decision_from_stored(decision: str, scores: Mapping, reasons: list[dict]) -> Decision:
    """The Decision of a comment stored earlier (a retry with the same clientToken)."""
    rebuilt = []
    for r in reasons:
        try:
            source = Source(r.get("source"))
        except ValueError:
            continue
        rebuilt.append(
            Reason(
                category=str(r.get("category")),
                score=r.get("score"),
                source=source,
                words=tuple(r.get("words") or ()),
                spans=tuple(tuple(s) for s in r.get("spans") or ()),
            )
        )
    return Decision(action=Action(decision), scores=dict(scores), reasons=tuple(rebuilt))


def suggestion_label(scores: Mapping[str, float]) -> tuple[str, str | None]:
    """(human_decision, reason_code) from a person's suggested attribute scores.

    Coral sends 0 for a comment its moderator approved and 1 for one they rejected. Any
    attribute at or above SUGGESTION_CUTOFF makes a rejection, for the category of the
    highest one; all below it is an approval.
    """
    # At equal scores the more specific attribute wins (INSULT says more than TOXICITY).
    name, value = max(scores.items(), key=lambda kv: (kv[1], kv[0] not in GENERAL))
    if value < SUGGESTION_CUTOFF:
        return "approve", None
    category = ATTRIBUTES.get(name, Category.TOXICITY)
    return "reject", str(category)
