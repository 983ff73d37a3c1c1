"""Labelled data by path -> examples with one label per category (NaN = unlabelled).

This module is the ONE place where each dataset's labels are mapped onto the policy
categories. `LABEL_MAPPING` documents the mapping in words (it is copied into model.json
and the model card); the `*_labels` functions implement it, one per source format.

A dataset that says nothing about a category leaves it NaN: unlabelled, never negative.
So a Davidson "offensive" tweet does not teach the threat model that it is harmless.
"""

from __future__ import annotations

import csv
import hashlib
import math
import random
import re
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from moderator.policy import CATEGORIES
from moderator.text import normalise

NAN = math.nan
TRAIN = "train"
TEST = "test"
SPANS = "spans"

#: Davidson has no official split; this seed fixes its held-out 20% for every model.
DAVIDSON_SPLIT_SEED = 20170
DAVIDSON_TEST_SHARE = 0.2
#: Training sources that never give validation rows (see validation_split).
NO_VALIDATION = frozenset({"toxic_spans", "templates", "threat_templates", "attack_templates"})
#: Our own neutral sentences about identity groups (templates x terms), all labelled 0.
TEMPLATE_DIR = Path(__file__).resolve().parent / "data"
#: Official tests with known repeats and train overlap (see their PROVENANCE.md).
DEDUPLICATED_TESTS = frozenset({"hasoc2019", "gab"})

#: dataset -> source label -> what it sets. Anything not named stays unlabelled.
LABEL_MAPPING: dict[str, dict[str, str]] = {
    "olid": {
        "A=NOT": "all five categories 0 (not offensive: no profanity, no targeted offence)",
        "A=OFF": "toxicity 1",
        "B=UNT": "obscene 1 (untargeted profanity); insult 0, identity_attack 0, threat 0",
        "B=TIN": "obscene, threat unlabelled (targeted insult OR threat)",
        "C=IND": "insult 1, identity_attack 0",
        "C=GRP": "identity_attack 1, insult unlabelled",
        "C=OTH": "insult 0, identity_attack 0",
    },
    "davidson": {
        "class 0 (hate)": "toxicity 1, identity_attack 1",
        "class 1 (offensive)": "toxicity 1, identity_attack 0",
        "class 2 (neither)": "all five categories 0",
        "note": "obscene, insult and threat stay unlabelled for hate and offensive tweets",
    },
    "hasoc2019": {
        "NOT": "all five categories 0",
        "HOF": "toxicity 1",
        "HATE": "identity_attack 1",
        "OFFN": "insult 1, identity_attack 0",
        "PRFN": "obscene 1, identity_attack 0, insult 0",
        "PRFN+UNT": "threat 0 as well (untargeted profanity)",
        "note": "threat stays unlabelled for HOF posts (TIN = insult or threat)",
    },
    "gab_hate_corpus": {
        "hd": "identity_attack 1/0",
        "cv": "threat 1/0",
        "vo": "obscene 1/0",
        "any of hd, cv, vo": "toxicity 1; none of them: toxicity 0 and insult 0",
        "note": "insult unlabelled when vo or hd is set (vo mixes profanity and insults)",
    },
    "edos": {
        "sexist": "identity_attack 1 (attack on gender); toxicity unlabelled",
        "1. threats, plans to harm and incitement": "threat 1",
        "2./3./4. other sexist categories": "threat 0",
        "3.1 casual use of gendered slurs, profanities, and insults": "obscene 1",
        "not sexist": "identity_attack 0; everything else unlabelled",
        "why": "EDOS only judges sexism: marking its sexist posts toxic while its other "
        "posts stay unlabelled would teach that merely mentioning women is toxic",
        "note": "official split: train and dev are training data, test is held out",
    },
    "toxic_spans": {
        "tsd_train": "the annotated toxic spans alone (their words, not the whole post) -> "
        "toxicity 1; posts with no span are skipped; other categories unlabelled",
        "why": "whole posts would be positives without any negatives from the same "
        "source, teaching that Civil Comments' topics are toxic",
        "tsd_trial": "never trained on: span-F1 evaluation of explanations only",
    },
    "templates": {
        "training/data/neutral_templates.txt x identity_terms.txt": "all five categories 0",
        "why": "bag-of-words models learn group names from attacks on those groups; these "
        "neutral sentences (our own text) teach that naming a group is not an attack",
    },
    "threat_templates": {
        "training/data/threat_templates.txt, label 1": "toxicity 1, threat 1",
        "label 0": "all five categories 0 (same verbs, harmless: 'shoot you an email')",
        "why": "the datasets' threats are mostly calls for violence against groups; plain "
        "first-person threats against a person were scored as harmless",
    },
    "attack_templates": {
        "training/data/attack_templates.txt x identity_terms.txt, label 1": (
            "toxicity 1, identity_attack 1"
        ),
        "label 0": "all five categories 0 (the same words about things: 'rats in the subway')",
        "why": "the datasets' identity attacks mostly carry slurs; dehumanising statements with an "
        "ordinary group name ('X are animals') were scored as harmless",
    },
    "extra": {
        "columns": "text, any of the category names with 1, 0 or empty (= unlabelled)",
        "optional": "source, decided_by, decided_at (kept as provenance only)",
    },
}

