"""`python -m training export-labels`: human decisions become training labels, and retraining
on them moves the model's scores on the decided comments (the whole loop, on tiny data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderator.classifier import Classifier
from moderator.policy import CATEGORIES
from training import labels
from training.cli import cli as training_cli

CATS = [str(c) for c in CATEGORIES]
BLANK = dict.fromkeys(CATS, "")


def decide(dashboard, comment_id: str, decision: str, reason_code: str = "", note: str = ""):
    data = {"decision": decision, "version": "1", "reason_code": reason_code, "note": note}
    response = dashboard.post(f"/dashboard/comments/{comment_id}/decision", data)
    assert response.status_code == 303, response.get_data(as_text=True)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def export(runner_env: dict, *args: str) -> tuple[int, str]:
    result = CliRunner(env=runner_env).invoke(training_cli, ["export-labels", *args])
    return result.exit_code, result.output


@pytest.fixture
def env(config) -> dict[str, str]:
    return {
        "DATABASE_URL": config.database_url,
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
    }


# -- the mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "reason", "expected"),
    [
        ("approve", None, dict.fromkeys(CATS, 0)),
        ("approve", "insult", dict.fromkeys(CATS, 0)),
        ("reject", "toxicity", {**dict.fromkeys(CATS), "toxicity": 1}),
        ("reject", "insult", {**dict.fromkeys(CATS), "toxicity": 1, "insult": 1}),
        ("reject", "threat", {**dict.fromkeys(CATS), "toxicity": 1, "threat": 1}),
        ("reject", "obscene", {**dict.fromkeys(CATS), "toxicity": 1, "obscene": 1}),
        (
            "reject",
            "identity_attack",
            {**dict.fromkeys(CATS), "toxicity": 1, "identity_attack": 1},
        ),
        ("reject", None, {**dict.fromkeys(CATS), "toxicity": 1}),
        ("reject", "something-new", {**dict.fromkeys(CATS), "toxicity": 1}),
        ("reject", "spam", None),
        ("reject", "off-topic", None),
        ("reject", "other", None),
    ],
)
def test_label_mapping(decision, reason, expected):
    assert labels.label_values(decision, reason) == expected


def test_unknown_decision_is_an_error():
    with pytest.raises(ValueError):
        labels.label_values("maybe", None)


# -- the command ----------------------------------------------------------------------------------


@pytest.fixture
def decided(dashboard, hold_all, send_comment) -> dict[str, str]:
    """Five held comments, each decided differently in the dashboard; ids by outcome."""
    texts = {
        "approve": 'a "quoted", comma-laden\nmulti-line comment é 👍',
        "insult": "kitten brain",
        "threat": "kitten threat",
        "spam": "buy kitten pills",
        "pending": "kitten still waiting",
    }
    ids = {name: send_comment(hold_all, text)["id"] for name, text in texts.items()}
    dashboard.login("mod")
    decide(dashboard, ids["approve"], "approve")
    decide(dashboard, ids["insult"], "reject", "insult", note="rude")
    decide(dashboard, ids["threat"], "reject", "threat")
    decide(dashboard, ids["spam"], "reject", "spam")
    return ids


def test_export_writes_decisions_as_labelled_rows(env, decided, tmp_path):
    out = tmp_path / "labels.csv"
    code, output = export(env, "--out", str(out))
    assert code == 0, output
    assert "exported 3 decisions (1 approve, 2 reject); skipped 1" in output
    rows = read_csv(out)
    assert list(rows[0]) == ["text", *CATS, "source", "decided_by", "decided_at"]
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == {
        'a "quoted", comma-laden\nmulti-line comment é 👍',
        "kitten brain",
        "kitten threat",
    }
    approve = by_text['a "quoted", comma-laden\nmulti-line comment é 👍']
    assert {c: approve[c] for c in CATS} == dict.fromkeys(CATS, "0")
    insult = by_text["kitten brain"]
    assert {c: insult[c] for c in CATS} == {**BLANK, "toxicity": "1", "insult": "1"}
    threat = by_text["kitten threat"]
    assert {c: threat[c] for c in CATS} == {**BLANK, "toxicity": "1", "threat": "1"}
    assert insult["source"] == "dashboard:example"
    assert insult["decided_by"] == "mod"
    assert insult["decided_at"].endswith("Z")


def test_export_is_readable_by_the_training_loader(env, decided, tmp_path):
    from training.datasets import load_extra

    out = tmp_path / "labels.csv"
    assert export(env, "--out", str(out))[0] == 0
    examples = load_extra(out)
    assert len(examples) == 3
    insult = next(e for e in examples if e.text == "kitten brain")
    assert insult.labels[CATS.index("insult")] == 1.0
    assert insult.labels[CATS.index("threat")] != insult.labels[CATS.index("threat")]  # NaN


def test_since_and_until_select_by_decision_time(env, decided, tmp_path):
    out = tmp_path / "labels.csv"
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    assert export(env, "--since", tomorrow, "--out", str(out))[0] == 0
    assert read_csv(out) == []
    assert out.read_text(encoding="utf-8").startswith("text,toxicity,")
    code, _ = export(env, "--since", "2000-01-01", "--until", tomorrow, "--out", str(out))
    assert code == 0
    assert len(read_csv(out)) == 3
    assert export(env, "--until", "2000-01-01", "--out", str(out))[0] == 0
    assert read_csv(out) == []


def test_export_to_stdout(env, decided):
    code, output = export(env, "--out", "-")
    assert code == 0
    assert "kitten brain" in output


def test_database_url_option_wins_over_the_environment(config, decided, tmp_path):
    out = tmp_path / "labels.csv"
    env = {"DATABASE_URL": "sqlite:///" + str(tmp_path / "elsewhere.sqlite3")}
    code, output = export(env, "--database-url", config.database_url, "--out", str(out))
    assert code == 0, output
    assert len(read_csv(out)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "must be a date"),
        (["--until", "2026-13-40"], "must be a date"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "must be after --since"),
        ([], "Missing option '--out'"),
    ],
)
def test_bad_options_are_usage_errors(env, args, message, tmp_path):
    if "--out" not in args and args:
        args = [*args, "--out", str(tmp_path / "x.csv")]
    code, output = export(env, *args)
    assert code == 2
    assert message in output


def test_unwritable_output_is_one_line(env, decided, tmp_path):
    code, output = export(env, "--out", str(tmp_path / "missing" / "labels.csv"))
    assert code == 1
    assert "does not exist" in output
    assert "Traceback" not in output


def test_uninitialised_database_is_one_line_and_leaves_no_file(tmp_path):
    out = tmp_path / "labels.csv"
    env = {"DATABASE_URL": "sqlite:///" + str(tmp_path / "empty.sqlite3")}
    code, output = export(env, "--out", str(out))
    assert code == 1
    assert "moderator init-db" in output
    assert not out.exists()
    assert list(tmp_path.glob(".labels.csv.*")) == []


def test_export_function_writes_header_only_without_decisions(engine):
    buffer = io.StringIO()
    counts = labels.export_labels(engine, buffer)
    assert buffer.getvalue() == ",".join(labels.COLUMNS) + "\n"
    assert sum(counts.values()) == 0


# -- the round trip: decide, export, retrain, scores move -----------------------------------------

CLEAN = [
    "the weather is lovely today",
    "thanks for the helpful article",
    "i enjoyed reading this story",
    "great point about the local election",
    "the recipe worked well for our family",
    "see you at the meeting tomorrow",
    "this bridge opened last spring",
    "our team played a good match",
]
RUDE = [
    "you are a stupid idiot",
    "shut up you worthless moron",
    "what a pathetic dumb loser",
    "you idiot nobody cares",
    "go away you stupid clown",
    "moron, read before you write",
]
THREAT = ["i will hurt you badly", "someone should beat you up", "watch your back or else"]
OBSCENE = ["this is damn crap", "what the hell is this crap"]
GROUP = ["those people are all vermin", "that group is a disease"]

KINDS = [("clean", CLEAN), ("rude", RUDE), ("threat", THREAT), ("obscene", OBSCENE)]
KINDS.append(("group", GROUP))


def _tiny_rows(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(kind, text) rows of invented sentences, each made unique with a number."""
    rows = []
    for i in range(n):
        kind, texts = KINDS[i % len(KINDS)]
        rows.append((kind, f"{rng.choice(texts)} number {i} {rng.randint(0, 10**6)}"))
    return rows


