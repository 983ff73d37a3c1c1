"""Classifier: loading, the fast scoring path, explanations, refusals."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from moderator.classifier import Classifier
from moderator.classifier import ModelLoadError
from moderator.policy import CATEGORIES
from moderator.policy import Category
from moderator.policy import Threshold
from moderator.text import normalise
from training import artifacts
from training.evalsets import neutral_identity
from training.pipeline import build_pipeline
from training.pipeline import slim

NAN = math.nan
NEUTRAL = [
    "the weather is lovely today",
    "i made soup for dinner",
    "our team won the match on sunday",
    "thanks for sharing the article",
    "the library opens at nine",
    "we watched a film last night",
    "my cat sleeps all afternoon",
    "the meeting moved to thursday",
]
OBSCENE = ["what the fuck is this shit", "this is fucking ridiculous", "holy shit that was loud"]
INSULT = ["you are a stupid idiot", "shut up you moron", "what an idiot you are"]
IDENTITY = ["those immigrants are vermin", "all muslims are terrorists", "jews are parasites"]
THREAT = ["i will kill you", "someone should shoot them all", "i will stab you"]


def _rows():
    # toxicity, obscene, insult, identity_attack, threat; NaN = unlabelled
    rows = []
    for suffix in ("", " today", " again", " for real"):
        rows += [(t + suffix, (0, 0, 0, 0, 0)) for t in NEUTRAL]
        rows += [(t + suffix, (1, 1, 0, 0, NAN)) for t in OBSCENE]
        rows += [(t + suffix, (1, NAN, 1, 0, NAN)) for t in INSULT]
        rows += [(t + suffix, (1, NAN, NAN, 1, 0)) for t in IDENTITY]
        rows += [(t + suffix, (1, NAN, NAN, NAN, 1)) for t in THREAT]
    return rows


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A small model trained on the sentences above, written like `training train` does."""
    out = tmp_path_factory.mktemp("models") / "small"
    out.mkdir()
    rows = _rows()
    pipeline = build_pipeline(min_df=1)
    pipeline.fit([normalise(t) for t, _ in rows], np.array([y for _, y in rows], dtype=float))
    slim(pipeline)
    sha = artifacts.write_model(out, pipeline)
    thresholds = {str(c): {"hold": 0.5, "reject": 0.9} for c in CATEGORIES}
    meta = artifacts.metadata("small", sha, {}, thresholds, {}, {"seed": 0})
    artifacts.write_json(out, meta)
    return out


@pytest.fixture(scope="module")
def classifier(model_dir) -> Classifier:
    return Classifier.load(model_dir)