#: Every file the shared loaders read, relative to the data directory.
DATA_FILES: dict[str, tuple[str, ...]] = {
    "olid": ("olid/olid_train.csv", "olid/olid_test.csv"),
    "davidson": ("davidson/labeled_data.csv",),
    "hasoc2019": ("hasoc2019/english_dataset.tsv", "hasoc2019/hasoc2019_en_test-2919.tsv"),
    "gab_hate_corpus": ("gab_hate_corpus/ghc_train.tsv", "gab_hate_corpus/ghc_test.tsv"),
    "edos": ("edos/edos_labelled_aggregated.csv",),
    "toxic_spans": ("toxic_spans/tsd_train.csv", "toxic_spans/tsd_trial.csv"),
}


#: Cap per template row, so a few dozen sentences never outweigh a whole dataset.
MAX_TEMPLATE_WEIGHT = 20.0
#: Categories whose identity-term statistics the template weights balance.
BALANCED = ("toxicity", "identity_attack")
#: Span snippets are short and positive-only, so they count less than whole comments.
SNIPPET_WEIGHT = 0.3
SOURCE_WEIGHTS = {"toxic_spans": SNIPPET_WEIGHT}


class DataError(Exception):
    """A data file is missing, unreadable or lacks a column; the message names it."""


@dataclass
class Example:
    """One labelled text: raw text, a label per category (NaN = unlabelled), its origin."""

    text: str
    labels: tuple[float, ...]
    source: str
    split: str
    meta: dict = field(default_factory=dict)


def _labels(**values: float) -> tuple[float, ...]:
    unknown = set(values) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories {sorted(unknown)}")
    return tuple(float(values.get(str(c), NAN)) for c in CATEGORIES)


def _all(value: float) -> tuple[float, ...]:
    return tuple(float(value) for _ in CATEGORIES)


def olid_labels(a: str, b: str, c: str) -> tuple[float, ...]:
    """OLID subtasks A/B/C -> category labels."""
    a, b, c = a.strip().upper(), b.strip().upper(), c.strip().upper()
    if a == "NOT":
        return _all(0)
    if a != "OFF":
        raise ValueError(f"OLID subtask_a must be NOT or OFF, got {a!r}")
    if b == "UNT":
        return _labels(toxicity=1, obscene=1, insult=0, identity_attack=0, threat=0)
    if b != "TIN":
        return _labels(toxicity=1)
    if c == "IND":
        return _labels(toxicity=1, insult=1, identity_attack=0)
    if c == "GRP":
        return _labels(toxicity=1, identity_attack=1)
    if c == "OTH":
        return _labels(toxicity=1, insult=0, identity_attack=0)
    return _labels(toxicity=1)


def davidson_labels(klass: int) -> tuple[float, ...]:
    """Davidson class (0 hate, 1 offensive, 2 neither) -> category labels."""
    if klass == 0:
        return _labels(toxicity=1, identity_attack=1)
    if klass == 1:
        return _labels(toxicity=1, identity_attack=0)
    if klass == 2:
        return _all(0)
    raise ValueError(f"Davidson class must be 0, 1 or 2, got {klass!r}")


