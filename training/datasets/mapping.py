"""The label mapping: each dataset's labels -> the policy categories, in one place.

`LABEL_MAPPING` documents the mapping in words (copied into model.json and the model card);
the `*_labels` functions implement it, one per source format. A dataset that says nothing
about a category leaves it NaN: unlabelled, never negative.
"""

from __future__ import annotations

from training.datasets.base import NAN
from training.datasets.base import every
from training.datasets.base import labels

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
        "training/data/threat_templates.txt, label 1": (
            "toxicity 1, threat 1 (threats, wished and conditional violence)"
        ),
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
    "toxic_spans_types": {
        "subtypes, train posts": (
            "characters a majority of the post's raters typed as Insult, Identity based Attack, "
            "Profane/Obscene or Threat -> that category 1 and toxicity 1; another specific "
            "category 0 when no rater typed those characters so, else unlabelled"
        ),
        "sentences of a train post": (
            "a sentence holding such majority-typed characters -> the same labels; a sentence "
            "of a post whose raters marked spans but none in that sentence -> all five 0 (weak "
            "negative, news-comment register)"
        ),
        "Other Toxicity": "toxicity only (already given by toxic_spans)",
        "why": (
            "per-category positives from real news comments (Civil Comments): insult was learned "
            "from two small tweet datasets; typed snippets also teach that 'idiot' is an insult, "
            "not obscene"
        ),
        "trial posts": "never trained on: typed span-F1 evaluation only",
    },
    "fox_news": {
        "label 1 (hateful)": "toxicity 1, identity_attack 1",
        "label 0": (
            "identity_attack 0 (the guidelines exclude insults between users, so toxicity and "
            "insult stay unlabelled)"
        ),
        "split": (
            "no official split: the comments under 2 of the 10 articles (seeded) are held out "
            "as a news-domain test"
        ),
    },
    "mlma": {
        "sentiment exactly normal": "all five categories 0",
        "normal mixed with a hostile label": "skipped (annotators disagreed)",
        "offensive, abusive, disrespectful or hateful": "toxicity 1",
        "hateful with a target other than 'other'": "identity_attack 1",
        "group individual and hostile": "insult 1",
        "note": (
            "fearful alone leaves toxicity unlabelled; no obscene or threat label; "
            "keyword-sampled and noisy, weighted 0.5"
        ),
    },
    "convabuse": {
        "at least half the annotators chose -1, -2 or -3": "toxicity 1",
        "at least half chose not abusive (1) and no abuse majority": "all five categories 0",
        "ambiguous (neither)": "skipped",
        "racist, homophobic, transphobic, sexist or ableist by at least half": "identity_attack 1",
        "intellectual by at least half": "insult 1",
        "sex_harassment by at least half": "obscene 1",
        "split": "official: train and valid are training data, test is held out",
    },
    "counter_templates": {
        "training/data/counter_templates.txt, label 0": (
            "all five categories 0 (abuse quoted, reported or rejected to condemn it)"
        ),
        "label 1": "toxicity 1, identity_attack 1 (the same abuse meant)",
        "why": "counter-speech was flagged most of the time: the abusive words alone decided",
    },
    "innocent_words": {
        "training/data/innocent_words.txt": "all five categories 0",
        "why": "place names, surnames and everyday words that hold a profane string (Scunthorpe, "
        "shiitake, cockpit): the character n-grams that catch disguises would flag them",
    },
    "counterfactual": {
        "every training row naming a group of identity_terms.txt": (
            "copies with the group swapped for other groups (same labels, weight shared), so "
            "that a group's name carries no evidence of its own (Garg et al. 2019, "
            "counterfactual data augmentation)"
        ),
    },
    "extra": {
        "columns": "text, any of the category names with 1, 0 or empty (= unlabelled)",
        "optional": "source, decided_by, decided_at (kept as provenance only)",
    },
}


def olid_labels(a: str, b: str, c: str) -> tuple[float, ...]:
    """OLID subtasks A/B/C -> category labels."""
    a, b, c = a.strip().upper(), b.strip().upper(), c.strip().upper()
    if a == "NOT":
        return every(0)
    if a != "OFF":
        raise ValueError(f"OLID subtask_a must be NOT or OFF, got {a!r}")
    if b == "UNT":
        return labels(toxicity=1, obscene=1, insult=0, identity_attack=0, threat=0)
    if b != "TIN":
        return labels(toxicity=1)
    if c == "IND":
        return labels(toxicity=1, insult=1, identity_attack=0)
    if c == "GRP":
        return labels(toxicity=1, identity_attack=1)
    if c == "OTH":
        return labels(toxicity=1, insult=0, identity_attack=0)
    return labels(toxicity=1)


def davidson_labels(klass: int) -> tuple[float, ...]:
    """Davidson class (0 hate, 1 offensive, 2 neither) -> category labels."""
    if klass == 0:
        return labels(toxicity=1, identity_attack=1)
    if klass == 1:
        return labels(toxicity=1, identity_attack=0)
    if klass == 2:
        return every(0)
    raise ValueError(f"Davidson class must be 0, 1 or 2, got {klass!r}")