def _copy(model_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    target.mkdir()
    for name in ("model.joblib", "model.json"):
        (target / name).write_bytes((model_dir / name).read_bytes())
    return target


def test_load_reads_name_version_and_thresholds(classifier):
    assert classifier.name == "small"
    assert classifier.label() == f"small@{classifier.version}"
    assert classifier.version == classifier.metadata["version"]
    assert set(classifier.thresholds) == set(CATEGORIES)
    assert classifier.thresholds[Category.THREAT] == Threshold(hold=0.5, reject=0.9)


def test_score_gives_every_category_as_a_probability(classifier):
    scores = classifier.score(["you are a stupid idiot", "", "the weather is lovely"])
    assert len(scores) == 3
    for s in scores:
        assert list(s) == [str(c) for c in CATEGORIES]
        assert all(0.0 <= v <= 1.0 and isinstance(v, float) for v in s.values())
    assert classifier.score([]) == []


def test_score_refuses_a_bare_string(classifier):
    with pytest.raises(TypeError):
        classifier.score("one text")


@pytest.mark.parametrize("bad", [None, 3, b"bytes"])
def test_score_refuses_a_text_that_is_not_a_string(classifier, bad):
    with pytest.raises(TypeError):
        classifier.score(["fine", bad])
    with pytest.raises(TypeError):
        classifier.score_one(bad)


def test_scores_point_the_right_way(classifier):
    obscene, insult, threat, neutral = classifier.score(
        [
            normalise("What the FUCK is this sh1t"),
            normalise("shut up you m0r0n"),
            normalise("I will kill you"),
            normalise("We watched a film last night"),
        ]
    )
    assert obscene["obscene"] > neutral["obscene"] + 0.3
    assert insult["insult"] > neutral["insult"] + 0.3
    assert threat["threat"] > neutral["threat"] + 0.3
    assert neutral["toxicity"] < 0.5 < obscene["toxicity"]


FIXTURE_TEXTS = [
    *NEUTRAL,
    *OBSCENE,
    *INSULT,
    *IDENTITY,
    *THREAT,
    "",
    "   ",
    "zzz qqq unknown words only",
    "idiot idiot idiot idiot",
    "<script>alert('x')</script> you idiot",
    "Ｓｔｕｐｉｄ  ʏᴏᴜ 😀 مرحبا 你好",
    "shit " * 2000,
    "idiot\ue000you",  # the batch separator inside a text: the slow path must agree
    *neutral_identity()[::40],
]


def test_fast_path_equals_the_pipeline(classifier):
    texts = [normalise(t) for t in FIXTURE_TEXTS]
    expected = classifier.pipeline.predict_proba(texts)
    columns = [list(classifier.pipeline.classes_).index(str(c)) for c in CATEGORIES]
    batch = np.array([[s[str(c)] for c in CATEGORIES] for s in classifier.score(texts)])
    one = np.array([[classifier.score_one(t)[str(c)] for c in CATEGORIES] for t in texts])
    np.testing.assert_allclose(batch, expected[:, columns], atol=1e-6, rtol=0)
    np.testing.assert_allclose(one, expected[:, columns], atol=1e-6, rtol=0)


@pytest.mark.parametrize("sparse_from", [0, 10**9])
def test_counting_a_batch_both_ways_gives_the_same_bits(classifier, monkeypatch, sparse_from):
    # SPARSE_FROM=0 counts every batch with scipy's CSR routines, 10**9 none: the scores must
    # be equal to the last bit (both add each text's features in the same order) and match
    # the pipeline.
    from moderator.classifier import features

    texts = [normalise(t) for t in FIXTURE_TEXTS] * 3
    monkeypatch.setattr(features, "SPARSE_FROM", 10**9)
    reference = classifier.score(texts)
    monkeypatch.setattr(features, "SPARSE_FROM", sparse_from)
    assert classifier.score(texts) == reference
    expected = classifier.pipeline.predict_proba(texts)
    columns = [list(classifier.pipeline.classes_).index(str(c)) for c in CATEGORIES]
    batch = np.array([[s[str(c)] for c in CATEGORIES] for s in classifier.score(texts)])
    np.testing.assert_allclose(batch, expected[:, columns], atol=1e-6, rtol=0)


def test_scoring_a_small_batch_does_not_import_scipy():
    # scipy.sparse costs 0.3 s of start-up; only a large batch needs it. The shipped model
    # loads from serving.npz, without unpickling (which imports scikit-learn and scipy).
    shipped = Path(__file__).resolve().parents[1] / "models" / "default"
    code = (
        "import sys\n"
        "from moderator.classifier import Classifier\n"
        f"clf = Classifier.load({str(shipped)!r})\n"
        "clf.score(['you idiot', 'thanks a lot', 'have a nice day', 'shut up', 'ok', 'hm'])\n"
        "clf.score_one('you idiot')\n"
        "assert 'scipy.sparse' not in sys.modules, 'scipy.sparse imported'\n"
        "from moderator.classifier import features\n"
        "features.SPARSE_FROM = 1\n"
        "clf.score(['you idiot', 'thanks a lot', 'have a nice day', 'shut up', 'ok', 'hm'])\n"
        "assert 'scipy.sparse' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_fast_path_stays_exact_when_the_word_cache_overflows(model_dir, monkeypatch):
    from moderator.classifier import counting

    monkeypatch.setattr(counting, "_GRAM_CACHE_SIZE", 3)
    fresh = Classifier.load(model_dir)
    texts = [normalise(t) for t in FIXTURE_TEXTS]
    expected = fresh.pipeline.predict_proba(texts)
    columns = [list(fresh.pipeline.classes_).index(str(c)) for c in CATEGORIES]
    batch = np.array([[s[str(c)] for c in CATEGORIES] for s in fresh.score(texts)])
    np.testing.assert_allclose(batch, expected[:, columns], atol=1e-6, rtol=0)
    assert len(fresh._gram_cache) <= 3


def test_explain_credits_character_n_grams_to_an_unseen_spelling(classifier):
    # "idiots" is no training word; only its character n-grams carry the insult.
    assert (
        "idiots"
        not in classifier.pipeline.named_steps["features"].transformer_list[0][1].vocabulary_
    )
    words, _ = classifier.explain("you idiots", Category.INSULT)
    assert words == ["idiots"]


def test_explain_points_at_the_original_characters(classifier):
    original = "Honestly, you are a STUPID idiot!!"
    words, spans = classifier.explain(original, Category.INSULT)
    assert words, "an insult should be explained"
    assert all(original[s:e] == w for w, (s, e) in zip(words, spans, strict=True))
    assert {"STUPID", "idiot"} & set(words)
    assert "Honestly" not in words


def test_explain_maps_an_obfuscated_word_back_to_its_disguise(classifier):
    original = "<b>shut</b> up you m0r0n"
    words, spans = classifier.explain(original, Category.INSULT)
    assert "m0r0n" in words
    s, e = spans[words.index("m0r0n")]
    assert original[s:e] == "m0r0n"


def test_explain_lists_every_occurrence_and_respects_top(classifier):
    original = "idiot, you idiot"
    words, spans = classifier.explain(original, Category.INSULT)
    assert spans.count((0, 5)) == 1 and (11, 16) in spans
    assert classifier.explain(original, Category.INSULT, top=0) == ([], [])


def test_explain_gives_nothing_for_clean_or_empty_text(classifier):
    assert classifier.explain("we watched a film last night", Category.THREAT) == ([], [])
    assert classifier.explain("", Category.TOXICITY) == ([], [])


def test_explain_rejects_an_unknown_category(classifier):
    with pytest.raises(ValueError):
        classifier.explain("text", "spam")


def test_load_refuses_a_model_from_another_scikit_learn(model_dir, tmp_path):
    target = _copy(model_dir, tmp_path)
    meta = json.loads((target / "model.json").read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    (target / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="0.24.2.*retrain"):
        Classifier.load(target)


def test_load_turns_inconsistent_version_warning_into_refusal(model_dir, monkeypatch):
    import sklearn.base

    # What unpickling under a different scikit-learn looks like: the recorded version differs.
    monkeypatch.setattr(sklearn.base, "__version__", "0.0.1")
    with pytest.raises(ModelLoadError, match="pickled by scikit-learn .*retrain"):
        Classifier.load(model_dir)


def _swap_char_analyzer(model_dir: Path, analyzer: str) -> None:
    pipeline = joblib.load(model_dir / "model.joblib")
    pipeline.named_steps["features"].transformer_list[1][1].analyzer = analyzer
    joblib.dump(pipeline, model_dir / "model.joblib")


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "model.json").unlink(), "lacks model.json"),
        (lambda d: (d / "model.joblib").unlink(), "lacks model.joblib"),
        (lambda d: (d / "model.json").write_text("{not json"), "cannot read"),
        (lambda d: (d / "model.json").write_text("[1, 2]"), "not a JSON object"),
        (lambda d: (d / "model.joblib").write_bytes(b"garbage"), "cannot load"),
        (lambda d: joblib.dump({"not": "a pipeline"}, d / "model.joblib"), "not a Moderator"),
        (lambda d: _swap_char_analyzer(d, "char"), "options the fast path lacks"),
    ],
)
def test_load_refuses_a_damaged_model(model_dir, tmp_path, damage, message):
    target = _copy(model_dir, tmp_path)
    damage(target)
    with pytest.raises(ModelLoadError, match=message):
        Classifier.load(target)


def test_load_refuses_bad_thresholds(model_dir, tmp_path):
    target = _copy(model_dir, tmp_path)
    meta = json.loads((target / "model.json").read_text())
    meta["thresholds"]["toxicity"] = {"hold": 0.9, "reject": 0.1}
    (target / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="thresholds"):
        Classifier.load(target)


def test_load_refuses_a_missing_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Classifier.load(tmp_path / "nope")


@pytest.mark.parametrize("never", ["muslims", [1, 2], {"a": 1}])
def test_load_refuses_a_bad_never_list(model_dir, tmp_path, never):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["explain"]["never"] = never
    (copy / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="explain.never"):
        Classifier.load(copy)


def test_explanations_never_name_a_function_word_or_a_listed_group(model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["explain"]["never"] = ["idiot"]
    (copy / "model.json").write_text(json.dumps(meta))
    blinded = Classifier.load(copy)
    words, _ = blinded.explain("you are an idiot and a moron", Category.TOXICITY)
    assert "idiot" not in [w.lower() for w in words]
    assert not {w.lower() for w in words} & {"you", "are", "an", "and", "a"}