def hasoc_labels(task_1: str, task_2: str, task_3: str) -> tuple[float, ...]:
    """HASOC 2019 task 1/2/3 -> category labels."""
    task_1, task_2, task_3 = task_1.strip(), task_2.strip(), task_3.strip()
    if task_1 == "NOT":
        return _all(0)
    if task_1 != "HOF":
        raise ValueError(f"HASOC task_1 must be HOF or NOT, got {task_1!r}")
    if task_2 == "HATE":
        return _labels(toxicity=1, identity_attack=1)
    if task_2 == "OFFN":
        return _labels(toxicity=1, insult=1, identity_attack=0)
    if task_2 == "PRFN":
        threat = 0 if task_3 == "UNT" else NAN
        return _labels(toxicity=1, obscene=1, insult=0, identity_attack=0, threat=threat)
    return _labels(toxicity=1)


def ghc_labels(hd: int, cv: int, vo: int) -> tuple[float, ...]:
    """Gab Hate Corpus hd/cv/vo -> category labels."""
    for name, value in (("hd", hd), ("cv", cv), ("vo", vo)):
        if value not in (0, 1):
            raise ValueError(f"GHC {name} must be 0 or 1, got {value!r}")
    any_label = int(hd or cv or vo)
    insult = 0 if not any_label else NAN
    return _labels(toxicity=any_label, obscene=vo, insult=insult, identity_attack=hd, threat=cv)


def edos_labels(sexist: str, category: str, vector: str) -> tuple[float, ...]:
    """EDOS task A/B/C -> category labels."""
    sexist = sexist.strip()
    if sexist == "not sexist":
        return _labels(identity_attack=0)
    if sexist != "sexist":
        raise ValueError(f"EDOS label_sexist must be sexist or not sexist, got {sexist!r}")
    threat = 1 if category.strip().startswith("1.") else 0
    obscene = 1 if vector.strip().startswith("3.1") else NAN
    return _labels(identity_attack=1, threat=threat, obscene=obscene)


def toxic_spans_labels() -> tuple[float, ...]:
    """A toxic span's words are toxic; nothing else is known."""
    return _labels(toxicity=1)


def _read(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"missing data file {path}")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter=delimiter))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return rows


def _need(rows: list[dict[str, str]], path: Path, columns: Iterable[str]) -> None:
    if not rows:
        raise DataError(f"{path} has no data rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}")


