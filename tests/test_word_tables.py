"""The innocent and abusive sentence tables, through the word rules alone and the full decision.

training/eval/innocent_words.tsv (training.evalsets): names, places, animals, idioms,
medicine, history, crime reports and sport that contain (or look like) list words. tests/fixtures/
word_rules_abusive.tsv: profane and abusive comments, plain and disguised. Both are our own text.
bench/bench_rules.py reports the same figures for the README.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from moderator.policy import Action
from moderator.policy import ListKind
from moderator.rules import WORDLIST_ACTIONS
from moderator.rules import policy_wordlist
from training.evalsets import innocent_word_rows

FIXTURES = Path(__file__).parent / "fixtures"
MODEL = Path(__file__).resolve().parents[1] / "models" / "default"

#: The most innocent sentences the word rules alone may hold (measured: 5 of 215, 2.3%).
RULES_MAX_HELD_INNOCENT = 0.03
#: The least share of abusive sentences the word rules alone must flag (measured: 203 of 204).
RULES_MIN_FLAGGED_ABUSIVE = 0.95
#: Issue 8's targets for the full decision with the shipped model.
FULL_MAX_HELD_INNOCENT = 0.05
FULL_MIN_FLAGGED_ABUSIVE = 0.95

THEMES = {"person", "place", "animal", "idiom", "medicine", "history", "crime", "sport", "everyday"}
FORMS = {"plain", "slur", "disguised", "context"}


def load_table(name: str) -> list[tuple[str, str]]:
    """(label, sentence) rows; `\\uXXXX` in a sentence stands for that character."""
    rows = []
    for line in (FIXTURES / name).read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            label, text = line.split("\t")
            rows.append((label, text.encode("ascii").decode("unicode_escape")))
    return rows


INNOCENT = innocent_word_rows()
ABUSIVE = load_table("word_rules_abusive.tsv")


def test_tables_are_big_enough_and_cover_every_theme():
    assert len(INNOCENT) >= 150 and len(ABUSIVE) >= 150
    assert {theme for theme, _ in INNOCENT} == THEMES
    assert {form for form, _ in ABUSIVE} == FORMS
    sentences = [text for _, text in INNOCENT + ABUSIVE]
    assert len(sentences) == len(set(sentences))
    assert sum(form == "disguised" for form, _ in ABUSIVE) >= 50


# -- the word rules alone -------------------------------------------------------------------


@pytest.mark.parametrize("action", WORDLIST_ACTIONS)
def test_word_rules_never_reject_an_innocent_sentence(action):
    wordlist = policy_wordlist(action)
    rejected = [
        t for _, t in INNOCENT if any(h.kind is ListKind.BLOCK for h in wordlist.check_comment(t))
    ]
    assert rejected == []


def test_word_rules_hold_few_innocent_sentences():
    held = [t for _, t in INNOCENT if policy_wordlist().check_comment(t)]
    assert len(held) / len(INNOCENT) <= RULES_MAX_HELD_INNOCENT, held


@pytest.mark.parametrize("action", WORDLIST_ACTIONS)
def test_word_rules_flag_the_abusive_table(action):
    missed = [t for _, t in ABUSIVE if not policy_wordlist(action).check_comment(t)]
    assert 1 - len(missed) / len(ABUSIVE) >= RULES_MIN_FLAGGED_ABUSIVE, missed


def test_under_wordlist_action_hold_the_default_list_rejects_nothing():
    kinds = {h.kind for _, t in ABUSIVE for h in policy_wordlist("hold").check_comment(t)}
    assert kinds == {ListKind.SUSPECT}
    kinds = {h.kind for _, t in ABUSIVE for h in policy_wordlist("reject").check_comment(t)}
    assert kinds == {ListKind.SUSPECT, ListKind.BLOCK}


# -- the full decision with the shipped model -----------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    from moderator.classifier import Classifier
    from moderator.service import Moderation

    return Moderation(Classifier.load(MODEL))


def actions(moderation, rows, action: str = "reject") -> dict[str, Action]:
    site = moderation.site_rules(wordlist_action=action)
    texts = [t for _, t in rows]
    return {t: d.action for t, d in zip(texts, moderation.decide_batch(texts, site), strict=True)}


@pytest.mark.parametrize("action", WORDLIST_ACTIONS)
def test_full_decision_never_rejects_an_innocent_sentence(shipped, action):
    decided = actions(shipped, INNOCENT, action)
    assert [t for t, a in decided.items() if a is Action.REJECT] == []


def test_full_decision_holds_few_innocent_sentences(shipped):
    decided = actions(shipped, INNOCENT)
    held = [t for t, a in decided.items() if a is not Action.ALLOW]
    assert len(held) / len(INNOCENT) <= FULL_MAX_HELD_INNOCENT, held


@pytest.mark.parametrize("action", WORDLIST_ACTIONS)
def test_full_decision_flags_the_abusive_table(shipped, action):
    decided = actions(shipped, ABUSIVE, action)
    counts = Counter(decided.values())
    missed = [t for t, a in decided.items() if a is Action.ALLOW]
    assert 1 - counts[Action.ALLOW] / len(ABUSIVE) >= FULL_MIN_FLAGGED_ABUSIVE, missed
