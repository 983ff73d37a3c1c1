"""Labelled data in languages other than English (shared/data/multilingual/), one loader each.

A model is trained per language (`python -m training train --language de`); each language's
data says what it can: GermEval 2018 and GAHD (German), ToLD-Br (Portuguese) and OffensEval
2020 (Turkish). A category no dataset of a language labels is not trained for it, and that
language's model does not score it. Official test splits are held out, as in English.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from training.datasets.base import NAN
from training.datasets.base import TEST
from training.datasets.base import TRAIN
from training.datasets.base import DataError
from training.datasets.base import Example
from training.datasets.base import labels
from training.datasets.base import mapped
from training.datasets.base import need
from training.datasets.base import read_csv
from training.datasets.base import to_float

#: language -> dataset -> source label -> what it sets (copied into model.json and the card).
MULTILINGUAL_MAPPING: dict[str, dict[str, dict[str, str]]] = {
    "de": {
        "germeval2018": {
            "task1 OFFENSE / OTHER": "toxicity 1 / all four labelled categories 0",
            "task2 ABUSE": "identity_attack 1 (degradation for a social identity, per the "
            "guidelines)",
            "task2 INSULT": "insult 1, identity_attack 0",
            "task2 PROFANITY": "obscene 1, insult 0, identity_attack 0",
            "note": "task2 is single-choice: an ABUSE or INSULT tweet that swears is not "
            "PROFANITY, so obscene stays unlabelled on those rows; threat is never labelled",
            "split": "official train and test",
        },
        "gahd": {
            "label 1 (hate speech)": "toxicity 1, identity_attack 1",
            "label 0": "identity_attack 0 (adversarial 'not hate' items include insults and "
            "profanity at unprotected targets, so toxicity stays unlabelled)",
            "split": "official: train and dev are training data, test is held out",
        },
    },
    "pt": {
        "toldbr": {
            "a type flagged by >= 2 of 3 annotators": "that category 1 (obscene, insult; "
            "homophobia, racism, misogyny, xenophobia -> identity_attack), toxicity 1",
            "a type flagged by no annotator": "that category 0",
            "a type flagged by 1 of 3": "that category unlabelled (uncertain)",
            "toxicity": "1 when any type has >= 2 votes, 0 when no type has any, else unlabelled",
            "split": "the paper's 2annotator train / validation / test split (joined on text); "
            "validation rows are training data",
            "note": "threat is never labelled",
        },
    },
    "tr": {
        "offenseval2020": {
            "OFF / NOT": "toxicity 1 / 0; nothing else is labelled",
            "split": "official train and test",
        },
    },
}

#: Every file the loaders of each language read, relative to the data directory.
MULTILINGUAL_FILES: dict[str, tuple[str, ...]] = {
    "de": (
        "multilingual/de_germeval2018/germeval2018.training.txt",
        "multilingual/de_germeval2018/germeval2018.test.txt",
        "multilingual/de_gahd/gahd.csv",
    ),
    "pt": ("multilingual/pt_toldbr/ToLD-BR.csv", "multilingual/pt_toldbr/2annotator.zip"),
    "tr": (
        "multilingual/tr_offenseval2020/offenseval-tr-training-v1.tsv",
        "multilingual/tr_offenseval2020/offenseval-tr-testset-v1.tsv",
        "multilingual/tr_offenseval2020/offenseval-tr-labela-v1.tsv",
    ),
}


def germeval_labels(task1: str, task2: str) -> tuple[float, ...]:
    """GermEval 2018 coarse and fine labels -> category labels."""
    task1, task2 = task1.strip(), task2.strip()
    if task1 == "OTHER":
        if task2 != "OTHER":
            raise ValueError(f"GermEval task2 must be OTHER when task1 is, got {task2!r}")
        return labels(toxicity=0, obscene=0, insult=0, identity_attack=0)
    if task1 != "OFFENSE":
        raise ValueError(f"GermEval task1 must be OFFENSE or OTHER, got {task1!r}")
    if task2 == "ABUSE":
        return labels(toxicity=1, identity_attack=1)
    if task2 == "INSULT":
        return labels(toxicity=1, insult=1, identity_attack=0)
    if task2 == "PROFANITY":
        return labels(toxicity=1, obscene=1, insult=0, identity_attack=0)
    raise ValueError(f"GermEval task2 must be ABUSE, INSULT or PROFANITY, got {task2!r}")


def gahd_labels(label: int) -> tuple[float, ...]:
    """GAHD hate speech label -> category labels."""
    if label == 1:
        return labels(toxicity=1, identity_attack=1)
    if label == 0:
        return labels(identity_attack=0)
    raise ValueError(f"GAHD label must be 0 or 1, got {label!r}")


TOLDBR_IDENTITY = ("homophobia", "racism", "misogyny", "xenophobia")


def toldbr_labels(votes: dict[str, float]) -> tuple[float, ...]:
    """ToLD-Br annotator counts per type (0-3) -> category labels (majority = 2 of 3)."""
    for name, value in votes.items():
        if not 0 <= value <= 3:
            raise ValueError(f"ToLD-Br {name} must count 0-3 annotators, got {value!r}")

    def label(value: float) -> float:
        return 1.0 if value >= 2 else 0.0 if value == 0 else NAN

    identity = max(votes[t] for t in TOLDBR_IDENTITY)
    top = max(votes.values())
    toxicity = 1.0 if top >= 2 else 0.0 if top == 0 else NAN
    return labels(
        toxicity=toxicity,
        obscene=label(votes["obscene"]),
        insult=label(votes["insult"]),
        identity_attack=label(identity),
    )


def offenseval_tr_labels(label: str) -> tuple[float, ...]:
    """OffensEval 2020 Turkish OFF/NOT -> toxicity only."""
    label = label.strip()
    if label == "OFF":
        return labels(toxicity=1)
    if label == "NOT":
        return labels(toxicity=0)
    raise ValueError(f"OffensEval label must be OFF or NOT, got {label!r}")


def _read_tsv(path: Path, fields: int) -> list[list[str]]:
    """A header-less tab-separated file read without quote handling (tweets hold quotes)."""
    if not path.is_file():
        raise DataError(f"missing data file {path}")
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    rows = [r for r in rows if r]
    if not rows:
        raise DataError(f"{path} has no data rows")
    bad = next((n for n, r in enumerate(rows, 1) if len(r) != fields), None)
    if bad is not None:
        raise DataError(f"{path} line {bad}: expected {fields} tab-separated fields")
    return rows


def load_germeval(data_dir: Path) -> list[Example]:
    """GermEval 2018: the official training and test files (`|LBR|` is a line break)."""
    out = []
    base = data_dir / "multilingual" / "de_germeval2018"
    for name, split in (("germeval2018.training.txt", TRAIN), ("germeval2018.test.txt", TEST)):
        path = base / name
        for text, task1, task2 in _read_tsv(path, 3):
            label = mapped(germeval_labels, path, task1, task2)
            text = text.replace("|LBR|", "\n")
            out.append(Example(text, label, "germeval2018", split, {"task1": task1.strip()}))
    return out


def load_gahd(data_dir: Path) -> list[Example]:
    """GAHD: official split; train and dev are training data, test is held out."""
    path = data_dir / "multilingual" / "de_gahd" / "gahd.csv"
    rows = read_csv(path)
    need(rows, path, ("text", "label", "split"))
    out = []
    for r in rows:
        try:
            value = int(r["label"])
        except ValueError:
            raise DataError(f"{path}: label {r['label']!r} is not 0 or 1") from None
        split = TEST if r["split"].strip() == "test" else TRAIN
        out.append(Example(r["text"], mapped(gahd_labels, path, value), "gahd", split))
    return out


def load_toldbr(data_dir: Path) -> list[Example]:
    """ToLD-Br: per-type votes from ToLD-BR.csv, split as in the paper's 2annotator files."""
    base = data_dir / "multilingual" / "pt_toldbr"
    path = base / "ToLD-BR.csv"
    rows = read_csv(path)
    types = ("homophobia", "obscene", "insult", *TOLDBR_IDENTITY[1:])
    need(rows, path, ("text", *types))
    zip_path = base / "2annotator.zip"
    if not zip_path.is_file():
        raise DataError(f"missing data file {zip_path}")
    # The split files hold the texts lower-cased: the join is on that form.
    split_of: dict[str, str] = {}
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for part, split in (("train", TRAIN), ("validation", TRAIN), ("test", TEST)):
                name = f"2annotator/ptbr_{part}_2annotator.csv"
                with archive.open(name) as raw:
                    for r in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
                        # A text in both test and training is held out.
                        if split_of.get(r["text"].lower()) != TEST:
                            split_of[r["text"].lower()] = split
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {zip_path}: {exc}") from None
    out = []
    for r in rows:
        split = split_of.get(r["text"].lower())
        if split is None:
            continue  # not in the paper's split files (none is missing; kept safe)
        votes = {t: to_float(r[t], path, t) for t in types}
        out.append(Example(r["text"], mapped(toldbr_labels, path, votes), "toldbr", split))
    return out