def _int(value: str, path: Path, column: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{path}: column {column} holds {value!r}, not an integer") from None


def _mapped(fn, path: Path, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


def load_olid(data_dir: Path) -> list[Example]:
    """OLID: the training file, and the official test set (never trained on)."""
    out = []
    for name, split in (("olid_train.csv", TRAIN), ("olid_test.csv", TEST)):
        path = data_dir / "olid" / name
        rows = _read(path)
        _need(rows, path, ("tweet", "subtask_a", "subtask_b", "subtask_c"))
        for r in rows:
            labels = _mapped(olid_labels, path, r["subtask_a"], r["subtask_b"], r["subtask_c"])
            out.append(Example(r["tweet"], labels, "olid", split, {"a": r["subtask_a"]}))
    return out


def load_davidson(data_dir: Path) -> list[Example]:
    """Davidson: a stratified, seeded 80/20 split (no official one); meta["class"] kept."""
    path = data_dir / "davidson" / "labeled_data.csv"
    rows = _read(path)
    _need(rows, path, ("tweet", "class"))
    classes = [_int(r["class"], path, "class") for r in rows]
    test = _stratified_pick(classes, DAVIDSON_TEST_SHARE, DAVIDSON_SPLIT_SEED)
    return [
        Example(
            r["tweet"],
            _mapped(davidson_labels, path, k),
            "davidson",
            TEST if i in test else TRAIN,
            {"class": k},
        )
        for i, (r, k) in enumerate(zip(rows, classes, strict=True))
    ]


def load_hasoc(data_dir: Path) -> list[Example]:
    """HASOC 2019 English: official train and test."""
    out = []
    for name, split in (("english_dataset.tsv", TRAIN), ("hasoc2019_en_test-2919.tsv", TEST)):
        path = data_dir / "hasoc2019" / name
        rows = _read(path, "\t")
        _need(rows, path, ("text", "task_1", "task_2", "task_3"))
        for r in rows:
            labels = _mapped(hasoc_labels, path, r["task_1"], r["task_2"], r["task_3"])
            out.append(Example(r["text"], labels, "hasoc2019", split))
    return out


def load_ghc(data_dir: Path) -> list[Example]:
    """Gab Hate Corpus: official train and test."""
    out = []
    for name, split in (("ghc_train.tsv", TRAIN), ("ghc_test.tsv", TEST)):
        path = data_dir / "gab_hate_corpus" / name
        rows = _read(path, "\t")
        _need(rows, path, ("text", "hd", "cv", "vo"))
        for r in rows:
            values = [_int(r[c], path, c) for c in ("hd", "cv", "vo")]
            out.append(Example(r["text"], _mapped(ghc_labels, path, *values), "gab", split))
    return out


def load_edos(data_dir: Path) -> list[Example]:
    """EDOS: official split; train and dev are training data, test is held out."""
    path = data_dir / "edos" / "edos_labelled_aggregated.csv"
    rows = _read(path)
    _need(rows, path, ("text", "label_sexist", "label_category", "label_vector", "split"))
    out = []
    for r in rows:
        labels = _mapped(
            edos_labels, path, r["label_sexist"], r["label_category"], r["label_vector"]
        )
        split = TEST if r["split"].strip() == "test" else TRAIN
        out.append(Example(r["text"], labels, "edos", split))
    return out


def load_toxic_spans(data_dir: Path) -> list[Example]:
    """toxic_spans: train spans as toxic snippets; trial posts (split "spans") for span F1."""
    import ast

    out = []
    for name, split in (("tsd_train.csv", TRAIN), ("tsd_trial.csv", SPANS)):
        path = data_dir / "toxic_spans" / name
        rows = _read(path)
        _need(rows, path, ("spans", "text"))
        for r in rows:
            try:
                spans = sorted(set(ast.literal_eval(r["spans"])))
            except (ValueError, SyntaxError, TypeError):
                raise DataError(f"{path}: spans {r['spans'][:40]!r} is not a list") from None
            if split == SPANS:
                out.append(Example(r["text"], _labels(), "toxic_spans", split, {"spans": spans}))
                continue
            snippet = span_text(r["text"], spans)
            if snippet:
                out.append(Example(snippet, toxic_spans_labels(), "toxic_spans", split))
    return out


def span_text(text: str, offsets: Sequence[int]) -> str:
    """The characters at `offsets`, contiguous runs joined by a space."""
    runs: list[str] = []
    previous = None
    for i in offsets:
        if not 0 <= i < len(text):
            continue
        if previous is not None and i == previous + 1:
            runs[-1] += text[i]
        else:
            runs.append(text[i])
        previous = i
    return " ".join(r.strip() for r in runs if r.strip())


def load_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Neutral identity sentences: every template filled with every identity term."""
    templates = _lines(template_dir / "neutral_templates.txt")
    terms = [line.split("\t") for line in _lines(template_dir / "identity_terms.txt")]
    out = []
    for adj, group in terms:
        for t in templates:
            text = t.replace("{adj}", adj).replace("{group}", group)
            out.append(Example(text, _all(0), "templates", TRAIN, {"term": (adj, group)}))
    return out


def load_threat_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Threats against a person and harmless sentences with the same verbs."""
    lines = _lines(template_dir / "threat_templates.txt")
    targets = [t for line in lines if line.startswith("TARGETS\t") for t in line.split("\t")[1:]]
    out = []
    for line in lines:
        label, _, template = line.partition("\t")
        if label not in ("0", "1"):
            continue
        labels = _labels(toxicity=1, threat=1) if label == "1" else _all(0)
        for target in targets:
            text = template.replace("{target}'s", target + "'s").replace("{target}", target)
            out.append(Example(text, labels, "threat_templates", TRAIN))
    return out


def load_attack_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Dehumanising statements about every group, and harmless sentences with the same words."""
    groups = [line.split("\t")[1] for line in _lines(template_dir / "identity_terms.txt")]
    out = []
    for line in _lines(template_dir / "attack_templates.txt"):
        label, _, template = line.partition("\t")
        if label == "1":
            labels = _labels(toxicity=1, identity_attack=1)
            texts = [template.replace("{group}", g) for g in groups]
        elif label == "0":
            labels, texts = _all(0), [template]
        else:
            continue
        out.extend(Example(text, labels, "attack_templates", TRAIN) for text in texts)
    return out


def _lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


LOADERS = {
    "olid": load_olid,
    "davidson": load_davidson,
    "hasoc2019": load_hasoc,
    "gab_hate_corpus": load_ghc,
    "edos": load_edos,
    "toxic_spans": load_toxic_spans,
}

_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


def load_extra(path: Path) -> list[Example]:
    """A moderators' CSV: `text` plus any category columns holding 1, 0 or empty."""
    path = Path(path)
    rows = _read(path)
    if not rows:
        raise DataError(f"{path} has no data rows")
    columns = set(rows[0])
    if "text" not in columns:
        raise DataError(f"{path} lacks the text column")
    categories = [str(c) for c in CATEGORIES if str(c) in columns]
    if not categories:
        raise DataError(f"{path} has no category column (any of {', '.join(CATEGORIES)})")
    allowed = {"text", "source", "decided_by", "decided_at", *categories}
    unknown = sorted(c for c in columns - allowed if c is not None)
    if unknown or None in columns:
        raise DataError(f"{path} has unknown column(s) {', '.join(unknown) or '(unnamed)'}")
    out = []
    for line, r in enumerate(rows, start=2):
        text = r["text"]
        if text is None or not text.strip():
            raise DataError(f"{path} line {line}: empty text")
        values = {}
        for c in categories:
            raw = (r[c] or "").strip().lower()
            if raw in _TRUE:
                values[c] = 1
            elif raw in _FALSE:
                values[c] = 0
            elif raw != "":
                raise DataError(f"{path} line {line}: {c} must be 1, 0 or empty, got {raw!r}")
        meta = {k: r[k] for k in ("source", "decided_by", "decided_at") if r.get(k)}
        out.append(Example(text, _labels(**values), "extra", TRAIN, meta))
    return out


def check_data_dir(data_dir: Path) -> None:
    """Fail with one clear message if the directory or any expected file is missing."""
    if not data_dir.exists():
        raise DataError(f"data directory {data_dir} does not exist")
    if not data_dir.is_dir():
        raise DataError(f"data directory {data_dir} is not a directory")
    missing = [f for files in DATA_FILES.values() for f in files if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"data directory {data_dir} lacks {', '.join(missing)}")


def load_all(data_dir: Path, extras: Sequence[Path] = (), log=None) -> list[Example]:
    """Every shared dataset plus extra CSVs, de-duplicated so no test text is trained on.

    Within a training split, repeated (normalised) texts keep their first row. HASOC's and
    GHC's official tests are de-duplicated and lose the texts that also occur in their
    training files; OLID's and EDOS's official tests stay complete. Any training text equal
    to a held-out text (of any dataset) is dropped from training instead.
    """
    data_dir = Path(data_dir)
    check_data_dir(data_dir)
    examples: list[Example] = []
    for name, loader in LOADERS.items():
        loaded = loader(data_dir)
        if log:
            log(f"loaded {name}: {len(loaded)} rows")
        examples.extend(loaded)
    loaded = load_templates()
    if log:
        log(f"generated {len(loaded)} neutral template sentences")
    examples.extend(loaded)
    examples.extend(load_threat_templates())
    examples.extend(load_attack_templates())
    for path in extras:
        loaded = load_extra(path)
        if log:
            log(f"loaded extra {path}: {len(loaded)} rows")
        examples.extend(loaded)
    return deduplicate(examples)


def deduplicate(examples: list[Example]) -> list[Example]:
    """Drop repeats and any overlap between training and held-out rows (see load_all)."""
    keys = [normalise(e.text).strip() for e in examples]
    train_by_source: dict[str, set[str]] = {}
    for e, k in zip(examples, keys, strict=True):
        if e.split == TRAIN:
            train_by_source.setdefault(e.source, set()).add(k)
    seen: set[tuple[str, str, str]] = set()
    kept: list[tuple[Example, str]] = []
    for e, k in zip(examples, keys, strict=True):
        if e.split == TEST and e.source in DEDUPLICATED_TESTS:
            if (e.source, k) in seen or k in train_by_source.get(e.source, ()):
                continue
            seen.add((e.source, k))
        kept.append((e, k))
    held = {k for e, k in kept if e.split != TRAIN}
    out = []
    for e, k in kept:
        if e.split == TRAIN:
            if (e.source, k) in seen or (k in held and e.source != "extra"):
                continue
            seen.add((e.source, k))
        out.append(e)
    return out


def _stratified_pick(groups: Sequence, share: float, seed: int) -> set[int]:
    """Indices of a seeded, per-group `share` of the rows."""
    rng = random.Random(seed)
    by_group: dict = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    picked: set[int] = set()
    for g in sorted(by_group, key=str):
        idx = by_group[g]
        rng.shuffle(idx)
        picked.update(idx[: round(len(idx) * share)])
    return picked


def validation_split(examples: Sequence[Example], share: float, seed: int) -> set[int]:
    """Seeded validation rows carved from TRAINING examples, stratified by source and toxicity.

    toxic_spans snippets never go to validation: they are positives only, and thresholds
    chosen on them would be too low for whole comments.
    """
    groups = [
        (e.source, "nan" if math.isnan(e.labels[0]) else e.labels[0])
        if e.split == TRAIN and e.source not in NO_VALIDATION
        else None
        for e in examples
    ]
    picked = _stratified_pick(groups, share, seed)
    return {i for i in picked if groups[i] is not None}


def file_hashes(data_dir: Path, extras: Sequence[Path] = ()) -> dict[str, str]:
    """sha256 of every file read, keyed by its path relative to the data dir (extras by name)."""
    hashes = {}
    for files in DATA_FILES.values():
        for f in files:
            hashes[f] = _sha256(Path(data_dir) / f)
    for name in (
        "neutral_templates.txt",
        "identity_terms.txt",
        "threat_templates.txt",
        "attack_templates.txt",
    ):
        hashes[f"training/data/{name}"] = _sha256(TEMPLATE_DIR / name)
    for path in extras:
        hashes[f"extra/{Path(path).name}"] = _sha256(Path(path))
    return hashes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sample_weights(examples: Sequence[Example], normalised: Sequence[str]) -> list[float]:
    """Per-row training weight.

    Span snippets count SNIPPET_WEIGHT. Template sentences for an identity term are weighted
    so that, for toxicity and identity_attack, the term's labelled rows (real + templates)
    are positive no more often than all labelled rows are: the term alone then carries no
    evidence (Dixon et al. 2018, "Measuring and Mitigating Unintended Bias in Text
    Classification", balance by adding non-toxic identity examples). Everything else is 1.
    """
    weights = [SOURCE_WEIGHTS.get(e.source, 1.0) for e in examples]
    templates: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(examples):
        if e.source == "templates":
            templates.setdefault(e.meta["term"], []).append(i)
    if not templates:
        return weights
    real = [i for i, e in enumerate(examples) if e.split == TRAIN and e.source not in NO_VALIDATION]
    columns = [CATEGORIES.index(c) for c in BALANCED]
    rates = []
    for j in columns:
        known = [examples[i].labels[j] for i in real if not math.isnan(examples[i].labels[j])]
        rates.append(sum(known) / len(known) if known else 0.0)
    # Our attack templates name groups too: the neutral ones must balance them as well.
    counted = real + [i for i, e in enumerate(examples) if e.source == "attack_templates"]
    for (adj, group), rows in templates.items():
        pattern = re.compile(rf"\b({re.escape(adj.lower())}|{re.escape(group.lower())})\b")
        hits = [i for i in counted if pattern.search(normalised[i])]
        deficit = 0.0
        for j, rate in zip(columns, rates, strict=True):
            labels = [examples[i].labels[j] for i in hits if not math.isnan(examples[i].labels[j])]
            positives, negatives = sum(labels), len(labels) - sum(labels)
            if 0 < rate < 1:
                deficit = max(deficit, positives * (1 - rate) / rate - negatives)
        for i in rows:
            weights[i] = min(MAX_TEMPLATE_WEIGHT, max(1.0, deficit / len(rows)))
    return weights
