"""The dashboard preselects the strongest specific category as a rejection's reason, so a
held identity attack becomes an identity_attack label, not a toxicity-only one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from moderator.dashboard.display import default_reason


def reason(category, score, source="classifier"):
    return {"category": category, "score": score, "source": source, "words": [], "spans": []}


@pytest.mark.parametrize(
    "reasons, expected",
    [
        ([reason("toxicity", 0.97), reason("identity_attack", 0.41)], "identity_attack"),
        ([reason("toxicity", 0.9), reason("insult", 0.5), reason("threat", 0.7)], "threat"),
        ([reason("toxicity", 0.9), reason("obscene", 1.0, "wordlist")], "obscene"),
        ([reason("toxicity", 0.9)], "toxicity"),
        ([reason("language", None, "language")], "toxicity"),
        ([reason("classifier_unavailable", None, "system")], "toxicity"),
        ([], "toxicity"),
        ([reason("insult", None)], "insult"),
    ],
    ids=[
        "identity",
        "strongest",
        "wordlist",
        "toxicity-only",
        "language",
        "no-model",
        "none",
        "no-score",
    ],
)
def test_the_strongest_specific_category_is_preselected(reasons, expected):
    assert default_reason(SimpleNamespace(reasons=tuple(reasons))) == expected
