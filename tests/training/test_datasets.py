"""Label mapping, loaders, de-duplication, extra CSVs and sample weights."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from moderator.policy import CATEGORIES
from training import datasets
from training.datasets import SPANS
from training.datasets import TEST
from training.datasets import TRAIN
from training.datasets import DataError
from training.datasets import Example

N = math.nan
ORDER = [str(c) for c in CATEGORIES]  # toxicity, obscene, insult, identity_attack, threat


def same(got, expected) -> bool:
    return all(
        (math.isnan(g) and math.isnan(e)) or g == e for g, e in zip(got, expected, strict=True)
    )


def test_category_order_is_the_policy_order():
    assert ORDER == ["toxicity", "obscene", "insult", "identity_attack", "threat"]


@pytest.mark.parametrize(
    "a, b, c, expected",
    [
        ("NOT", "NULL", "NULL", (0, 0, 0, 0, 0)),
        ("OFF", "UNT", "NULL", (1, 1, 0, 0, 0)),
        ("OFF", "TIN", "IND", (1, N, 1, 0, N)),
        ("OFF", "TIN", "GRP", (1, N, N, 1, N)),
        ("OFF", "TIN", "OTH", (1, N, 0, 0, N)),
        ("OFF", "NULL", "NULL", (1, N, N, N, N)),
    ],
)
def test_olid_mapping(a, b, c, expected):
    assert same(datasets.olid_labels(a, b, c), expected)


@pytest.mark.parametrize(
    "klass, expected",
    [(0, (1, N, N, 1, N)), (1, (1, N, N, 0, N)), (2, (0, 0, 0, 0, 0))],
)
def test_davidson_mapping(klass, expected):
    assert same(datasets.davidson_labels(klass), expected)


@pytest.mark.parametrize(
    "t1, t2, t3, expected",
    [
        ("NOT", "NONE", "NONE", (0, 0, 0, 0, 0)),
        ("HOF", "HATE", "TIN", (1, N, N, 1, N)),
        ("HOF", "OFFN", "TIN", (1, N, 1, 0, N)),
        ("HOF", "PRFN", "UNT", (1, 1, 0, 0, 0)),
        ("HOF", "PRFN", "TIN", (1, 1, 0, 0, N)),
    ],
)
def test_hasoc_mapping(t1, t2, t3, expected):
    assert same(datasets.hasoc_labels(t1, t2, t3), expected)


@pytest.mark.parametrize(
    "hd, cv, vo, expected",
    [
        (0, 0, 0, (0, 0, 0, 0, 0)),
        (1, 0, 0, (1, 0, N, 1, 0)),
        (0, 1, 0, (1, 0, N, 0, 1)),
        (0, 0, 1, (1, 1, N, 0, 0)),
        (1, 1, 1, (1, 1, N, 1, 1)),
    ],
)
def test_ghc_mapping(hd, cv, vo, expected):
    assert same(datasets.ghc_labels(hd, cv, vo), expected)


@pytest.mark.parametrize(
    "sexist, category, vector, expected",
    [
        ("not sexist", "none", "none", (N, N, N, 0, N)),
        (
            "sexist",
            "1. threats, plans to harm and incitement",
            "1.1 threats of harm",
            (N, N, N, 1, 1),
        ),
        ("sexist", "2. derogation", "2.1 descriptive attacks", (N, N, N, 1, 0)),
        (
            "sexist",
            "3. animosity",
            "3.1 casual use of gendered slurs, profanities, and insults",
            (N, 1, N, 1, 0),
        ),
    ],
)
def test_edos_mapping(sexist, category, vector, expected):
    assert same(datasets.edos_labels(sexist, category, vector), expected)


def test_toxic_spans_mapping_only_labels_toxicity():
    assert same(datasets.toxic_spans_labels(), (1, N, N, N, N))


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.olid_labels("MAYBE", "NULL", "NULL"),
        lambda: datasets.davidson_labels(3),
        lambda: datasets.hasoc_labels("YES", "NONE", "NONE"),
        lambda: datasets.ghc_labels(2, 0, 0),
        lambda: datasets.edos_labels("unsure", "none", "none"),
    ],
)
def test_unknown_source_labels_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_every_mapped_dataset_is_documented():
    assert set(datasets.LOADERS) <= set(datasets.LABEL_MAPPING)
    assert {"templates", "extra"} <= set(datasets.LABEL_MAPPING)


def test_loaders_read_the_fixture_files(data_dir):
    olid = datasets.load_olid(data_dir)
    assert Counter(e.split for e in olid) == {TRAIN: 72, TEST: 36}
    assert all(e.source == "olid" for e in olid)
    davidson = datasets.load_davidson(data_dir)
    tests = [e for e in davidson if e.split == TEST]
    assert len(tests) == round(len(davidson) * 0.2)
    assert {e.meta["class"] for e in tests} == {0, 1, 2}
    assert [e.split for e in davidson] == [e.split for e in datasets.load_davidson(data_dir)]
    assert {e.split for e in datasets.load_hasoc(data_dir)} == {TRAIN, TEST}
    assert {e.split for e in datasets.load_ghc(data_dir)} == {TRAIN, TEST}
    edos = datasets.load_edos(data_dir)
    assert Counter(e.split for e in edos)[TEST] == 20
    spans = datasets.load_toxic_spans(data_dir)
    trial = [e for e in spans if e.split == SPANS]
    assert len(trial) == 11 and all(math.isnan(v) for v in trial[0].labels)
    snippets = [e.text for e in spans if e.split == TRAIN]
    assert snippets and all(
        w in {"idiot", "moron", "stupid", "pathetic", "loser"} for w in snippets
    )


def test_span_text_joins_contiguous_runs():
    text = "you are a moron and an idiot"
    offsets = [*range(10, 15), *range(23, 28), 500]
    assert datasets.span_text(text, offsets) == "moron idiot"
    assert datasets.span_text(text, []) == ""


def test_load_all_keeps_test_texts_out_of_training(data_dir):
    examples = datasets.load_all(data_dir)
    keys = {(e.source, e.split) for e in examples}
    assert ("templates", TRAIN) in keys and ("toxic_spans", SPANS) in keys
    normalised = {e.split: set() for e in examples}
    for e in examples:
        normalised[e.split].add(datasets.normalise(e.text))
    overlap = normalised[TRAIN] & (normalised[TEST] | normalised[SPANS])
    assert not overlap
    olid_test = [e for e in examples if e.source == "olid" and e.split == TEST]
    assert len(olid_test) == 36, "OLID's official test stays complete"


def test_deduplicate_rules():
    def ex(text, source, split):
        return Example(text, (0, 0, 0, 0, 0), source, split)

    rows = [
        ex("same text", "hasoc2019", TRAIN),
        ex("Same  text", "hasoc2019", TRAIN),  # repeat within train: dropped
        ex("same text", "hasoc2019", TEST),  # HASOC test text also in train: dropped from test
        ex("held out", "olid", TEST),
        ex("held out", "olid", TEST),  # OLID official test kept whole
        ex("held out", "gab", TRAIN),  # equals another dataset's test text: dropped
        ex("held out", "extra", TRAIN),  # moderators' decisions are kept
    ]
    kept = datasets.deduplicate(rows)
    assert [(e.text, e.source, e.split) for e in kept] == [
        ("same text", "hasoc2019", TRAIN),
        ("held out", "olid", TEST),
        ("held out", "olid", TEST),
        ("held out", "extra", TRAIN),
    ]


def test_load_extra_reads_labels_and_provenance(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(
        "text,toxicity,threat,source,decided_by,decided_at\n"
        "I will find you,1,1,dashboard,alice,2026-11-25\n"
        "nice photo,0,,dashboard,bob,2026-11-25\n"
        '"quoted, with comma",true,no,,,\n'
    )
    rows = datasets.load_extra(path)
    assert same(rows[0].labels, (1, N, N, N, 1))
    assert same(rows[1].labels, (0, N, N, N, N))
    assert same(rows[2].labels, (1, N, N, N, 0))
    assert rows[0].meta == {
        "source": "dashboard",
        "decided_by": "alice",
        "decided_at": "2026-11-25",
    }
    assert rows[2].text == "quoted, with comma"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "text\nhello\n",
        "text,toxicity\nhello,2\n",
        "text,toxicity\n   ,1\n",
        "text,toxicity,notes\nhello,1,x\n",
        "text,toxicity\nhello,1,extra-field\n",
    ],
)
def test_load_extra_refuses_bad_files(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match="bad.csv"):
        datasets.load_extra(path)


def test_load_extra_refuses_non_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,toxicity\ncaf\xe9,0\n".encode("latin-1"))
    with pytest.raises(DataError, match="cannot read"):
        datasets.load_extra(path)


def test_validation_split_is_seeded_and_only_training(data_dir):
    examples = datasets.load_all(data_dir)
    first = datasets.validation_split(examples, 0.1, 5)
    assert first == datasets.validation_split(examples, 0.1, 5)
    assert first != datasets.validation_split(examples, 0.1, 6)
    assert all(examples[i].split == TRAIN for i in first)
    assert not {examples[i].source for i in first} & datasets.NO_VALIDATION


def test_template_weights_balance_identity_terms():
    def ex(text, labels, source="olid"):
        return Example(text, labels, source, TRAIN)

    rows = [ex(f"muslims are bad {i}", (1, N, N, 1, N)) for i in range(40)]
    rows += [ex(f"the weather {i}", (0, 0, 0, 0, 0)) for i in range(60)]
    rows += [ex("the festival of muslims", (0, 0, 0, 0, 0), "templates")]
    rows += [ex("the festival of sikhs", (0, 0, 0, 0, 0), "templates")]
    rows += [ex("idiot", (1, N, N, N, N), "toxic_spans")]
    rows[-3].meta["term"] = ("Muslim", "Muslims")
    rows[-2].meta["term"] = ("Sikh", "Sikhs")
    weights = datasets.sample_weights(rows, [e.text for e in rows])
    assert weights[-3] == datasets.MAX_TEMPLATE_WEIGHT  # 40 attacks, no neutral mention
    assert weights[-2] == 1.0  # no attacks on Sikhs in the data
    assert weights[-1] == datasets.SNIPPET_WEIGHT
    assert weights[0] == 1.0


def test_templates_fill_every_term():
    rows = datasets.load_templates()
    assert rows and all(set(e.labels) == {0.0} for e in rows)
    assert not any("{" in e.text for e in rows)
    assert any("muslims" in e.text.lower() for e in rows)


@pytest.mark.data
def test_real_data_loads_with_official_sizes(real_data_dir: Path):
    examples = datasets.load_all(real_data_dir)
    count = Counter((e.source, e.split) for e in examples)
    assert count[("olid", TEST)] == 860
    assert count[("edos", TEST)] == 4000
    assert 1140 < count[("hasoc2019", TEST)] <= 1153  # de-duplicated
    assert count[("toxic_spans", SPANS)] == 690
    assert 5350 < count[("gab", TEST)] < 5510  # de-duplicated
    assert 4900 < count[("davidson", TEST)] < 5000
    hashes = datasets.file_hashes(real_data_dir)
    assert hashes["olid/olid_test.csv"].startswith("89d60d4a8cd5")


def test_attack_templates_fill_every_group_and_keep_harmless_uses_clean(tmp_path):
    import math

    from training.datasets import load_attack_templates

    (tmp_path / "identity_terms.txt").write_text(
        "# adj<TAB>plural\nMuslim\tMuslims\nDeaf\tdeaf people\n"
    )
    (tmp_path / "attack_templates.txt").write_text(
        "# comment\n1\t{group} are vermin\n0\tvermin got into the barn\nbogus line\n"
    )
    rows = load_attack_templates(tmp_path)
    assert [r.text for r in rows] == [
        "Muslims are vermin",
        "deaf people are vermin",
        "vermin got into the barn",
    ]
    attack, harmless = rows[0].labels, rows[2].labels
    assert (attack[0], attack[3]) == (1, 1)
    assert all(math.isnan(attack[j]) for j in (1, 2, 4))  # says nothing about the rest
    assert harmless == (0, 0, 0, 0, 0) or list(harmless) == [0, 0, 0, 0, 0]
    assert {r.source for r in rows} == {"attack_templates"}


# -- the datasets added for the decision-quality work -----------------------------------------


@pytest.mark.parametrize(("label", "expected"), [(1, (1, N, N, 1, N)), (0, (N, N, N, 0, N))])
def test_fox_news_mapping(label, expected):
    assert same(datasets.fox_labels(label), expected)


@pytest.mark.parametrize(
    ("sentiment", "target", "group", "expected"),
    [
        ("normal", "other", "other", (0, 0, 0, 0, 0)),
        ("offensive_normal", "other", "other", None),
        ("offensive", "disability", "individual", (1, N, 1, N, N)),
        ("hateful", "religion", "muslims", (1, N, N, 1, N)),
        ("hateful", "other", "other", (1, N, N, N, N)),
        ("fearful", "origin", "immigrants", (N, N, N, N, N)),
    ],
)
def test_mlma_mapping(sentiment, target, group, expected):
    got = datasets.mlma_labels(sentiment, target, group)
    assert got is None if expected is None else same(got, expected)


def vote(abusive=False, not_abusive=False, **types):
    return {"abusive": abusive, "not_abusive": not_abusive, **types}


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([vote(not_abusive=True)] * 3, (0, 0, 0, 0, 0)),
        ([vote(abusive=True, intellectual=True)] * 2 + [vote(not_abusive=True)], (1, N, 1, N, N)),
        ([vote(abusive=True, sexist=True), vote(abusive=True), vote()], (1, N, N, N, N)),
        ([vote(abusive=True, racist=True), vote(abusive=True, homophobic=True)], (1, N, N, 1, N)),
        ([vote(abusive=True, sex_harassment=True)] * 2, (1, 1, N, N, N)),
        ([vote(), vote(), vote(not_abusive=True)], None),
    ],
)
def test_convabuse_mapping_by_at_least_half_of_the_annotators(votes, expected):
    got = datasets.convabuse_labels(votes)
    assert got is None if expected is None else same(got, expected)


def test_typed_labels_leave_a_category_another_rater_chose_unlabelled():
    assert same(datasets.typed_labels("insult", set()), (1, 0, 1, 0, 0))
    assert same(datasets.typed_labels("obscene", {"insult"}), (1, 1, N, 0, 0))


@pytest.mark.parametrize(
    "call",
    [
        lambda: datasets.fox_labels(2),
        lambda: datasets.mlma_labels("angry", "other", "other"),
        lambda: datasets.convabuse_labels([]),
        lambda: datasets.typed_labels("spam", set()),
    ],
)
def test_unknown_labels_of_the_new_datasets_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_typed_snippets_and_sentences_come_from_train_posts_only(data_dir):
    rows = datasets.load_toxic_spans_types(data_dir)
    assert rows and all(e.split == TRAIN for e in rows)
    snippets = {e.text: e.labels for e in rows if e.source == "toxic_spans_types"}
    # Typed by every rater: an insult, and no rater called it obscene.
    assert same(snippets["idiot"], (1, 0, 1, 0, 0))
    assert same(snippets["fucking"], (1, 1, 0, 0, 0))
    assert "hurt you" in snippets and snippets["hurt you"][4] == 1
    # One rater of three is no majority: "useless" is not a snippet.
    assert "useless" not in snippets
    sentences = {e.text: e.labels for e in rows if e.source == "toxic_spans_sentences"}
    assert same(sentences["You are an idiot."], (1, 0, 1, 0, 0))
    # A sentence nobody marked, in a post whose raters marked spans: a weak negative.
    assert same(sentences["Thanks for nothing."], (0, 0, 0, 0, 0))
    # Trial posts are for evaluation only.
    assert not any("absolute" in e.text or "shitty" in e.text for e in rows)


def test_fox_news_holds_out_whole_articles(data_dir):
    rows = datasets.load_fox_news(data_dir)
    held = {e.meta["article"] for e in rows if e.split == TEST}
    trained = {e.meta["article"] for e in rows if e.split == TRAIN}
    assert len(held) == 2 and not held & trained
    assert [e.split for e in rows] == [e.split for e in datasets.load_fox_news(data_dir)]


def test_mlma_and_convabuse_loaders_read_the_fixture_files(data_dir):
    mlma = datasets.load_mlma(data_dir)
    assert len(mlma) == 11  # the tweet with "normal" mixed in is skipped
    assert all(e.split == TRAIN for e in mlma)
    convabuse = datasets.load_convabuse(data_dir)
    assert Counter(e.split for e in convabuse) == {TRAIN: 10, TEST: 3}  # one ambiguous turn
    labels = {e.text: e.labels for e in convabuse}
    assert same(labels["you are a useless idiot bot"], (1, N, 1, N, N))
    assert same(labels["hello there"], (0, 0, 0, 0, 0))
    assert "maybe" not in labels


def test_convabuse_repeat_annotations_are_averaged(tmp_path, data_dir):
    path = data_dir / "convabuse" / "ConvAbuseEMNLPtrain.csv"
    text = path.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    cells = text[2].split(",")  # "hello there": three not-abusive votes
    cells[header.index("Annotator1_is_abuse.1")] = '"1, 1"'
    path.write_text("\n".join([text[0], ",".join(cells)]) + "\n", encoding="utf-8")
    labels = {e.text: e.labels for e in datasets.load_convabuse(data_dir)}
    assert same(labels["hello there"], (0, 0, 0, 0, 0))
    assert "you are a useless idiot bot" not in labels  # the rows left out of the file


def test_counterfactual_copies_swap_groups_and_keep_labels():
    original = Example("Muslims are welcome here, MUSLIMS!", (0, 0, 0, 0, 0), "olid", TRAIN)
    other = Example("black coffee please", (0, 0, 0, 0, 0), "olid", TRAIN)
    copies = datasets.counterfactuals([original, other], copies=3, seed=1)
    assert len(copies) == 3 and all(c.meta["counterfactual_of"] == 0 for c in copies)
    for c in copies:
        assert c.labels == original.labels and c.source == "counterfactual"
        assert "Muslims" not in c.text and "MUSLIMS" not in c.text
        first, second = c.text.split(" are welcome here, ")
        assert second.rstrip("!").isupper() and first[0].isupper()
    assert copies == datasets.counterfactuals([original, other], copies=3, seed=1)


def test_templates_sample_targets_and_fill_possessives():
    threats = datasets.load_threat_templates()
    assert threats and not any("{" in e.text for e in threats)
    assert not any("you's" in e.text or "s's " in e.text for e in threats)
    counter = datasets.load_counter_templates()
    assert {e.labels[0] for e in counter} == {0.0, 1.0}
    assert not any("{" in e.text for e in counter)
