"""Our own evaluation sets (training/eval/): neutral identity sentences and contrast sets.

Held out by construction: written for evaluation only, never read by training, and checked by
tests/training/test_evalsets.py to share no template with training/data/. Pure and
deterministic: it reads only the files in `EVAL_DIR` and uses no randomness, so every call
returns the same rows in the same order.

- `neutral_identity()`: sentences that name an identity and break no rule (templates x terms,
  expanded only where every form a template uses exists, so each sentence stays grammatical).
  A model should flag none of them; the share it holds or rejects is its false-flag rate.
- `contrast_set(name)`: rows that should be flagged (held or rejected) with their category,
  beside rows in the same shapes that should be allowed. Each file's header states its policy line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from moderator.policy import Category

EVAL_DIR = Path(__file__).resolve().parent / "eval"
TERMS_FILE = "identity_terms.tsv"
TEMPLATES_FILE = "neutral_templates.txt"
#: Innocent sentences holding (or looking like) a listed word: none may ever be rejected.
INNOCENT_FILE = "innocent_words.tsv"

AXES = ("religion", "nationality", "ethnicity", "orientation", "gender", "disability", "caste")
#: The contrast sets, each in training/eval/contrast_<name>.tsv.
CONTRAST_SETS = ("stereotypes", "wished_violence", "insults", "counter_speech", "emoji")
FLAG = "flag"
ALLOW = "allow"
#: A template's placeholders; a capitalised name ("{Plural}") capitalises the first letter.
PLACEHOLDERS = ("adj", "a_adj", "cadj", "a_cadj", "plural", "one", "community")
MISSING = "-"

_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


class EvalSetError(ValueError):
    """An evaluation file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class IdentityTerm:
    """One identity group in every form the templates use (None where a form reads badly)."""

    axis: str
    adj: str | None
    article: str | None
    plural: str
    one: str
    community: str | None
    culture: bool

    def forms(self) -> dict[str, str]:
        """Placeholder name -> text, for the forms this term has."""
        forms = {"plural": self.plural, "one": self.one}
        if self.adj is not None and self.article is not None:
            forms["adj"] = self.adj
            forms["a_adj"] = f"{self.article} {self.adj}"
            if self.culture:
                forms["cadj"] = self.adj
                forms["a_cadj"] = forms["a_adj"]
        if self.community is not None:
            forms["community"] = self.community
        return forms


@dataclass(frozen=True)
class NeutralRow:
    """One neutral sentence and what it was made of."""

    text: str
    axis: str
    term: str
    template: str


@dataclass(frozen=True)
class ContrastRow:
    """One contrast-set row: the text, `flag` or `allow`, and the category when flagged."""

    text: str
    expected: str
    category: Category | None


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) for the non-blank, non-comment lines; only line ends are stripped.

    Emoji rows end in variation selectors and joiners, so text is never otherwise trimmed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"cannot read {path}: {exc}") from None
    return [
        (n, line.rstrip("\r"))
        for n, line in enumerate(text.split("\n"), 1)
        if line.strip() and not line.startswith("#")
    ]


def _form(value: str) -> str | None:
    return None if value == MISSING else value


def identity_terms(eval_dir: Path = EVAL_DIR) -> list[IdentityTerm]:
    """The identity terms of training/eval/identity_terms.tsv, in file order."""
    path = eval_dir / TERMS_FILE
    terms = []
    for n, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 7:
            raise EvalSetError(f"{path}:{n}: expected 7 tab-separated fields, got {len(fields)}")
        axis, adj, article, plural, one, community, culture = (f.strip() for f in fields)
        if axis not in AXES:
            raise EvalSetError(f"{path}:{n}: unknown axis {axis!r}")
        if article not in ("a", "an", MISSING) or (adj == MISSING) != (article == MISSING):
            raise EvalSetError(f"{path}:{n}: article must be a or an, and - exactly when adj is")
        if culture not in ("yes", "no") or (culture == "yes" and adj == MISSING):
            raise EvalSetError(f"{path}:{n}: culture must be yes or no (no without an adj)")
        if MISSING in (plural, one):
            raise EvalSetError(f"{path}:{n}: every term needs a plural and a singular form")
        terms.append(
            IdentityTerm(
                axis=axis,
                adj=_form(adj),
                article=_form(article),
                plural=plural,
                one=one,
                community=_form(community),
                culture=culture == "yes",
            )
        )
    if not terms:
        raise EvalSetError(f"{path}: no terms")
    return terms


