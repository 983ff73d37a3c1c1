"""`python -m training train --language`: a model per language, scoring only what its data labels.

The Turkish data here is written for the test (OffensEval 2020's file layout, our own
sentences): the shared data is never copied into the project.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from moderator.classifier import Classifier
from training.cli import cli
from training.datasets import DataError
from training.datasets import load_language
from training.evaluate import MIN_LABELLED
from training.evaluate import trainable_categories

NICE = [
    "bugün hava çok güzel",
    "maç harikaydı tebrikler",
    "yeni kitabını okudum çok beğendim",
    "akşam yemeği için teşekkürler",
    "iyi günler dilerim herkese",
    "konser muhteşemdi yine gideriz",
]
NASTY = [
    "sen tam bir aptalsın",
    "salak herif defol git",
    "gerizekalı seni",
    "aptal ve salak birisin",
    "defol git buradan gerizekalı",
    "seni salak aptal",
]


def _rows(texts: list[str], label: str, start: int, count: int) -> list[tuple[str, str, str]]:
    out = []
    for n in range(count):
        text = f"{texts[n % len(texts)]} {n // len(texts)} numara {start + n}"
        out.append((str(start + n), text, label))
    return out


@pytest.fixture(scope="module")
def turkish_dir(tmp_path_factory) -> Path:
    """OffensEval 2020 Turkish files (training, test tweets, test labels) with our texts."""
    root = tmp_path_factory.mktemp("tr")
    base = root / "multilingual" / "tr_offenseval2020"
    base.mkdir(parents=True)
    train = _rows(NICE, "NOT", 1000, 60) + _rows(NASTY, "OFF", 2000, 60)
    test = _rows(NICE, "NOT", 3000, 12) + _rows(NASTY, "OFF", 4000, 12)
    (base / "offenseval-tr-training-v1.tsv").write_text(
        "".join(f"{i}\t{t}\t{y}\n" for i, t, y in train), encoding="utf-8"
    )
    (base / "offenseval-tr-testset-v1.tsv").write_text(
        "".join(f"{i}\t{t}\n" for i, t, _ in test), encoding="utf-8"
    )
    (base / "offenseval-tr-labela-v1.tsv").write_text(
        "".join(f"{i},{y}\n" for i, _, y in test), encoding="utf-8"
    )
    return root


@pytest.fixture(scope="module")
def turkish_model(turkish_dir, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("models") / "tr"
    result = CliRunner().invoke(
        cli,
        ["train", "--data-dir", str(turkish_dir), "--language", "tr", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_a_turkish_model_scores_only_toxicity_and_says_so(turkish_model):
    out, output = turkish_model
    meta = json.loads((out / "model.json").read_text())
    assert meta["language"] == "tr"
    assert meta["categories"] == ["toxicity"]
    assert list(meta["thresholds"]) == ["toxicity"]
    assert "offenseval2020" in meta["label_mapping"]
    assert meta["explain"]["never"] == []
    assert "--language tr" in meta["training"]["command"]
    assert "not trained (too few labels in tr): obscene, insult, identity_attack, threat" in output
    card = (out / "MODEL_CARD.md").read_text()
    assert "Not scored" in card and "obscene" in card.split("Not scored", 1)[1]
    assert "OffensEval 2020 Turkish official test" in card
    # The recipe its cross-validation chose, said in the card and recorded in model.json.
    assert "one linear SVM (squared hinge loss) per category with unweighted classes" in card
    assert "(NB-SVM: the scale is folded into the weights" in card
    assert meta["training"]["recipe"]["loss"] == "squared_hinge"


def test_the_official_test_is_reported(turkish_model):
    out, output = turkish_model
    meta = json.loads((out / "model.json").read_text())
    official = meta["metrics"]["official_test"]
    assert official["n"] == 24
    assert 0.0 <= official["macro_f1"] <= 1.0 and official["auc"] > 0.9
    assert "OffensEval 2020 Turkish official test: macro-F1" in output


def test_the_turkish_model_loads_with_its_language_and_ranks_insults_higher(turkish_model):
    out, _ = turkish_model
    model = Classifier.load(out)
    assert model.language == "tr"
    assert model.categories == ("toxicity",)
    nasty, nice = model.score(["seni salak aptal defol", "bugün hava çok güzel"])
    assert set(nasty) == {"toxicity"}
    assert nasty["toxicity"] > nice["toxicity"]


def test_evaluate_reads_the_models_own_language(turkish_model, turkish_dir):
    out, _ = turkish_model
    result = CliRunner().invoke(
        cli, ["evaluate", "--model", str(out), "--data-dir", str(turkish_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report["pooled"]) == ["toxicity"]
    assert report["official_test"]["n"] == 24


def test_an_unknown_language_is_refused(turkish_dir, tmp_path):
    result = CliRunner().invoke(
        cli, ["train", "--data-dir", str(turkish_dir), "--language", "xx", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--language'" in result.output


def test_missing_language_files_are_named(tmp_path):
    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--data-dir",
            str(tmp_path / "data"),
            "--language",
            "de",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert result.exit_code == 1
    assert "germeval2018.training.txt" in result.output
    assert not (tmp_path / "m").exists()


def test_a_bad_label_in_a_language_file_is_a_clear_error(turkish_dir, tmp_path):
    import shutil

    data = Path(shutil.copytree(turkish_dir, tmp_path / "d"))
    path = data / "multilingual" / "tr_offenseval2020" / "offenseval-tr-training-v1.tsv"
    path.write_text(path.read_text() + "9\tbir metin\tMAYBE\n")
    with pytest.raises(DataError, match="OFF or NOT"):
        load_language(data, "tr")


def test_english_trains_every_category_and_another_language_only_those_labelled():
    nan = np.nan
    few = np.array([[1, nan, 1, nan, nan], [0, nan, 0, nan, nan]] * 10)
    assert trainable_categories(few, "en") == [
        "toxicity",
        "obscene",
        "insult",
        "identity_attack",
        "threat",
    ]
    assert trainable_categories(few, "de") == ["toxicity"]
    many = np.array([[1, nan, 1, nan, nan], [0, nan, 0, nan, nan]] * MIN_LABELLED)
    assert trainable_categories(many, "de") == ["toxicity", "insult"]
    only_positive = np.array([[1, nan, nan, nan, nan]] * 10)
    assert trainable_categories(only_positive, "tr") == []


SHIPPED_TEXTS = {
    "de": [
        "Danke für den Artikel, sehr hilfreich!",
        "Du bist ein dummer Idiot",
        "Straße, Größe, Übermaß",
    ],
    "pt": [
        "Obrigado pela notícia, muito boa",
        "Você é um idiota, cala a boca",
        "ação, coração, pão",
    ],
    "tr": [*NICE[:2], *NASTY[:2], "ılık İstanbul ığdır"],
}


@pytest.mark.parametrize("language", sorted(SHIPPED_TEXTS))
def test_a_shipped_language_model_serves_its_pipelines_scores(language):
    # NB-scaled weights included: serving.npz must give what model.joblib gives.
    from moderator.text import normalise

    model_dir = Path(__file__).resolve().parents[2] / "models" / language
    served = Classifier.load(model_dir)
    assert served._pipeline is None  # scored from serving.npz
    texts = [normalise(t, language) for t in [*SHIPPED_TEXTS[language], "", "x" * 500]]
    names = list(served.categories)
    pipeline = served.pipeline  # model.joblib, unpickled on demand
    columns = [list(pipeline.classes_).index(n) for n in names]
    expected = pipeline.predict_proba(texts)[:, columns]
    got = np.array([[s[n] for n in names] for s in served.score(texts)])
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