def write_tiny_data_dir(root: Path, seed: int = 7) -> Path:
    """A data dir in the shared datasets' layout, filled with our own invented sentences."""
    rng = random.Random(seed)

    def write(rel: str, header: list[str], rows: list[list], delimiter: str = ",") -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(header)
            writer.writerows(rows)

    olid = {
        "clean": ("NOT", "NULL", "NULL"),
        "rude": ("OFF", "TIN", "IND"),
        "threat": ("OFF", "TIN", "OTH"),
        "obscene": ("OFF", "UNT", "NULL"),
        "group": ("OFF", "TIN", "GRP"),
    }
    for name, n in (("olid_train.csv", 200), ("olid_test.csv", 40)):
        rows = [[t, *olid[k]] for k, t in _tiny_rows(rng, n)]
        write(f"olid/{name}", ["tweet", "subtask_a", "subtask_b", "subtask_c"], rows)
    davidson = {"clean": 2, "rude": 1, "threat": 1, "obscene": 1, "group": 0}
    rows = [[t, davidson[k]] for k, t in _tiny_rows(rng, 150)]
    write("davidson/labeled_data.csv", ["tweet", "class"], rows)
    hasoc = {
        "clean": ("NOT", "NONE", "NONE"),
        "rude": ("HOF", "OFFN", "TIN"),
        "threat": ("HOF", "OFFN", "TIN"),
        "obscene": ("HOF", "PRFN", "UNT"),
        "group": ("HOF", "HATE", "TIN"),
    }
    for name, n in (("english_dataset.tsv", 150), ("hasoc2019_en_test-2919.tsv", 20)):
        rows = [[t, *hasoc[k]] for k, t in _tiny_rows(rng, n)]
        write(f"hasoc2019/{name}", ["text", "task_1", "task_2", "task_3"], rows, "\t")
    ghc = {"clean": (0, 0, 0), "rude": (0, 0, 1), "threat": (0, 1, 0)}
    ghc |= {"obscene": (0, 0, 1), "group": (1, 0, 0)}
    for name, n in (("ghc_train.tsv", 250), ("ghc_test.tsv", 20)):
        rows = [[t, *ghc[k]] for k, t in _tiny_rows(rng, n)]
        write(f"gab_hate_corpus/{name}", ["text", "hd", "cv", "vo"], rows, "\t")
    rows = []
    for i, (k, t) in enumerate(_tiny_rows(rng, 150)):
        split = ("train", "dev", "test")[i % 3]
        sexist = {
            "group": ("sexist", "2. derogation", "2.1 descriptive attacks"),
            "threat": ("sexist", "1. threats, plans to harm and incitement", "1.1 threats"),
        }.get(k)
        rows.append([t, *(sexist or ("not sexist", "none", "none")), split])
    header = ["text", "label_sexist", "label_category", "label_vector", "split"]
    write("edos/edos_labelled_aggregated.csv", header, rows)
    for name, n in (("tsd_train.csv", 30), ("tsd_trial.csv", 10)):
        rows = [
            [str(list(range(0, 9))) if k != "clean" else "[]", t] for k, t in _tiny_rows(rng, n)
        ]
        write(f"toxic_spans/{name}", ["spans", "text"], rows)
    return root


