"""bench_decisions' pure parts: flags, per-axis rates, contrast figures, word-rule tables."""

from __future__ import annotations

import pytest

from moderator.policy import Action
from moderator.policy import Category
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source
from training.evalsets import ContrastRow


@pytest.fixture(scope="module")
def decisions(load_bench):
    return load_bench("bench_decisions")


def made(action: Action, *categories: str) -> Decision:
    return Decision(action, {}, tuple(Reason(c, 0.9, Source.CLASSIFIER) for c in categories))


def test_held_and_rejected_are_flagged_allowed_is_not(decisions):
    assert decisions.flagged(made(Action.HOLD))
    assert decisions.flagged(made(Action.REJECT))
    assert not decisions.flagged(made(Action.ALLOW))


def test_neutral_figures_give_overall_per_axis_and_worst_term_rates(decisions):
    axes = ["religion", "religion", "religion", "gender"]
    terms = ["Sikhs", "Sikhs", "Jains", "women"]
    got = decisions.neutral_figures(axes, terms, [True, False, False, False])
    assert got["n"] == 4 and got["flagged"] == 1 and got["rate"] == 0.25
    assert got["per_axis"]["religion"] == {"n": 3, "flagged": 1, "rate": pytest.approx(1 / 3)}
    assert got["per_axis"]["gender"]["rate"] == 0.0
    assert got["per_axis"]["caste"] == {"n": 0, "flagged": 0, "rate": None}
    assert got["axis_macro_rate"] == pytest.approx((1 / 3 + 0) / 2)
    assert got["worst_terms"][0] == {"term": "Sikhs", "n": 2, "flagged": 1, "rate": 0.5}


def test_contrast_figures_count_accuracy_recall_pass_rate_and_category(decisions):
    rows = [
        ContrastRow("a", "flag", Category.INSULT),
        ContrastRow("b", "flag", Category.THREAT),
        ContrastRow("c", "allow", None),
        ContrastRow("d", "allow", None),
    ]
    flags = [True, True, True, False]
    got = decisions.contrast_figures(rows, flags, [{"insult"}, {"toxicity"}, {"insult"}, set()])
    assert got["accuracy"] == 0.75
    assert got["flag_recall"] == 1.0 and got["allow_pass_rate"] == 0.5
    assert got["category_accuracy"] == 0.5, "b was flagged, but not as a threat"
    assert "category_accuracy" not in decisions.contrast_figures(rows, flags)


def test_table_texts_skip_comments_and_take_the_last_tab_field(decisions, tmp_path):
    path = tmp_path / "innocent_names.txt"
    path.write_text("# names\n\nMoby Dick is long.\nname\tDick Van Dyke sang.\n", "utf-8")
    assert decisions.table_texts(path) == ["Moby Dick is long.", "Dick Van Dyke sang."]


def test_table_figures_count_rejects_holds_and_alt_flags(decisions):
    got = decisions.table_figures(
        [made(Action.REJECT), made(Action.HOLD), made(Action.ALLOW), made(Action.ALLOW)],
        [0.9, 0.1, 0.5, 0.2],
    )
    assert got["rejected"] == 1 and got["held"] == 1
    assert got["hold_rate"] == 0.25 and got["flag_rate"] == 0.5
    assert got["alt_profanity_check_flag_rate"] == 0.5