def neutral_templates(eval_dir: Path = EVAL_DIR) -> list[str]:
    """The templates of training/eval/neutral_templates.txt, in file order."""
    path = eval_dir / TEMPLATES_FILE
    templates = []
    for n, line in _lines(path):
        names = [m.group(1) for m in _PLACEHOLDER.finditer(line)]
        if not names:
            raise EvalSetError(f"{path}:{n}: a template needs a placeholder")
        unknown = sorted({name for name in names if name.lower() not in PLACEHOLDERS})
        if unknown:
            raise EvalSetError(f"{path}:{n}: unknown placeholder(s) {unknown}")
        if "{" in _PLACEHOLDER.sub("", line) or "}" in _PLACEHOLDER.sub("", line):
            raise EvalSetError(f"{path}:{n}: unbalanced brace")
        templates.append(line.strip())
    if not templates:
        raise EvalSetError(f"{path}: no templates")
    return templates


def expand(template: str, term: IdentityTerm) -> str | None:
    """The template filled with the term's forms, or None when the term lacks one of them."""
    forms = term.forms()
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        value = forms.get(name.lower())
        if value is None:
            missing = True
            return ""
        return value[:1].upper() + value[1:] if name[:1].isupper() else value

    text = _PLACEHOLDER.sub(fill, template)
    return None if missing else text


def neutral_identity_rows(eval_dir: Path = EVAL_DIR) -> list[NeutralRow]:
    """Every template expanded with every term that fits it; a repeated sentence is kept once."""
    terms = identity_terms(eval_dir)
    rows, seen = [], set()
    for template in neutral_templates(eval_dir):
        for term in terms:
            text = expand(template, term)
            if text is None or text in seen:
                continue
            seen.add(text)
            rows.append(NeutralRow(text, term.axis, term.plural, template))
    return rows


def neutral_identity(eval_dir: Path = EVAL_DIR) -> list[str]:
    """The neutral identity evaluation sentences (false-flag measure), in a fixed order."""
    return [row.text for row in neutral_identity_rows(eval_dir)]


def contrast_set(name: str, eval_dir: Path = EVAL_DIR) -> list[ContrastRow]:
    """One contrast set's rows, in file order (see CONTRAST_SETS for the names)."""
    if name not in CONTRAST_SETS:
        raise EvalSetError(f"unknown contrast set {name!r}; one of {', '.join(CONTRAST_SETS)}")
    path = eval_dir / f"contrast_{name}.tsv"
    rows, seen = [], set()
    for n, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            raise EvalSetError(f"{path}:{n}: expected 3 tab-separated fields, got {len(fields)}")
        expected, category, text = fields
        if expected not in (FLAG, ALLOW):
            raise EvalSetError(f"{path}:{n}: expected must be flag or allow, got {expected!r}")
        if expected == ALLOW and category != MISSING:
            raise EvalSetError(f"{path}:{n}: an allow row has category -")
        if expected == FLAG and category not in set(Category):
            raise EvalSetError(f"{path}:{n}: unknown category {category!r}")
        if not text.strip():
            raise EvalSetError(f"{path}:{n}: empty text")
        if text in seen:
            raise EvalSetError(f"{path}:{n}: repeated text {text!r}")
        seen.add(text)
        rows.append(ContrastRow(text, expected, Category(category) if expected == FLAG else None))
    if not rows:
        raise EvalSetError(f"{path}: no rows")
    return rows


def contrast_sets(eval_dir: Path = EVAL_DIR) -> dict[str, list[ContrastRow]]:
    """Every contrast set by name."""
    return {name: contrast_set(name, eval_dir) for name in CONTRAST_SETS}


def innocent_word_rows(eval_dir: Path = EVAL_DIR) -> list[tuple[str, str]]:
    """(theme, sentence) rows of innocent_words.tsv: names, places, animals, idioms, medicine,
    history, crime reports and sport that contain or look like a listed word. The file is
    ASCII; `\\uXXXX` in a sentence stands for that character."""
    rows = []
    for number, line in _lines(eval_dir / INNOCENT_FILE):
        theme, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise EvalSetError(f"{INNOCENT_FILE} line {number}: expected theme<TAB>sentence")
        rows.append((theme, text.encode("ascii").decode("unicode_escape")))
    return rows


def innocent_words(eval_dir: Path = EVAL_DIR) -> list[str]:
    """The innocent-word sentences alone."""
    return [text for _, text in innocent_word_rows(eval_dir)]
