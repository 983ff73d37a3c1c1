"""The serving artifact (serving.npz): written at training, used at load, never trusted blindly."""

from __future__ import annotations

import shutil
from pathlib import Path

import joblib
import pytest
from click.testing import CliRunner

from moderator.classifier import Classifier
from moderator.classifier import artifact
from moderator.text import normalise
from training.cli import cli as training_cli

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p for p in (ROOT / "models").iterdir() if (p / "model.joblib").is_file())
TEXTS = [
    "thanks for the article, very helpful",
    "you are a stupid idiot",
    "what the fuck is this shit",
    "i will kill you and your family",
    "Ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ",
    "",
    "idiot idiot idiot moron",
    "a" * 300,
]


@pytest.fixture
def model_copy(model_path, tmp_path) -> Path:
    if not (model_path / "model.joblib").is_file():
        pytest.skip("tests/fixtures training data not present")
    target = tmp_path / "model"
    shutil.copytree(model_path, target)
    return target


def _scores(clf: Classifier):
    texts = [normalise(t) for t in TEXTS]
    return clf.score(texts), [clf.score_one(t) for t in texts]


def test_training_writes_the_artifact_and_load_uses_it(model_copy):
    assert (model_copy / artifact.SERVING_FILE).is_file()
    clf = Classifier.load(model_copy)
    assert clf._pipeline is None  # served from serving.npz, model.joblib not unpickled


def test_the_artifact_scores_and_explains_exactly_like_the_pipeline(model_copy):
    served = Classifier.load(model_copy)
    compiled = Classifier(served.pipeline, served.metadata)  # unpickled on demand
    assert _scores(served) == _scores(compiled)
    for text in TEXTS:
        for category in served.categories:
            assert served.explain(text, category) == compiled.explain(text, category)


def _assert_falls_back(directory: Path, expected) -> None:
    clf = Classifier.load(directory)
    assert clf._pipeline is not None  # compiled from model.joblib instead
    assert _scores(clf) == expected


def test_an_artifact_of_another_model_joblib_is_ignored(model_copy):
    expected = _scores(Classifier.load(model_copy))
    # The same pipeline written again with other compression: other bytes, other sha256.
    joblib.dump(joblib.load(model_copy / "model.joblib"), model_copy / "model.joblib", compress=1)
    _assert_falls_back(model_copy, expected)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / artifact.SERVING_FILE).write_bytes(b"garbage"),
        lambda d: (d / artifact.SERVING_FILE).write_bytes(b""),
        lambda d: (d / artifact.SERVING_FILE).write_bytes(
            (d / artifact.SERVING_FILE).read_bytes()[:5000]
        ),
        lambda d: ((d / artifact.SERVING_FILE).unlink(), (d / artifact.SERVING_FILE).mkdir()),
        lambda d: (d / artifact.SERVING_FILE).unlink(),
    ],
    ids=["garbage", "empty", "truncated", "directory", "missing"],
)
def test_a_damaged_artifact_costs_time_never_a_score(model_copy, damage):
    expected = _scores(Classifier.load(model_copy))
    damage(model_copy)
    _assert_falls_back(model_copy, expected)


def test_an_artifact_missing_an_array_is_ignored(model_copy):
    expected = _scores(Classifier.load(model_copy))
    digest = artifact.file_sha256(model_copy / "model.joblib")
    compiled = artifact.load(model_copy, digest)
    del compiled["arrays"]["coef"]
    artifact.save(model_copy, compiled, digest)
    _assert_falls_back(model_copy, expected)


def test_an_artifact_of_another_format_is_ignored(model_copy, monkeypatch):
    expected = _scores(Classifier.load(model_copy))
    monkeypatch.setattr(artifact, "FORMAT", artifact.FORMAT + 1)
    _assert_falls_back(model_copy, expected)


def test_compile_rebuilds_the_same_bytes_and_leaves_the_model_alone(model_copy):
    joblib_bytes = (model_copy / "model.joblib").read_bytes()
    json_bytes = (model_copy / "model.json").read_bytes()
    written = (model_copy / artifact.SERVING_FILE).read_bytes()
    (model_copy / artifact.SERVING_FILE).unlink()
    result = CliRunner().invoke(training_cli, ["compile", str(model_copy)])
    assert result.exit_code == 0, result.output
    assert f"wrote {model_copy / artifact.SERVING_FILE}" in result.output
    assert (model_copy / artifact.SERVING_FILE).read_bytes() == written
    assert (model_copy / "model.joblib").read_bytes() == joblib_bytes
    assert (model_copy / "model.json").read_bytes() == json_bytes
    assert Classifier.load(model_copy)._pipeline is None


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: (d / "model.joblib").unlink(), "lacks model.joblib"),
        (lambda d: (d / "model.joblib").write_bytes(b"not a pickle"), "cannot load"),
        (lambda d: joblib.dump({"a": 1}, d / "model.joblib"), "not a Moderator pipeline"),
    ],
)
def test_compile_refuses_a_bad_model_in_one_line(model_copy, setup, message):
    setup(model_copy)
    result = CliRunner().invoke(training_cli, ["compile", str(model_copy)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_compile_needs_a_directory():
    result = CliRunner().invoke(training_cli, ["compile"])
    assert result.exit_code == 2


@pytest.mark.parametrize("model_dir", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_model_has_its_current_artifact(model_dir):
    # A retrained or updated model must ship its serving.npz too (python -m training compile).
    digest = artifact.file_sha256(model_dir / "model.joblib")
    assert artifact.load(model_dir, digest) is not None
