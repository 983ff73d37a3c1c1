"""Out-of-fold choices for a language other than English (training/folds.py, `train --folds`).

The Turkish data is written here in OffensEval 2020's file layout with our own sentences and
some deliberately wrong labels (so that thresholds are not trivial); the shared data is never
copied into the project.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moderator.text import normalise
from training.cli import cli
from training.datasets import TEST
from training.datasets import TRAIN
from training.datasets import Example
from training.datasets import load_language
from training.datasets import sample_weights
from training.datasets.base import labels as label_tuple
from training.evaluate import NAMES
from training.evaluate import best_macro_f1_threshold
from training.evaluate import choose_thresholds
from training.folds import assign_folds
from training.folds import out_of_fold
from training.pipeline import LANGUAGE_PARAMS

KIND = ["güzel bir gün", "teşekkür ederim", "harika bir maç", "çok iyi bir kitap", "merhaba"]
RUDE = ["sen aptalsın", "salak herif", "gerizekalı adam", "defol git aptal", "sus salak"]
TRAIN_ROWS = 100  # every seventh label wrong: 51 OFF, 49 NOT
TEST_ROWS = 20


def _rows(start: int, count: int) -> list[tuple[str, str, str]]:
    out = []
    for n in range(count):
        rude = n % 2 == 1
        text = f"{(RUDE if rude else KIND)[(n // 2) % 5]} {n // 10} sayı {start + n}"
        label = "OFF" if rude != (n % 7 == 0) else "NOT"
        out.append((str(start + n), text, label))
    return out


def _write(root: Path, flip_test: bool = False) -> Path:
    base = root / "multilingual" / "tr_offenseval2020"
    base.mkdir(parents=True)
    train, test = _rows(1000, TRAIN_ROWS), _rows(5000, TEST_ROWS)
    (base / "offenseval-tr-training-v1.tsv").write_text(
        "".join(f"{i}\t{t}\t{y}\n" for i, t, y in train), encoding="utf-8"
    )
    (base / "offenseval-tr-testset-v1.tsv").write_text(
        "".join(f"{i}\t{t}\n" for i, t, _ in test), encoding="utf-8"
    )
    flip = {"OFF": "NOT", "NOT": "OFF"}
    (base / "offenseval-tr-labela-v1.tsv").write_text(
        "".join(f"{i},{flip[y] if flip_test else y}\n" for i, _, y in test), encoding="utf-8"
    )
    return root


def _train(data: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        cli,
        ["train", "--data-dir", str(data), "--language", "tr", "--out", str(out), *extra],
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("tr"))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("models") / "tr"
    result = _train(data, out)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_every_training_row_is_in_one_stratified_fold_and_no_test_row_in_any(data):
    examples = load_language(data, "tr")
    fold = assign_folds(examples, 5, seed=0)
    train = np.array([e.split == TRAIN for e in examples])
    assert train.sum() == TRAIN_ROWS and (~train).sum() == TEST_ROWS
    assert set(fold[train].tolist()) == {0, 1, 2, 3, 4}
    assert (fold[~train] == -1).all()
    toxic = np.array([e.labels[0] == 1 for e in examples]) & train
    assert toxic.sum() == 51
    for f in range(5):
        # 100 rows, 51 OFF: 20 per fold, 10 or 11 of them OFF.
        assert (fold == f).sum() == 20
        assert (toxic & (fold == f)).sum() in (10, 11)
    assert (assign_folds(examples, 5, seed=0) == fold).all()
    assert not (assign_folds(examples, 5, seed=1) == fold).all()


def test_a_counterfactual_copy_is_held_out_with_its_original():
    rows = [Example(f"text {n}", label_tuple(toxicity=n % 2), "src", TRAIN) for n in range(20)] + [
        Example("the test", label_tuple(toxicity=1), "src", TEST)
    ]
    rows += [
        Example(f"copy of {n}", rows[n].labels, "counterfactual", TRAIN, {"counterfactual_of": n})
        for n in range(0, 20, 3)
    ]
    fold = assign_folds(rows, 4, seed=0)
    for i, e in enumerate(rows):
        if "counterfactual_of" in e.meta:
            assert fold[i] == fold[e.meta["counterfactual_of"]]
    assert fold[20] == -1


@pytest.mark.parametrize(("count", "k"), [(3, 5), (10, 1), (10, 0)])
def test_too_few_rows_or_folds_are_refused(count, k):
    rows = [Example(f"t {n}", label_tuple(toxicity=n % 2), "s", TRAIN) for n in range(count)]
    with pytest.raises(ValueError, match="fold"):
        assign_folds(rows, k, seed=0)


def test_thresholds_come_from_out_of_fold_scores_of_every_training_row(trained, data):
    out, _ = trained
    meta = json.loads((out / "model.json").read_text())
    t = meta["training"]
    assert t["validation"] == f"5-fold out-of-fold scores over all {TRAIN_ROWS} training rows"
    assert "validation_share" not in t
    assert sum(t["folds"]["held_out_rows"]) == TRAIN_ROWS and t["folds"]["k"] == 5
    assert t["rows"] == {"offenseval_tr": {"train": TRAIN_ROWS, "test": TEST_ROWS}}
    # The final model is fitted on every training row.
    assert t["labelled"]["toxicity"] == [TRAIN_ROWS, 51]
    assert t["cross_validation"]["toxicity_rows"] == TRAIN_ROWS
    assert meta["threshold_rule"].startswith("chosen on 5-fold out-of-fold scores over all 100")

    # The same choices, recomputed from the out-of-fold scores of all training rows.
    examples = load_language(data, "tr")
    normalised = [normalise(e.text, "tr") for e in examples]
    labels = np.array([e.labels for e in examples], dtype=float)[:, [NAMES.index("toxicity")]]
    fold = assign_folds(examples, 5, seed=0)
    oof = out_of_fold(
        examples,
        normalised,
        labels,
        sample_weights(examples, normalised),
        fold,
        ["toxicity"],
        LANGUAGE_PARAMS["tr"],
        "tr",
        0,
    )
    assert oof.rows == [i for i, e in enumerate(examples) if e.split == TRAIN]
    assert not np.isnan(oof.sentences).any() and not np.isnan(oof.whole).any()
    probs = oof.sentences if meta["decision"]["sentences"] else oof.whole
    y = labels[oof.rows]
    assert meta["thresholds"] == choose_thresholds(y, probs, ["toxicity"])
    expected = best_macro_f1_threshold(y[:, 0].astype(int), probs[:, 0])
    assert meta["operating_points"]["toxicity_macro_f1"] == expected
    assert meta["metrics"]["official_test"]["threshold"] == expected


def test_the_official_test_labels_change_only_the_test_figures(trained, tmp_path):
    out, _ = trained
    flipped = _write(tmp_path / "flipped", flip_test=True)
    other = tmp_path / "models" / "tr"
    result = _train(flipped, other)
    assert result.exit_code == 0, result.output
    a = json.loads((out / "model.json").read_text())
    b = json.loads((other / "model.json").read_text())
    digest = [hashlib.sha256((d / "model.joblib").read_bytes()).hexdigest() for d in (out, other)]
    assert digest[0] == digest[1] == a["model_sha256"] == b["model_sha256"]
    for key in ("thresholds", "operating_points", "decision"):
        assert a[key] == b[key], key
    assert a["training"]["cross_validation"] == b["training"]["cross_validation"]
    auc = a["metrics"]["official_test"]["auc"], b["metrics"]["official_test"]["auc"]
    assert math.isclose(auc[0] + auc[1], 1.0, abs_tol=1e-3) and auc[0] != auc[1]


def test_training_reports_progress_per_fold(trained):
    _, output = trained
    for f in range(1, 6):
        assert f"fold {f}/5: fitting on 80 rows, scoring 20 held-out rows" in output
        assert f"fold {f}/5: done in" in output
    assert "fitting the final model on all 100 training rows" in output
    assert "out-of-fold toxicity AUC" in output


def test_the_card_says_what_the_choices_were_made_on(trained):
    out, _ = trained
    card = (out / "MODEL_CARD.md").read_text()
    assert "from out-of-fold scores" in card
    assert "Out of fold (5-fold out-of-fold scores over all 100 training rows" in card
    assert "Platt scaling fitted on 5-fold out-of-fold decision values" in card
    assert "validation rows |" not in card
    assert "--folds" not in card  # the default is not repeated in the recorded command


def test_folds_zero_keeps_the_validation_split(data, tmp_path):
    out = tmp_path / "tr"
    result = _train(data, out, "--folds", "0")
    assert result.exit_code == 0, result.output
    assert "fold 1/" not in result.output
    t = json.loads((out / "model.json").read_text())["training"]
    assert t["validation_share"] == 0.1
    assert "folds" not in t and "cross_validation" not in t and "validation_brier" in t
    assert t["rows"]["offenseval_tr"]["validation"] == 10
    assert t["command"].endswith("--seed 0 --folds 0")


def test_three_folds_are_recorded_in_the_command(data, tmp_path):
    out = tmp_path / "tr"
    result = _train(data, out, "--folds", "3")
    assert result.exit_code == 0, result.output
    assert "fold 3/3" in result.output and "fold 4/" not in result.output
    t = json.loads((out / "model.json").read_text())["training"]
    assert t["folds"]["k"] == 3 and len(t["folds"]["held_out_rows"]) == 3
    assert t["command"].endswith("--folds 3")


@pytest.mark.parametrize("value", ["1", "-1", "21", "five", ""])
def test_a_bad_folds_value_is_refused_before_anything_is_read(value, tmp_path):
    result = _train(tmp_path / "no-data", tmp_path / "m", "--folds", value)
    assert result.exit_code == 2, result.output
    assert "--folds" in result.output
    assert not (tmp_path / "m").exists()


def test_english_refuses_folds(fixture_data_dir, tmp_path):
    out = str(tmp_path / "m")
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(fixture_data_dir), "--out", out, "--folds", "5"]
    )
    assert result.exit_code == 2
    assert "English uses its validation split" in result.output


def test_too_few_training_rows_for_the_folds_is_a_clear_error(tmp_path):
    data = _write(tmp_path / "d")
    path = data / "multilingual" / "tr_offenseval2020" / "offenseval-tr-training-v1.tsv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:4]))
    result = _train(data, tmp_path / "m", "--folds", "5")
    assert result.exit_code == 1
    assert "cannot train" in result.output
    assert not (tmp_path / "m").exists()
