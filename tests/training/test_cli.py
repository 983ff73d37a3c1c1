"""`python -m training`: train and evaluate through the CLI, and its refusals of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moderator.classifier import Classifier
from moderator.policy import CATEGORIES
from moderator.policy import Category
from moderator.text import normalise
from training.cli import cli

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fixture_data_dir) -> tuple[Path, Path, str]:
    """Train once on the fixture data, with an --extra file; (model dir, data dir, stdout)."""
    data = fixture_data_dir
    out = tmp_path_factory.mktemp("train") / "models" / "tiny"
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--data-dir",
            str(data),
            "--out",
            str(out),
            "--extra",
            str(FIXTURES / "train_extra.csv"),
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    return out, data, result.stdout


def test_train_writes_the_artifact(trained):
    out, _, stdout = trained
    for name in ("model.joblib", "model.json", "MODEL_CARD.md", "report/roc.png", "report/pr.png"):
        assert (out / name).is_file(), name
    assert (out / "model.joblib").stat().st_size < 25_000_000
    meta = json.loads((out / "model.json").read_text())
    assert meta["name"] == "tiny"
    assert set(meta["thresholds"]) == {str(c) for c in CATEGORIES}
    assert meta["versions"]["scikit-learn"]
    assert "olid/olid_train.csv" in meta["data"] and len(meta["data"]["olid/olid_train.csv"]) == 64
    assert "extra/train_extra.csv" in meta["data"]
    assert meta["label_mapping"]["olid"]["C=GRP"].startswith("identity_attack 1")
    assert meta["training"]["seed"] == 3
    # Every category has both classes among the validation rows: Platt is fitted there.
    assert meta["training"]["calibration_folds"] == 0
    # English keeps its seeded validation split (folds are for the other languages).
    assert meta["training"]["validation_share"] == 0.1
    assert "folds" not in meta["training"] and "cross_validation" not in meta["training"]
    assert sum(c.get("validation", 0) for c in meta["training"]["rows"].values()) > 0
    assert meta["threshold_rule"].startswith("chosen on a seeded validation split")
    assert "pooled" in meta["metrics"] and "neutral_identity" in meta["metrics"]
    assert "OLID subtask A official test" in stdout
    card = (out / "MODEL_CARD.md").read_text()
    for heading in ("## Data", "## Label mapping", "## Metrics", "## Bias", "## Known limits"):
        assert heading in card
    assert "--extra" in card and "--seed 3" in card


def test_trained_model_loads_and_scores_in_the_right_direction(trained):
    classifier = Classifier.load(trained[0])
    dirty, clean = classifier.score(
        [normalise("what the fuck is this shit"), normalise("the library opens at nine")]
    )
    assert dirty["obscene"] > clean["obscene"]
    assert dirty["toxicity"] > clean["toxicity"]
    texts = [normalise(t) for t in ("i will stab you", "thanks for sharing", "", "you m0r0n")]
    expected = classifier.pipeline.predict_proba(texts)
    columns = [list(classifier.pipeline.classes_).index(str(c)) for c in CATEGORIES]
    got = np.array([[s[str(c)] for c in CATEGORIES] for s in classifier.score(texts)])
    np.testing.assert_allclose(got, expected[:, columns], atol=1e-6, rtol=0)
    original = "shut up you m0r0n"
    words, spans = classifier.explain(original, Category.INSULT)
    assert words and all(original[s:e] == w for w, (s, e) in zip(words, spans, strict=True))
    assert classifier.explain("  m0r0n!!", Category.INSULT) == (["m0r0n"], [(2, 7)])


def test_training_is_deterministic(trained, tmp_path):
    out, data, _ = trained
    again = tmp_path / "again"
    args = ["train", "--data-dir", str(data), "--out", str(again), "--seed", "3"]
    args += ["--extra", str(FIXTURES / "train_extra.csv")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    first, second = Classifier.load(out), Classifier.load(again)
    texts = [normalise(t) for t in ("you idiot", "lovely day", "i will kill you")]
    assert first.score(texts) == second.score(texts)
    assert first.thresholds == second.thresholds
    assert (out / "model.joblib").read_bytes() == (again / "model.joblib").read_bytes()


def test_evaluate_prints_the_metrics(trained):
    out, data, _ = trained
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert f"model tiny@{Classifier.load(out).version}" in result.stdout
    assert "OLID subtask A official test: macro-F1" in result.stdout
    assert "Davidson held-out 3-class" in result.stdout
    as_json = CliRunner().invoke(
        cli, ["evaluate", "--model", str(out), "--data-dir", str(data), "--json"]
    )
    assert json.loads(as_json.stdout)["pooled"]["toxicity"]["n"] > 0


def test_data_dir_comes_from_the_environment(trained):
    out, data, _ = trained
    result = CliRunner().invoke(
        cli, ["evaluate", "--model", str(out)], env={"MODERATOR_DATA_DIR": str(data)}
    )
    assert result.exit_code == 0, result.output


def _one_line_error(result, needle: str) -> None:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error:"), result.output
    assert needle in lines[-1], result.output


def test_train_calibrates_by_cross_validation_when_validation_lacks_a_class(data_dir, tmp_path):
    # Without the datasets' threats, the only threat positives are our templates, which
    # never go to validation: validation has no threat positive to fit a sigmoid on.
    ghc = data_dir / "gab_hate_corpus" / "ghc_train.tsv"
    lines = ghc.read_text(encoding="utf-8").splitlines()
    ghc.write_text("\n".join(row for row in lines if row.split("\t")[2:3] != ["1"]) + "\n")
    edos = data_dir / "edos" / "edos_labelled_aggregated.csv"
    lines = edos.read_text(encoding="utf-8").splitlines()
    edos.write_text("\n".join(row for row in lines if "1. threats" not in row) + "\n")
    out = tmp_path / "models" / "cv"
    result = CliRunner().invoke(cli, ["train", "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["training"]["calibration_folds"] == 3
    assert "3-fold out-of-fold" in (out / "MODEL_CARD.md").read_text()


def test_train_refuses_a_missing_data_dir(tmp_path):
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]
    )
    _one_line_error(result, "does not exist")


def test_train_refuses_a_data_dir_that_is_a_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text\n")
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(path), "--out", str(tmp_path / "m")]
    )
    _one_line_error(result, "is not a directory")


def test_train_refuses_a_negative_seed(data_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m"), "--seed", "-1"]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--seed" in result.output


def test_train_refuses_a_data_dir_missing_files(data_dir, tmp_path):
    (data_dir / "edos" / "edos_labelled_aggregated.csv").unlink()
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m")]
    )
    _one_line_error(result, "edos/edos_labelled_aggregated.csv")


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"\xff\xfe\x00garbage", "cannot read"),
        (b"id,tweet\n1,hello\n", "lacks column(s) subtask_a"),
        (b"id,tweet,subtask_a,subtask_b,subtask_c\n1,hi,MAYBE,NULL,NULL\n", "MAYBE"),
        (b"", "no data rows"),
    ],
)
def test_train_refuses_an_unreadable_csv(data_dir, tmp_path, content, needle):
    (data_dir / "olid" / "olid_train.csv").write_bytes(content)
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m")]
    )
    _one_line_error(result, needle)


@pytest.mark.parametrize(
    "content, needle",
    [
        ("comment,toxicity\nhi,1\n", "lacks the text column"),
        ("text,spam\nhi,1\n", "no category column"),
        ("text,toxicity,colour\nhi,1,red\n", "unknown column(s) colour"),
        ("text,toxicity\nhi,maybe\n", "must be 1, 0 or empty"),
        ("text,toxicity\n,1\n", "empty text"),
        ("", "no data rows"),
    ],
)
def test_train_refuses_bad_extra_columns(data_dir, tmp_path, content, needle):
    extra = tmp_path / "extra.csv"
    extra.write_text(content)
    result = CliRunner().invoke(
        cli,
        ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m"), "--extra", str(extra)],
    )
    _one_line_error(result, needle)


def test_train_refuses_a_missing_extra_file(data_dir, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["train", "--data-dir", str(data_dir), "--out", str(tmp_path / "m"), "--extra", "nope.csv"],
    )
    _one_line_error(result, "nope.csv does not exist")


def test_train_refuses_an_unwritable_out(data_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(data_dir), "--out", str(blocker / "model")]
    )
    _one_line_error(result, "cannot write to")


def test_evaluate_refuses_a_missing_model(data_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["evaluate", "--model", str(tmp_path / "none"), "--data-dir", str(data_dir)]
    )
    _one_line_error(result, "does not exist")


def test_python_dash_m_training_help():
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout and "evaluate" in result.stdout
