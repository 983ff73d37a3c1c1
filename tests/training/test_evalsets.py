"""Our evaluation sets: sizes, grammar, balance, determinism, and independence from training."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from moderator.policy import Category
from training import evalsets
from training.evalsets import ALLOW
from training.evalsets import AXES
from training.evalsets import CONTRAST_SETS
from training.evalsets import FLAG
from training.evalsets import EvalSetError
from training.evalsets import IdentityTerm

TRAINING_DATA = Path(evalsets.__file__).resolve().parent / "data"

#: Words that take "a" although they start with a vowel letter (a "yoo" or "wuh" sound).
A_BEFORE_VOWEL = {"one", "ukrainian", "uyghur", "european", "union", "university", "user"}
#: Letters whose name starts with a vowel sound, for initialisms ("an LGBTQ person").
VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")
PRONOUNS = re.compile(r"\b(he|she|him|her|his|hers|himself|herself)\b", re.IGNORECASE)


def article_fits(article: str, word: str) -> bool:
    """Whether "a"/"an" is right before `word` (by sound, for the words our sets use)."""
    if word.isupper() and len(word) > 1:
        vowel_sound = word[0] in VOWEL_SOUND_LETTERS
    else:
        vowel_sound = word[0].lower() in "aeiou" and word.lower() not in A_BEFORE_VOWEL
        vowel_sound = vowel_sound or word.lower() in {"hour", "honest", "heir"}
    return (article.lower() == "an") == vowel_sound


@pytest.fixture(scope="module")
def neutral_rows():
    return evalsets.neutral_identity_rows()


def test_neutral_identity_has_at_least_2000_distinct_sentences(neutral_rows):
    texts = evalsets.neutral_identity()
    assert len(texts) >= 2000
    assert len(set(texts)) == len(texts)
    assert texts == [r.text for r in neutral_rows]


def test_neutral_identity_covers_every_axis_with_many_sentences(neutral_rows):
    per_axis = Counter(r.axis for r in neutral_rows)
    assert set(per_axis) == set(AXES)
    assert min(per_axis.values()) >= 200, per_axis
    per_term = Counter(r.term for r in neutral_rows)
    assert min(per_term.values()) >= 40, per_term.most_common()[-5:]


def test_there_are_many_varied_templates_each_used_by_many_terms(neutral_rows):
    templates = evalsets.neutral_templates()
    assert len(templates) >= 60
    assert len(set(templates)) == len(templates)
    per_template = Counter(r.template for r in neutral_rows)
    assert set(per_template) == set(templates), "a template that no term fits"
    assert min(per_template.values()) >= 20
    lengths = [len(t.split()) for t in templates]
    assert min(lengths) <= 4 and max(lengths) >= 30, "short and long sentences both"
    assert sum(t.endswith("?") for t in templates) >= 8, "questions"
    assert sum(bool(re.match(r"(I|I'm|My|As) ", t)) for t in templates) >= 8, "first person"


def test_every_neutral_sentence_reads_as_a_sentence(neutral_rows):
    for row in neutral_rows:
        text = row.text
        assert "{" not in text and "}" not in text, text
        assert text[0].isupper() or text[0].isdigit(), text
        assert text[-1] in ".?!", text
        assert "  " not in text and " ," not in text and " ." not in text, text
        for article, word in re.findall(r"\b([Aa]n?) ([A-Za-z][\w-]*)", text):
            assert article_fits(article, word), f"{article} {word}: {text}"


def test_templates_agree_in_number_and_never_give_one_person_a_pronoun():
    for template in evalsets.neutral_templates():
        assert not re.search(r"\{plural\} (is|was|has)\b", template, re.I), template
        assert not re.search(r"\{(one|community)\} (are|were|have)\b", template, re.I), template
        if re.search(r"\{one\}", template, re.I):
            assert not PRONOUNS.search(template), template


def test_terms_have_an_article_that_fits_their_adjective():
    for term in evalsets.identity_terms():
        if term.adj is not None:
            assert article_fits(term.article, term.adj.split()[0]), term
        article, _, word = term.one.partition(" ")
        assert article_fits(article, word.split()[0]), term
        assert term.community is None or term.community.startswith("the "), term


def test_expand_fills_capitalised_forms_and_skips_terms_missing_a_form():
    term = IdentityTerm("gender", "non-binary", "a", "non-binary people", "a non-binary person",
                        None, False)  # fmt: skip
    assert evalsets.expand("{Plural} vote; {a_adj} friend.", term) == (
        "Non-binary people vote; a non-binary friend."
    )
    assert evalsets.expand("{One} came.", term) == "A non-binary person came."
    assert evalsets.expand("Leaders of {community} spoke.", term) is None
    assert evalsets.expand("{A_cadj} wedding.", term) is None
    no_adj = IdentityTerm("disability", None, None, "wheelchair users", "a wheelchair user",
                          None, False)  # fmt: skip
    assert evalsets.expand("My {adj} neighbour.", no_adj) is None
    assert evalsets.expand("{Plural} vote.", no_adj) == "Wheelchair users vote."


@pytest.mark.parametrize("name", CONTRAST_SETS)
def test_contrast_sets_are_big_balanced_and_labelled(name):
    rows = evalsets.contrast_set(name)
    counts = Counter(r.expected for r in rows)
    assert len(rows) >= 60
    assert counts[FLAG] >= 30 and counts[ALLOW] >= 30
    assert abs(counts[FLAG] - counts[ALLOW]) <= 0.1 * len(rows), counts
    assert len({r.text for r in rows}) == len(rows)
    for r in rows:
        assert (r.category is None) == (r.expected == ALLOW), r
        assert r.category is None or r.category in set(Category)


def test_contrast_sets_flag_the_category_each_set_is_about():
    sets = evalsets.contrast_sets()
    assert list(sets) == list(CONTRAST_SETS)
    main = {
        "stereotypes": Category.IDENTITY_ATTACK,
        "wished_violence": Category.THREAT,
        "insults": Category.INSULT,
        "emoji": Category.OBSCENE,
    }
    for name, category in main.items():
        flagged = [r.category for r in sets[name] if r.expected == FLAG]
        assert Counter(flagged).most_common(1)[0][0] is category
    emoji = [r for r in sets["emoji"] if r.expected == FLAG]
    for tone in "\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff":
        assert any(r.text == "\U0001f595" + tone for r in emoji), tone
    assert any(r.text.endswith("\ufe0e") for r in emoji), "text presentation selector kept"


def test_loaders_are_deterministic():
    assert evalsets.neutral_identity() == evalsets.neutral_identity()
    assert evalsets.contrast_sets() == evalsets.contrast_sets()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _chunks(line: str) -> list[list[str]]:
    """A line's literal word runs, split at any {placeholder}."""
    return [_words(part) for part in re.split(r"\{[^}]*\}", line)]


