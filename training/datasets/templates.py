"""Our own text (training/data/): neutral identity sentences, threats, dehumanising attacks and
their harmless twins, and counterfactual copies of the datasets' rows that name a group."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

from training.datasets.base import TRAIN
from training.datasets.base import Example
from training.datasets.base import every
from training.datasets.base import labels as labelled
from training.datasets.base import lines as read_lines

#: Our own hand-written sentences and term lists.
TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "data"
#: Targets sampled for each threat sentence, and groups for each attack or counter sentence:
#: enough to vary the name, few enough that templates never outweigh the datasets.
THREAT_TARGETS_PER_LINE = 6
ATTACK_GROUPS_PER_LINE = 20
#: Counterfactual copies made of each training row that names a group.
COUNTERFACTUAL_COPIES = 2
#: Adjectives that are mostly ordinary words ("black coffee", "white house", "male voice"):
#: only their plural group forms ("black people") are swapped.
AMBIGUOUS_ADJECTIVES = frozenset(
    {"black", "white", "male", "female", "trans", "elderly", "straight", "blind", "english"}
)


def identity_terms(template_dir: Path = TEMPLATE_DIR) -> list[tuple[str, str]]:
    """(adjective, plural) pairs of identity_terms.txt."""
    out = []
    for line in read_lines(template_dir / "identity_terms.txt"):
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"identity_terms.txt: {line!r} is not adjective<TAB>plural")
        out.append((parts[0], parts[1]))
    return out


def load_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Neutral identity sentences: every template filled with every identity term."""
    templates = read_lines(template_dir / "neutral_templates.txt")
    terms = [line.split("\t") for line in read_lines(template_dir / "identity_terms.txt")]
    out = []
    for adj, group in terms:
        for t in templates:
            text = t.replace("{adj}", adj).replace("{group}", group)
            out.append(Example(text, every(0), "templates", TRAIN, {"term": (adj, group)}))
    return out


def load_threat_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Threats and wished violence against a person, and harmless sentences with the same verbs;
    each sentence filled with THREAT_TARGETS_PER_LINE targets sampled from the TARGETS line."""
    lines = read_lines(template_dir / "threat_templates.txt")
    targets = [t for line in lines if line.startswith("TARGETS\t") for t in line.split("\t")[1:]]
    out = []
    for number, line in enumerate(lines):
        label, _, template = line.partition("\t")
        if label not in ("0", "1"):
            continue
        labels = labelled(toxicity=1, threat=1) if label == "1" else every(0)
        for target in _sample(targets, THREAT_TARGETS_PER_LINE, f"threat:{number}"):
            text = template.replace("{target}'s", _possessive(target)).replace("{target}", target)
            out.append(Example(text, labels, "threat_templates", TRAIN))
    return out


def load_attack_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Dehumanising statements and stereotypes about groups, and harmless sentences with the
    same words or frames; a {group} sentence takes ATTACK_GROUPS_PER_LINE sampled groups."""
    groups = [plural for _, plural in identity_terms(template_dir)]
    out = []
    for number, line in enumerate(read_lines(template_dir / "attack_templates.txt")):
        label, _, template = line.partition("\t")
        if label not in ("0", "1"):
            continue
        labels = labelled(toxicity=1, identity_attack=1) if label == "1" else every(0)
        if "{group}" in template:
            chosen = _sample(groups, ATTACK_GROUPS_PER_LINE, f"attack:{number}")
            texts = [template.replace("{group}", g) for g in chosen]
        else:
            texts = [template]
        out.extend(Example(text, labels, "attack_templates", TRAIN) for text in texts)
    return out


