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