def _shingles(chunks: list[list[str]], n: int) -> set[tuple[str, ...]]:
    return {tuple(c[i : i + n]) for c in chunks for i in range(len(c) - n + 1)}


def _skeleton(line: str) -> str:
    return " ".join(" ".join(c) for c in _chunks(line)).strip()


SHINGLE = 6


def overlapping(ours: list[str], theirs: list[str]) -> list[str]:
    """Our lines that repeat one of theirs (as a skeleton or in full) or six words of one."""
    their_shingles = set().union(set(), *(_shingles(_chunks(line), SHINGLE) for line in theirs))
    their_skeletons = {_skeleton(line) for line in theirs}
    their_lines = {" ".join(_words(line)) for line in theirs}
    return [
        line
        for line in ours
        if _skeleton(line) in their_skeletons
        or " ".join(_words(line)) in their_lines
        or _shingles(_chunks(line), SHINGLE) & their_shingles
    ]


def test_overlap_check_catches_copies_and_near_copies():
    theirs = ["{group} are wonderful neighbours.", "I will shoot you an email about it tomorrow"]
    assert overlapping(["{Plural} are wonderful neighbours."], theirs)
    assert overlapping(["Honestly, I will shoot you an email about it soon."], theirs)
    assert not overlapping(["{Plural} are kind neighbours.", "I will email you."], theirs)


