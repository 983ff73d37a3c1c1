"""`evaluate` and `compare` on the site's own decisions: reading them, the time split, the
reports, the gate's verdicts, and refusals of bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from training import decisions
from training.cli import cli
from training.compare import delong
from training.compare import paired_worse
from training.decisions import DecisionsError
from training.decisions import HumanDecision
from training.decisions import time_split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CATS = ("toxicity", "obscene", "insult", "identity_attack", "threat")


def site_rows() -> list[tuple[str, str]]:
    """(approve|reject, text) of tests/fixtures/site_decisions.tsv, in decision order."""
    lines = (FIXTURES / "site_decisions.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]


def write_export(path: Path, rows, site: str = "garden") -> Path:
    """An export-labels CSV of (decision, text) rows, a minute apart."""
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", *CATS, "source", "decided_by", "decided_at", "comment_id"])
        for i, (decision, text) in enumerate(rows):
            labels = ["1", "", "1", "", ""] if decision == "reject" else ["0"] * 5
            at = (start + dt.timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
            writer.writerow([text, *labels, f"dashboard:{site}", "mod", at, f"c{i:04d}"])
    return path


def variant(model_path: Path, folder: Path, name: str, hold: float | None = None, **meta):
    """A copy of the test model; `hold` sets every category's hold threshold (and reject to
    just above it), which makes a model that flags everything or nothing."""
    out = folder / name
    shutil.copytree(model_path, out)
    data = json.loads((out / "model.json").read_text())
    data.update(name=name, version="2", **meta)
    if hold is not None:
        for t in data["thresholds"].values():
            t["hold"], t["reject"] = hold, min(1.0, hold + 0.01)
    (out / "model.json").write_text(json.dumps(data))
    return out


def run(*args: str, env: dict | None = None):
    return CliRunner(env=env or {}).invoke(cli, list(args))


def one_line_error(result, needle: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("Error:"), result.output
    assert needle in lines[-1], result.output


# -- reading decisions and the time split --------------------------------------------------------


def test_an_export_reads_back_as_decisions_per_site(tmp_path):
    path = write_export(tmp_path / "d.csv", site_rows()[:10])
    found = decisions.from_export(path)
    assert len(found) == 10 and {d.site for d in found} == {"garden"}
    assert [d.rejected for d in found] == [r[0] == "reject" for r in site_rows()[:10]]
    assert found[0].decided_at == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert found[0].comment_id == "c0000"


def test_the_newest_share_is_the_test_set_whatever_the_input_order():
    def at(minute):
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)

    rows = [HumanDecision("s", f"t{i}", False, {}, at(i), f"c{i}") for i in range(10)]
    older, newest = time_split(list(reversed(rows)), 0.2)
    assert [d.text for d in newest] == ["t8", "t9"]
    assert [d.text for d in older] == [f"t{i}" for i in range(8)]
    assert time_split(rows[:1], 0.2) == (rows[:1], [])
    assert time_split([], 0.2) == ([], [])


@pytest.mark.parametrize(
    "content, needle",
    [
        ("", "has no decisions"),
        ("text,toxicity\n", "has no decisions"),
        ("body,label\nhi,1\n", "not an export-labels CSV"),
        ("text,toxicity\n,1\n", "line 2: empty text"),
        ("text,toxicity\nhi,\n", "toxicity must be 1 or 0"),
        ("text,toxicity\nhi,2\n", "toxicity must be 1, 0 or empty"),
        ("text,toxicity,decided_at\nhi,1,yesterday\n", "decided_at is not an ISO 8601"),
    ],
    ids=[
        "empty",
        "header-only",
        "other-columns",
        "empty-text",
        "no-label",
        "bad-label",
        "bad-time",
    ],
)
def test_a_bad_export_is_refused_with_the_line(tmp_path, content, needle):
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DecisionsError, match=needle):
        decisions.from_export(path)


def test_an_unreadable_export_is_refused(tmp_path):
    binary = tmp_path / "d.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DecisionsError, match="cannot read"):
        decisions.from_export(binary)
    with pytest.raises(DecisionsError, match="cannot read"):
        decisions.from_export(tmp_path)


# -- the statistics ----------------------------------------------------------------------------


def test_delong_gives_both_aucs_and_no_noise_for_identical_scores():
    import numpy as np
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    a = y * 0.5 + rng.random(400)
    b = y * 0.2 + rng.random(400)
    auc_a, auc_b, se = delong(y, a, b)
    assert auc_a == pytest.approx(roc_auc_score(y, a))
    assert auc_b == pytest.approx(roc_auc_score(y, b))
    assert 0.01 < se < 0.1
    assert delong(y, a, a)[2] == 0.0


def test_paired_counts_call_a_few_more_errors_noise():
    assert paired_worse(3, 0)[0] is False  # 3 > 1.96 * sqrt(3) = 3.4 is false
    assert paired_worse(18, 0)[0] is True
    assert paired_worse(50, 40)[0] is False


# -- evaluate ---------------------------------------------------------------------------------


def test_evaluate_reports_agreement_per_site_and_category_and_the_disagreements(
    model_path, tmp_path
):
    rows = site_rows()
    path = write_export(tmp_path / "a.csv", rows[:80], "garden")
    with open(path, "a", encoding="utf-8", newline="") as handle:
        # A second site's rows, later in time, with a hostile text for the table.
        writer = csv.writer(handle, lineterminator="\n")
        for i, (decision, text) in enumerate(rows[80:]):
            labels = ["1", "", "1", "", ""] if decision == "reject" else ["0"] * 5
            writer.writerow(
                [
                    text,
                    *labels,
                    "dashboard:kitchen",
                    "m",
                    f"2026-11-02T00:{i % 60:02d}:00Z",
                    f"k{i}",
                ]
            )
        writer.writerow(
            [
                "\u202eevil\x1b[31m\nline",
                "1",
                "",
                "",
                "",
                "",
                "dashboard:kitchen",
                "m",
                "2026-11-03T00:00:00Z",
                "k-hostile",
            ]
        )
    result = run(
        "evaluate", "--model", str(model_path), "--no-public", "--decisions", str(path), "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["site_decisions"]
    assert report["n"] == 33  # the newest 20% of 161
    assert set(report["per_site"]) == {"kitchen"}
    assert report["per_category"]["toxicity"]["n"] == 33
    assert report["disagreement_count"] >= 1
    assert len(report["disagreements"]) == min(20, report["disagreement_count"])
    assert report["disagreements"][0]["comment_id"] == "k-hostile"
    text = run("evaluate", "--model", str(model_path), "--no-public", "--decisions", str(path))
    assert text.exit_code == 0, text.output
    assert "site decisions (newest, tested): n=33 agreement with moderators" in text.stdout
    assert "site kitchen" in text.stdout
    assert "innocent-word sentences:" in text.stdout
    # Control and bidi characters never reach the terminal.
    assert "\u202e" not in text.stdout and "\x1b" not in text.stdout


def test_evaluate_reads_the_decisions_from_the_database(
    runner, config, client, hold_all, dashboard, send_comment, model_path
):
    dashboard.login("mod")
    for decision, text in site_rows()[:12]:
        comment = send_comment(hold_all, text)
        token = dashboard.csrf("/dashboard/audit")
        dashboard.client.post(
            f"/dashboard/comments/{comment['id']}/decision",
            data={
                "csrf_token": token,
                "decision": decision,
                "reason_code": "insult" if decision == "reject" else "",
                "version": "1",
            },
        )
    result = runner.invoke(
        cli,
        [
            "evaluate",
            "--model",
            str(model_path),
            "--no-public",
            "--decisions",
            "database",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["site_decisions"]
    assert report["n"] == 3 and set(report["per_site"]) == {"example"}


# -- compare: verdicts -------------------------------------------------------------------------


def test_compare_promotes_a_model_no_worse_and_writes_the_report(model_path, tmp_path):
    same = variant(model_path, tmp_path, "same")
    path = write_export(tmp_path / "d.csv", site_rows())
    out = tmp_path / "report.json"
    result = run(
        "compare",
        "--candidate",
        str(same),
        "--current",
        str(model_path),
        "--no-public",
        "--decisions",
        str(path),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "verdict: PROMOTE" in result.stdout
    report = json.loads(out.read_text())
    assert report["verdict"] == "promote" and report["reasons"] == []
    assert report["candidate"]["label"] == "same@2"
    assert report["split"] == {
        "train": 128,
        "test": 32,
        "test_share": 0.2,
        "test_from": "2026-11-01T02:08:00+00:00",
    }
    names = {c["name"] for c in report["checks"]}
    assert {
        "neutral identity false flags",
        "innocent words rejected",
        "site decisions agreement",
    } <= names


def test_compare_refuses_a_model_that_flags_everything_with_its_reasons(model_path, tmp_path):
    eager = variant(model_path, tmp_path, "eager", hold=0.0)
    path = write_export(tmp_path / "d.csv", site_rows())
    result = run(
        "compare",
        "--candidate",
        str(eager),
        "--current",
        str(model_path),
        "--no-public",
        "--decisions",
        str(path),
        "--json",
    )
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "refuse"
    failed = {c["name"] for c in report["checks"] if not c["passed"]}
    assert {"neutral identity false flags", "innocent words rejected"} <= failed
    assert any("newly rejected" in r for r in report["reasons"])
    # Every comment the two decide differently is listed for a person to read.
    assert report["flipped"] and all(r["candidate"] != "allow" for r in report["flipped"])


def test_compare_on_the_public_test_splits(model_path, fixture_data_dir, tmp_path):
    same = variant(model_path, tmp_path, "same")
    result = run(
        "compare",
        "--candidate",
        str(same),
        "--current",
        str(model_path),
        "--data-dir",
        str(fixture_data_dir),
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert any(c["name"].startswith("public ") for c in report["checks"])
    assert report["notes"] == [
        "no site decisions given (--decisions): the site's own decisions not checked"
    ]


# -- compare and evaluate: bad input -------------------------------------------------------------


def test_compare_refuses_the_current_model_as_candidate(model_path):
    result = run("compare", "--candidate", str(model_path), "--current", str(model_path))
    assert result.exit_code == 2 and "is the current model itself" in result.output


def test_compare_refuses_models_of_two_languages(model_path, tmp_path):
    german = variant(model_path, tmp_path, "de", language="de")
    result = run("compare", "--candidate", str(german), "--current", str(model_path), "--no-public")
    one_line_error(result, "the candidate is a de model and the current one en")


@pytest.mark.parametrize(
    "args, needle, code",
    [
        (["--candidate", "/nonexistent/model"], "does not exist", 1),
        (["--test-share", "0"], "0.01<=x<=0.9", 2),
        (["--test-share", "1.5"], "1.5", 2),
        (["--test-share", "abc"], "abc", 2),
        (["--decisions", "/nonexistent.csv"], "cannot read decisions", 1),
        (["--list", "-1"], "-1", 2),
    ],
    ids=["missing-model", "share-0", "share-too-big", "share-text", "missing-file", "list-neg"],
)
def test_compare_bad_options(model_path, tmp_path, args, needle, code):
    same = variant(model_path, tmp_path, "same")
    base = {"--candidate": str(same), "--current": str(model_path)}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    result = run("compare", "--no-public", *[x for kv in base.items() for x in kv])
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_compare_refuses_an_unwritable_report(model_path, tmp_path):
    same = variant(model_path, tmp_path, "same")
    result = run(
        "compare",
        "--candidate",
        str(same),
        "--current",
        str(model_path),
        "--no-public",
        "--out",
        str(tmp_path / "missing" / "report.json"),
    )
    one_line_error(result, "cannot write")


def test_evaluate_refuses_an_uninitialised_database(model_path, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    result = run(
        "evaluate",
        "--model",
        str(model_path),
        "--no-public",
        "--decisions",
        "database",
        env={"DATABASE_URL": url},
    )
    one_line_error(result, "moderator init-db")


def test_evaluate_refuses_a_bad_database_url(model_path):
    result = run(
        "evaluate",
        "--model",
        str(model_path),
        "--no-public",
        "--decisions",
        "database",
        "--database-url",
        "not a url",
    )
    assert result.exit_code == 1 and "Traceback" not in result.output