def load_offenseval_tr(data_dir: Path) -> list[Example]:
    """OffensEval 2020 Turkish: official training file; test tweets joined to their labels."""
    base = data_dir / "multilingual" / "tr_offenseval2020"
    path = base / "offenseval-tr-training-v1.tsv"
    out = []
    for _, tweet, label in _read_tsv(path, 3):
        out.append(
            Example(tweet, mapped(offenseval_tr_labels, path, label), "offenseval_tr", TRAIN)
        )
    test_path, labels_path = (
        base / "offenseval-tr-testset-v1.tsv",
        base / "offenseval-tr-labela-v1.tsv",
    )
    gold: dict[str, str] = {}
    for row in _read_tsv(labels_path, 1):
        identifier, _, label = row[0].partition(",")
        gold[identifier.strip()] = label
    for identifier, tweet in _read_tsv(test_path, 2):
        if identifier.strip() not in gold:
            raise DataError(f"{labels_path} has no label for test tweet {identifier}")
        label = mapped(offenseval_tr_labels, labels_path, gold[identifier.strip()])
        out.append(Example(tweet, label, "offenseval_tr", TEST))
    return out


#: language -> its loaders, in the order they are read.
LANGUAGE_LOADERS = {
    "de": (load_germeval, load_gahd),
    "pt": (load_toldbr,),
    "tr": (load_offenseval_tr,),
}