def test_no_evaluation_text_is_shared_with_the_training_templates():
    """No template, sentence or contrast row repeats a training template or six words of one.

    Reads training/data/ only to compare; the failure message shows our text, never theirs.
    """
    theirs = [
        line
        for path in sorted(TRAINING_DATA.glob("*"))
        if path.is_file()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if not theirs:
        pytest.skip("no training templates in training/data/")
    ours = evalsets.neutral_templates() + [
        r.text for rows in evalsets.contrast_sets().values() for r in rows
    ]
    shared = overlapping(ours, theirs)
    assert not shared, f"evaluation text that overlaps a training template: {shared}"


def _write_eval_dir(tmp_path: Path, terms: str, templates: str) -> Path:
    (tmp_path / "identity_terms.tsv").write_text(terms, encoding="utf-8")
    (tmp_path / "neutral_templates.txt").write_text(templates, encoding="utf-8")
    return tmp_path


GOOD_TERM = "religion\tSikh\ta\tSikhs\ta Sikh\tthe Sikh community\tyes\n"


@pytest.mark.parametrize(
    "terms, templates, message",
    [
        ("nation\tX\ta\tXs\ta X\t-\tno\n", "{Plural} vote.\n", "unknown axis"),
        ("religion\tSikh\ta\tSikhs\n", "{Plural} vote.\n", "7 tab-separated fields"),
        ("religion\tSikh\tthe\tSikhs\ta Sikh\t-\tno\n", "{Plural} vote.\n", "article"),
        ("religion\t-\ta\tSikhs\ta Sikh\t-\tno\n", "{Plural} vote.\n", "article"),
        ("religion\tSikh\ta\tSikhs\ta Sikh\t-\tmaybe\n", "{Plural} vote.\n", "culture"),
        ("religion\tSikh\ta\t-\ta Sikh\t-\tno\n", "{Plural} vote.\n", "plural"),
        ("# only a comment\n", "{Plural} vote.\n", "no terms"),
        (GOOD_TERM, "Nothing to fill.\n", "needs a placeholder"),
        (GOOD_TERM, "{people} vote.\n", "unknown placeholder"),
        (GOOD_TERM, "{plural} vote {.\n", "unbalanced brace"),
        (GOOD_TERM, "\n# nothing\n", "no templates"),
    ],
)
def test_malformed_neutral_files_are_refused_with_file_and_line(
    tmp_path, terms, templates, message
):
    eval_dir = _write_eval_dir(tmp_path, terms, templates)
    with pytest.raises(EvalSetError, match=message):
        evalsets.neutral_identity(eval_dir)


def test_a_missing_file_is_an_eval_set_error(tmp_path):
    with pytest.raises(EvalSetError, match="cannot read"):
        evalsets.neutral_identity(tmp_path)
    with pytest.raises(EvalSetError, match="cannot read"):
        evalsets.contrast_set("emoji", tmp_path)


@pytest.mark.parametrize(
    "content, message",
    [
        ("flag\tinsult\n", "3 tab-separated fields"),
        ("block\tinsult\tYou fool.\n", "flag or allow"),
        ("flag\trudeness\tYou fool.\n", "unknown category"),
        ("allow\tinsult\tYou fool.\n", "category -"),
        ("flag\tinsult\t \n", "empty text"),
        ("flag\tinsult\tYou fool.\nflag\tinsult\tYou fool.\n", "repeated text"),
        ("# nothing\n", "no rows"),
    ],
)
def test_malformed_contrast_files_are_refused(tmp_path, content, message):
    (tmp_path / "contrast_insults.tsv").write_text(content, encoding="utf-8")
    with pytest.raises(EvalSetError, match=message):
        evalsets.contrast_set("insults", tmp_path)


def test_an_unknown_contrast_set_is_refused():
    with pytest.raises(EvalSetError, match="unknown contrast set"):
        evalsets.contrast_set("../../etc/passwd")


def test_contrast_rows_keep_invisible_emoji_characters(tmp_path):
    text = "\U0001f595\u200d\U0001f595"
    (tmp_path / "contrast_emoji.tsv").write_text(f"flag\tobscene\t{text}\r\n", encoding="utf-8")
    assert evalsets.contrast_set("emoji", tmp_path)[0].text == text
