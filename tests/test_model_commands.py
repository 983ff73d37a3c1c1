"""`moderator models promote|list`: the gate's report is required and checked, who and why are
recorded, and every kind of bad input is one line and exit 1 (2 for usage errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderator import storage
from moderator.cli import cli
from moderator.serving import model_digest
from moderator.storage import audit
from moderator.storage import models


def report_for(candidate: Path, current: Path, verdict: str = "promote", **changes) -> dict:
    """The fields of a compare report that promotion reads (the real one: tests/training)."""
    report = {
        "verdict": verdict,
        "reasons": [] if verdict == "promote" else ["site decisions: agreement 80% -> 40%"],
        "candidate": {
            "label": "x",
            "path": str(candidate),
            "model_sha256": model_digest(candidate),
        },
        "current": {"label": "y", "path": str(current), "model_sha256": model_digest(current)},
        "checks": [],
        "flipped": [],
    }
    report.update(changes)
    return report


def write(path: Path, report) -> Path:
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def one_line_error(result, needle: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert needle in result.output.strip().splitlines()[-1], result.output


def test_promote_with_a_passing_report_records_who_what_and_why(
    runner, engine, model_path, tmp_path, variant
):
    b = variant("b")
    report = write(tmp_path / "r.json", report_for(b, model_path))
    result = runner.invoke(
        cli,
        ["models", "promote", str(b), "--report", str(report), "--reason", "learnt", "--by", "ana"],
    )
    assert result.exit_code == 0, result.output
    assert "promoted b@2" in result.output and "the gate passed" in result.output
    with storage.reading(engine) as conn:
        active = models.active(conn)
        [entry] = audit.entries(conn, limit=1)
    assert active.label == "b@2" and active.actor == "cli:ana" and active.reason == "learnt"
    assert active.gate["verdict"] == "promote"
    assert entry["action"] == "model.promote" and entry["actor"] == "cli:ana"
    listed = runner.invoke(cli, ["models", "list"])
    assert listed.exit_code == 0 and "b@2" in listed.output and "cli:ana" in listed.output
    as_json = runner.invoke(cli, ["models", "list", "--json"])
    assert json.loads(as_json.output.splitlines()[0])["model"] == "b@2"


def test_promote_finds_a_bare_name_beside_the_configured_model(runner, engine, model_path, variant):
    sibling = variant("sibling", model_path.parent)
    try:
        result = runner.invoke(
            cli, ["models", "promote", "sibling", "--skip-gate", "--reason", "roll back"]
        )
        assert result.exit_code == 0, result.output
        assert "without the gate" in result.output
    finally:
        import shutil

        shutil.rmtree(sibling)


def test_list_without_promotions_names_the_configured_model(runner, model_path):
    result = runner.invoke(cli, ["models", "list"])
    assert result.exit_code == 0
    assert f"no promotion yet: {model_path} serves" in result.output


def test_promote_refuses_a_refused_report_with_its_reasons(runner, model_path, tmp_path, variant):
    b = variant("b")
    report = write(tmp_path / "r.json", report_for(b, model_path, verdict="refuse"))
    result = runner.invoke(
        cli, ["models", "promote", str(b), "--report", str(report), "--reason", "x"]
    )
    one_line_error(result, "the gate refused b@2: site decisions: agreement 80% -> 40%")


def test_promote_refuses_a_report_about_another_model(runner, model_path, tmp_path, variant):
    b = variant("b")
    c = variant("c")
    report = write(tmp_path / "r.json", report_for(c, model_path))
    result = runner.invoke(
        cli, ["models", "promote", str(b), "--report", str(report), "--reason", "x"]
    )
    one_line_error(result, "the compare report is about another model")


def test_promote_refuses_a_report_against_a_model_no_longer_serving(
    runner, model_path, tmp_path, variant
):
    b = variant("b")
    c = variant("c")
    assert (
        runner.invoke(cli, ["models", "promote", str(c), "--skip-gate", "--reason", "x"]).exit_code
        == 0
    )
    report = write(tmp_path / "r.json", report_for(b, model_path))
    result = runner.invoke(
        cli, ["models", "promote", str(b), "--report", str(report), "--reason", "x"]
    )
    one_line_error(result, "which is not the model serving now")


def test_promote_refuses_a_model_that_does_not_load(runner, engine, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.joblib").write_bytes(b"not a pickle")
    (broken / "model.json").write_text("{")
    result = runner.invoke(cli, ["models", "promote", str(broken), "--skip-gate", "--reason", "x"])
    one_line_error(result, "does not load")
    with storage.reading(engine) as conn:
        assert models.active(conn) is None


def test_promote_refuses_another_language(runner, model_path, tmp_path, variant):
    german = variant("de", language="de")
    result = runner.invoke(cli, ["models", "promote", str(german), "--skip-gate", "--reason", "x"])
    one_line_error(result, "is a de model")


@pytest.mark.parametrize(
    "args, needle, code",
    [
        ([], "no compare report", 1),
        (["--report", "R", "--skip-gate"], "exclude each other", 2),
        (["--reason", " "], "say why", 1),
        (["--reason", "x" * 1001], "longer than 1000", 1),
        (["--reason", "a\x1b[31mb"], "control characters", 1),
        (["--by", ""], "--by", 2),
        (["--by", "x" * 151], "--by", 2),
        (["--by", "a\nb"], "--by", 2),
    ],
    ids=[
        "no-gate",
        "both",
        "blank-reason",
        "long-reason",
        "ansi-reason",
        "by-empty",
        "by-long",
        "by-newline",
    ],
)
def test_promote_bad_options(runner, model_path, tmp_path, args, needle, code, variant):
    b = variant("b")
    report = write(tmp_path / "R", report_for(b, model_path))
    args = [str(report) if a == "R" else a for a in args]
    if "--reason" not in args:
        args += ["--reason", "because"]
    if "--report" not in args and "--skip-gate" not in args and needle != "no compare report":
        args += ["--skip-gate"]
    result = runner.invoke(cli, ["models", "promote", str(b), *args])
    one_line_error(result, needle, code)


@pytest.mark.parametrize(
    "name, needle",
    [
        ("", "name a model directory"),
        ("nowhere", "no model directory nowhere"),
        ("a\x00b", "name a model"),
    ],
    ids=["empty", "missing", "nul"],
)
def test_promote_bad_names(runner, name, needle):
    result = runner.invoke(cli, ["models", "promote", name, "--skip-gate", "--reason", "x"])
    one_line_error(result, needle)


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "cannot read the compare report"),
        (b"not json", "cannot read the compare report"),
        (b"[1, 2]", "not a compare report"),
        (b'{"verdict": "maybe"}', "not a compare report"),
        (
            b'{"verdict": "promote", "reasons": [], '
            b'"candidate": {"model_sha256": 1}, "current": {}}',
            "not a compare report",
        ),
        (b"\xff\xfe", "cannot read the compare report"),
    ],
    ids=["empty", "not-json", "array", "bad-verdict", "wrong-types", "binary"],
)
def test_promote_bad_reports(runner, model_path, tmp_path, content, needle, variant):
    b = variant("b")
    report = tmp_path / "r.json"
    report.write_bytes(content)
    result = runner.invoke(
        cli, ["models", "promote", str(b), "--report", str(report), "--reason", "x"]
    )
    one_line_error(result, needle)


def test_promote_refuses_a_missing_report_file(runner, model_path, tmp_path, variant):
    b = variant("b")
    result = runner.invoke(
        cli, ["models", "promote", str(b), "--report", str(tmp_path / "none.json"), "--reason", "x"]
    )
    one_line_error(result, "cannot read the compare report")


@pytest.mark.parametrize("limit", ["0", "-3", "ten", "10001"])
def test_list_bad_limits(runner, limit):
    result = runner.invoke(cli, ["models", "list", "--limit", limit])
    assert result.exit_code == 2 and "--limit" in result.output
