"""`moderator score`: the exact JSON-lines contract, input formats, and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderator.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "default"
CATEGORIES = {"toxicity", "obscene", "insult", "identity_attack", "threat"}

pytestmark = pytest.mark.skipif(
    not (SHIPPED / "model.joblib").exists(), reason="shipped model not built"
)


def run(args, input=None):
    result = CliRunner().invoke(cli, ["score", *args, "--model", str(SHIPPED)], input=input)
    return result


def lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def test_csv_to_jsonl_file_keeps_the_contract(tmp_path):
    src = write(
        tmp_path,
        "in.csv",
        'id,text\n1,"Thanks for the thoughtful article."\n2,"you are a fucking idiot"\n',
    )
    out = tmp_path / "out.jsonl"
    result = run([str(src), "--text-column", "text", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = lines(out.read_text())
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"decision", "scores", "reasons", "language"}
        assert row["language"] == "en"
        assert row["decision"] in {"allow", "hold", "reject"}
        assert set(row["scores"]) == CATEGORIES
        assert all(0.0 <= v <= 1.0 for v in row["scores"].values())
        for reason in row["reasons"]:
            assert set(reason) == {"category", "score", "source", "words", "spans"}
            assert reason["source"] in {"classifier", "wordlist"}
    assert rows[0]["decision"] == "allow"
    assert rows[1]["decision"] == "reject"
    text = "you are a fucking idiot"
    spans = [tuple(s) for r in rows[1]["reasons"] for s in r["spans"]]
    assert (10, 17) in spans
    assert all(text[a:b] in {w for r in rows[1]["reasons"] for w in r["words"]} for a, b in spans)


def test_jsonl_from_stdin_to_stdout_in_input_order():
    texts = ["have a nice day", "shit", "I love this recipe", "go to hell you bastard"]
    data = "".join(json.dumps({"body": t}) + "\n" for t in texts)
    result = run(["-", "--format", "jsonl", "--text-column", "body", "--output", "-"], input=data)
    assert result.exit_code == 0, result.output
    rows = lines(result.stdout)
    assert [r["decision"] == "allow" for r in rows] == [True, False, True, False]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id,body\n1,hello\n", "column 'text' not found"),
        ("", "input is empty"),
    ],
)
def test_missing_column_or_empty_input_is_one_line_exit_2(tmp_path, content, message):
    src = write(tmp_path, "in.csv", content)
    result = run([str(src)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_unreadable_file_is_one_line_exit_2(tmp_path):
    result = run([str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert "cannot open" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bad_rows_are_reported_with_line_numbers_and_the_run_continues(tmp_path):
    src = write(
        tmp_path,
        "in.jsonl",
        b'{"text": "fine comment"}\n'
        b"not json\n"
        b'{"text": 5}\n'
        b"[1, 2]\n"
        b'{"other": "x"}\n'
        b'{"text": "   "}\n'
        b'{"text": "\\ud800 lone surrogate"}\n'
        b'{"text": "<script>alert(1)</script> \\u202e\\u200b\\u0000 \xf0\x9f\x98\x80"}\n',
    )
    out = tmp_path / "out.jsonl"
    result = run([str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8
    assert rows[0]["decision"] == "allow"
    assert [r.get("line") for r in rows[1:7]] == [2, 3, 4, 5, 6, 7]
    assert all("error" in r for r in rows[1:7])
    assert rows[7]["decision"] in {"allow", "hold", "reject"}
    for n in (2, 3, 4, 5, 6, 7):
        assert f"line {n}:" in result.stderr


def test_csv_line_numbers_count_multiline_records(tmp_path):
    src = write(tmp_path, "in.csv", 'id,text\n1,"two\nlines"\n2\n3,ok\n')
    out = tmp_path / "out.jsonl"
    result = run([str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[1] == {"line": 4, "error": "row has 1 fields, no 'text' value"}
    assert "decision" in rows[0] and "decision" in rows[2]


def test_undecodable_bytes_are_a_bad_row_not_a_crash(tmp_path):
    src = write(tmp_path, "in.csv", b"text\nfine\n\xff\xfe broken\nalso fine\n")
    out = tmp_path / "out.jsonl"
    result = run([str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert "error" in rows[1] and rows[1]["line"] == 3
    assert rows[0]["decision"] == rows[2]["decision"] == "allow"


def test_python_dash_m_moderator_score_runs(tmp_path):
    src = write(tmp_path, "in.csv", "text\nhello there\n")
    proc = subprocess.run(
        [sys.executable, "-m", "moderator", "score", str(src), "--model", str(SHIPPED)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decision"] == "allow"


def test_missing_model_is_a_clear_error(tmp_path):
    src = write(tmp_path, "in.csv", "text\nhello\n")
    result = CliRunner().invoke(cli, ["score", str(src), "--model", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_a_comment_in_another_language_is_held_as_the_api_would(tmp_path):
    src = write(tmp_path, "in.csv", 'text\n"Das ist doch völliger Unsinn, was Sie da schreiben."\n')
    result = run([str(src), "--output", "-"])
    assert result.exit_code == 0, result.output
    [row] = lines(result.stdout)
    assert (row["decision"], row["language"]) == ("hold", "de")
    assert row["reasons"][-1]["category"] == "language_unsupported"