def load_counter_templates(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Counter-speech (abuse quoted, reported or rejected: no category) and the same abuse meant
    (identity_attack); {abuse} takes every ABUSE entry, {group} sampled groups."""
    lines = read_lines(template_dir / "counter_templates.txt")
    abuse = [a for line in lines if line.startswith("ABUSE\t") for a in line.split("\t")[1:]]
    groups = [plural for _, plural in identity_terms(template_dir)]
    out = []
    for number, line in enumerate(lines):
        label, _, template = line.partition("\t")
        if label not in ("0", "1"):
            continue
        labels = labelled(toxicity=1, identity_attack=1) if label == "1" else every(0)
        texts = [template]
        if "{abuse}" in template:
            texts = [t.replace("{abuse}", a) for t in texts for a in abuse]
        if "{group}" in template:
            chosen = _sample(groups, ATTACK_GROUPS_PER_LINE, f"counter:{number}")
            texts = [t.replace("{group}", g) for t in texts for g in chosen]
        out.extend(Example(text, labels, "counter_templates", TRAIN) for text in texts)
    return out


def _sample(items: Sequence[str], k: int, key: str) -> list[str]:
    """A seeded sample of k items (all of them when there are fewer), the same every run."""
    if len(items) <= k:
        return list(items)
    return random.Random(key).sample(list(items), k)


_POSSESSIVE = {"you": "your"}


def _possessive(target: str) -> str:
    if target in _POSSESSIVE:
        return _POSSESSIVE[target]
    return target + ("'" if target.endswith("s") else "'s")


def load_innocent_words(template_dir: Path = TEMPLATE_DIR) -> list[Example]:
    """Innocent sentences whose words hold a profane string (Scunthorpe, shiitake, cockpit)."""
    return [
        Example(line, every(0), "innocent_words", TRAIN)
        for line in read_lines(template_dir / "innocent_words.txt")
    ]


def counterfactuals(
    examples: Sequence[Example],
    template_dir: Path = TEMPLATE_DIR,
    copies: int = COUNTERFACTUAL_COPIES,
    seed: int = 0,
) -> list[Example]:
    """Copies of the TRAIN rows that name a group, with each group swapped for another.

    Every adjective or plural of identity_terms.txt in a row's text is replaced by the same
    form of a randomly chosen other group (seeded per row), keeping its capitalisation; the
    labels stay. Trained with these, a model sees each group's name in the same contexts as
    every other's, so the name alone stops carrying evidence (Garg et al. 2019,
    "Counterfactual Fairness in Text Classification"; Dixon et al. 2018). Our template rows
    already name every group and are not copied.
    """
    terms = identity_terms(template_dir)
    forms: dict[str, tuple[str, int]] = {}
    for k, (adj, plural) in enumerate(terms):
        forms[plural.lower()] = ("plural", k)
        if adj.lower() not in AMBIGUOUS_ADJECTIVES:
            forms.setdefault(adj.lower(), ("adj", k))
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)
    out = []
    for index, e in enumerate(examples):
        if e.split != TRAIN or e.source in _NOT_COPIED:
            continue
        found = list(pattern.finditer(e.text))
        if not found:
            continue
        rng = random.Random(f"{seed}:{index}:{e.text}")
        for copy in range(copies):
            pieces, last = [], 0
            for m in found:
                form, k = forms[m.group(0).lower()]
                other = rng.choice([j for j in range(len(terms)) if j != k])
                word = terms[other][0 if form == "adj" else 1]
                pieces += [e.text[last : m.start()], _cased(word, m.group(0))]
                last = m.end()
            pieces.append(e.text[last:])
            meta = {"counterfactual_of": index, "copy": copy}
            out.append(Example("".join(pieces), e.labels, "counterfactual", TRAIN, meta))
    return out


_NOT_COPIED = frozenset(
    {
        "templates",
        "threat_templates",
        "attack_templates",
        "counter_templates",
        "innocent_words",
        "extra",
    }
)


def _cased(word: str, like: str) -> str:
    """`word` in the capitalisation of `like` (MUSLIMS -> JEWS, muslims -> jews)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like.islower():
        return word.lower()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