def train(data_dir: Path, out: Path, *extras: Path) -> Classifier:
    args = ["train", "--data-dir", str(data_dir), "--out", str(out)]
    for extra in extras:
        args += ["--extra", str(extra)]
    result = CliRunner().invoke(training_cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return Classifier.load(out)


# A word none of the tiny data has: only the moderators' decisions can teach it.
NEW_SLUR = "zorblaxian"
REJECTED = [
    f"typical {NEW_SLUR} behaviour at the meeting",
    f"the {NEW_SLUR} crowd wrote this story",
    f"{NEW_SLUR} spotted near the bridge",
    f"another {NEW_SLUR} comment on the election",
    f"a {NEW_SLUR} family moved in next door",
    f"more {NEW_SLUR} nonsense from the council",
    f"only a {NEW_SLUR} would write that recipe",
    f"the {NEW_SLUR} team lost the match",
]
# Blunt but fair comments the tiny model flags; moderators approve them.
APPROVED = [
    "what a dumb idea for the bridge",
    "what a dumb plan for the park",
    "a dumb choice of date for the meeting",
    "what a dumb way to count the election",
    "such a dumb rule for the library",
    "what a dumb design for the station",
]


def test_decisions_retrain_the_model_and_move_its_scores(
    config, tmp_path, dashboard, hold_all, send_comment
):
    data_dir = write_tiny_data_dir(tmp_path / "data")
    before = train(data_dir, tmp_path / "models" / "before")

    ids = {}
    for text in REJECTED + APPROVED:
        sent = send_comment(hold_all, text)
        assert sent["decision"] == "hold"
        ids[text] = sent["id"]
    dashboard.login("mod")
    for text in REJECTED:
        decide(dashboard, ids[text], "reject", "insult")
    for text in APPROVED:
        decide(dashboard, ids[text], "approve")

    exported = tmp_path / "labels.csv"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    env = {"DATABASE_URL": config.database_url}
    code, output = export(env, "--since", today, "--out", str(exported))
    assert code == 0, output
    assert len(read_csv(exported)) == len(REJECTED) + len(APPROVED)

    after = train(data_dir, tmp_path / "models" / "after", exported)

    def mean(model: Classifier, texts: list[str], category: str) -> float:
        from moderator.text import normalise

        return statistics.fmean(s[category] for s in model.score([normalise(t) for t in texts]))

    insult_before, insult_after = mean(before, REJECTED, "insult"), mean(after, REJECTED, "insult")
    tox_before, tox_after = mean(before, REJECTED, "toxicity"), mean(after, REJECTED, "toxicity")
    approved_before, approved_after = (mean(m, APPROVED, "toxicity") for m in (before, after))
    print(
        f"rejected: insult {insult_before:.3f} -> {insult_after:.3f}, "
        f"toxicity {tox_before:.3f} -> {tox_after:.3f}; "
        f"approved: toxicity {approved_before:.3f} -> {approved_after:.3f}"
    )
    assert insult_after > insult_before + 0.1, (insult_before, insult_after)
    assert tox_after > tox_before + 0.1, (tox_before, tox_after)
    assert approved_after < approved_before - 0.1, (approved_before, approved_after)