def hasoc_labels(task_1: str, task_2: str, task_3: str) -> tuple[float, ...]:
    """HASOC 2019 task 1/2/3 -> category labels."""
    task_1, task_2, task_3 = task_1.strip(), task_2.strip(), task_3.strip()
    if task_1 == "NOT":
        return every(0)
    if task_1 != "HOF":
        raise ValueError(f"HASOC task_1 must be HOF or NOT, got {task_1!r}")
    if task_2 == "HATE":
        return labels(toxicity=1, identity_attack=1)
    if task_2 == "OFFN":
        return labels(toxicity=1, insult=1, identity_attack=0)
    if task_2 == "PRFN":
        threat = 0 if task_3 == "UNT" else NAN
        return labels(toxicity=1, obscene=1, insult=0, identity_attack=0, threat=threat)
    return labels(toxicity=1)


def ghc_labels(hd: int, cv: int, vo: int) -> tuple[float, ...]:
    """Gab Hate Corpus hd/cv/vo -> category labels."""
    for name, value in (("hd", hd), ("cv", cv), ("vo", vo)):
        if value not in (0, 1):
            raise ValueError(f"GHC {name} must be 0 or 1, got {value!r}")
    any_label = int(hd or cv or vo)
    insult = 0 if not any_label else NAN
    return labels(toxicity=any_label, obscene=vo, insult=insult, identity_attack=hd, threat=cv)


def edos_labels(sexist: str, category: str, vector: str) -> tuple[float, ...]:
    """EDOS task A/B/C -> category labels."""
    sexist = sexist.strip()
    if sexist == "not sexist":
        return labels(identity_attack=0)
    if sexist != "sexist":
        raise ValueError(f"EDOS label_sexist must be sexist or not sexist, got {sexist!r}")
    threat = 1 if category.strip().startswith("1.") else 0
    obscene = 1 if vector.strip().startswith("3.1") else NAN
    return labels(identity_attack=1, threat=threat, obscene=obscene)


def toxic_spans_labels() -> tuple[float, ...]:
    """A toxic span's words are toxic; nothing else is known."""
    return labels(toxicity=1)


def fox_labels(label: int) -> tuple[float, ...]:
    """Fox News comments: 1 hateful, 0 not."""
    if label == 1:
        return labels(toxicity=1, identity_attack=1)
    if label == 0:
        return labels(identity_attack=0)
    raise ValueError(f"Fox News label must be 0 or 1, got {label!r}")


MLMA_SENTIMENTS = frozenset(
    {"offensive", "hateful", "abusive", "disrespectful", "fearful", "normal"}
)


def mlma_labels(sentiment: str, target: str, group: str) -> tuple[float, ...] | None:
    """MLMA hostility type, target attribute and group -> labels; None = skip the tweet."""
    tokens = set(sentiment.strip().split("_"))
    if not tokens or not tokens <= MLMA_SENTIMENTS:
        raise ValueError(f"MLMA sentiment {sentiment!r} has unknown labels")
    if tokens == {"normal"}:
        return every(0)
    if "normal" in tokens:
        return None
    toxic = bool(tokens & {"offensive", "abusive", "disrespectful", "hateful"})
    values: dict[str, float] = {}
    if toxic:
        values["toxicity"] = 1
    if "hateful" in tokens and target.strip() != "other":
        values["identity_attack"] = 1
    if toxic and group.strip() == "individual":
        values["insult"] = 1
    return labels(**values)


CONVABUSE_IDENTITY = ("racist", "homophobic", "transphobic", "sexist", "ableist")


def convabuse_labels(annotations: list[dict[str, bool]]) -> tuple[float, ...] | None:
    """ConvAbuse: one dict per annotator of the turn (`abusive`, `not_abusive` and each type)
    -> labels by at-least-half votes; None = ambiguous, skip."""
    if not annotations:
        raise ValueError("a ConvAbuse turn needs at least one annotator")
    half = len(annotations) / 2

    def votes(key: str) -> int:
        return sum(1 for a in annotations if a.get(key))

    if votes("abusive") >= half:
        values: dict[str, float] = {"toxicity": 1}
        if sum(1 for a in annotations if any(a.get(t) for t in CONVABUSE_IDENTITY)) >= half:
            values["identity_attack"] = 1
        if votes("intellectual") >= half:
            values["insult"] = 1
        if votes("sex_harassment") >= half:
            values["obscene"] = 1
        return labels(**values)
    if votes("not_abusive") >= half:
        return every(0)
    return None


TYPED_CATEGORIES = ("insult", "identity_attack", "obscene", "threat")


def typed_labels(category: str, others_typed: set[str]) -> tuple[float, ...]:
    """A majority-typed toxic_spans snippet or sentence: its category 1, toxicity 1, another
    specific category 0 unless some rater typed it so too (then unlabelled)."""
    if category not in TYPED_CATEGORIES:
        raise ValueError(f"unknown span type {category!r}")
    values: dict[str, float] = {"toxicity": 1, category: 1}
    for other in TYPED_CATEGORIES:
        if other != category and other not in values:
            values[other] = NAN if other in others_typed else 0
    return labels(**values)
