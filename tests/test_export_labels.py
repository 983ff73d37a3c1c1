"""`python -m training export-labels`: human decisions become training labels, and retraining
on them moves the model's scores on the decided comments (the whole loop, on tiny data)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from moderator.classifier import Classifier
from moderator.policy import CATEGORIES
from training import labels
from training.cli import cli as training_cli

pytestmark = pytest.mark.all_databases

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
    assert list(rows[0]) == ["text", *CATS, "source", "decided_by", "decided_at", "comment_id"]
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
    assert insult["comment_id"] == decided["insult"]


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
# Blunt but fair comments the fixture model flags; moderators approve them.
APPROVED = [
    "this stupid printer jammed again",
    "this stupid printer broke again",
    "that idiot of a printer",
    "that idiot of a scanner",
    "this crap weather again",
    "this crap traffic again",
    "this movie was trash",
    "this album was trash",
]


def test_decisions_retrain_the_model_and_move_its_scores(
    config, tmp_path, fixture_data_dir, dashboard, hold_all, send_comment
):
    assert fixture_data_dir is not None, "tests/fixtures/train_*.csv are missing"
    if make_url(config.database_url).get_backend_name() != "sqlite":
        pytest.skip("retraining reads the exported CSV: the same from either database")
    data_dir = fixture_data_dir
    before = train(data_dir, tmp_path / "models" / "before")

    # Sent through the API and decided in the dashboard, like any comment: whatever the
    # model decided (held, or rejected by a block word), the moderators' call is the label.
    ids = {text: send_comment(hold_all, text)["id"] for text in REJECTED + APPROVED}
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
    # The fixture model may already score these low; approvals must still push them down.
    assert approved_after < approved_before * 0.5, (approved_before, approved_after)


def test_labels_on_text_in_another_language_are_not_exported(
    client, headers, hold_all, dashboard, env, tmp_path
):
    # The model is English: a French rejection would teach it nothing true about English.
    french = client.post(
        "/api/v1/moderate",
        json={"text": "Je ne suis pas du tout d'accord avec cet article, quelle honte."},
        headers=headers,
    ).json
    english = client.post(
        "/api/v1/moderate", json={"text": "what a kitten you are"}, headers=headers
    ).json
    assert french["language"] == "fr"
    dashboard.login()
    decide(dashboard, french["id"], "reject", "insult")
    decide(dashboard, english["id"], "reject", "insult")
    code, output = export(env, "--out", str(tmp_path / "labels.csv"))
    assert code == 0, output
    rows = read_csv(tmp_path / "labels.csv")
    assert [r["text"] for r in rows] == ["what a kitten you are"]
    assert "1 in a language the model wasn't trained for" in output


def test_export_reports_label_counts_per_category(env, decided, tmp_path):
    code, output = export(env, "--out", str(tmp_path / "labels.csv"))
    assert code == 0, output
    assert "labels per category (1 / 0): toxicity 2 / 1, obscene 0 / 1, insult 1 / 1" in output


def test_min_age_leaves_out_decisions_too_recent_to_be_undone(env, decided, tmp_path):
    out = tmp_path / "labels.csv"
    code, output = export(env, "--out", str(out), "--min-age", "48h")
    assert code == 0, output
    assert "exported 0 decisions" in output and read_csv(out) == []
    code, output = export(env, "--out", str(out), "--min-age", "0m")
    assert code == 0 and "exported 3 decisions" in output


@pytest.mark.parametrize("age", ["", "48", "h", "-1d", "1w", "1.5h", "９h", "9999999d"])
def test_min_age_bad_values(env, decided, tmp_path, age):
    code, output = export(env, "--out", str(tmp_path / "x.csv"), "--min-age", age)
    assert code == 2 and "--min-age" in output and "Traceback" not in output


def test_test_share_leaves_out_the_newest_decisions(env, decided, tmp_path):
    out = tmp_path / "labels.csv"
    code, output = export(env, "--out", str(out), "--test-share", "0.2")
    assert code == 0, output
    assert "left out the newest 1 (the test set)" in output
    assert "kitten threat" not in {r["text"] for r in read_csv(out)}
