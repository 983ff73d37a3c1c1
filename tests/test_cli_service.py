"""The serve, init-db and sites commands, run as an operator would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from moderator import auth
from moderator import storage
from moderator.cli import cli
from moderator.storage import sites

ROOT = Path(__file__).resolve().parents[1]


def run(runner, *args, input=None):
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def test_init_db_migrates_a_fresh_database(tmp_path):
    runner = CliRunner(env={"MODERATOR_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": None})
    result = run(runner, "init-db")
    assert result.exit_code == 0, result.output
    assert f"at revision {storage.head_revision()}" in result.output
    assert (tmp_path / "moderator.sqlite3").is_file()
    assert run(runner, "init-db").exit_code == 0  # idempotent


def test_bad_environment_fails_with_one_line_naming_the_variable(runner):
    runner.env["MODERATOR_BATCH_MAX"] = "lots"
    result = run(runner, "init-db")
    assert result.exit_code == 1
    assert result.output == "Error: MODERATOR_BATCH_MAX must be a positive integer, got 'lots'\n"


def test_init_db_reports_an_unreachable_database(runner):
    runner.env["DATABASE_URL"] = "postgresql+psycopg://x:y@127.0.0.1:1/db?connect_timeout=2"
    result = run(runner, "init-db")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot migrate the database:")
    assert "y@" not in result.output


def test_sites_create_prints_the_key_once_and_stores_its_hash(runner, client, engine):
    result = runner.invoke(cli, ["sites", "create", "news"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("mod_") and len(key) == 47
    assert "shown only now" in result.stderr
    with engine.connect() as conn:
        site = sites.find_active_site(conn, auth.hash_key(key))
    assert site.name == "news" and site.key_prefix == key[:12]
    listed = run(runner, "sites", "list")
    assert "news" in listed.output and key[:12] in listed.output and key not in listed.output
    response = client.post(
        "/api/v1/moderate", json={"text": "hi"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
def test_sites_create_rejects_bad_names(runner, name):
    result = runner.invoke(cli, ["sites", "create", name])
    assert result.exit_code == 2
    assert "NAME must be 1-200 printable characters" in result.output


def test_sites_create_twice_is_an_error(runner, site_key):
    result = runner.invoke(cli, ["sites", "create", "example"])
    assert result.exit_code == 1
    assert result.stderr == "Error: a site named 'example' already exists\n"
    assert result.stdout == ""


def test_sites_list_json_shows_settings_not_keys(runner, site_key):
    run(runner, "sites", "wordlist", "example", "suspect", "--add", "crypto")
    lines = run(runner, "sites", "list", "--json").stdout.splitlines()
    [record] = [json.loads(line) for line in lines]
    assert record["name"] == "example" and record["revoked_at"] is None
    assert record["suspect_words"] == ["crypto"]
    assert site_key not in lines[0]


def test_sites_revoke_asks_first_and_then_the_key_stops_working(runner, client, site_key):
    headers = {"Authorization": f"Bearer {site_key}"}
    aborted = runner.invoke(cli, ["sites", "revoke", "example"], input="n\n")
    assert aborted.exit_code == 1
    assert client.post("/api/v1/moderate", json={"text": "a"}, headers=headers).status_code == 200
    confirmed = runner.invoke(cli, ["sites", "revoke", "example"], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert client.post("/api/v1/moderate", json={"text": "a"}, headers=headers).status_code == 401
    again = runner.invoke(cli, ["sites", "revoke", "example", "--yes"])
    assert again.exit_code == 1 and "already revoked" in again.output
    unknown = runner.invoke(cli, ["sites", "revoke", "ghost", "--yes"])
    assert unknown.exit_code == 1 and "no site named 'ghost'" in unknown.output


def test_set_threshold_overrides_and_resets_one_category(runner, engine, site_key):
    result = run(runner, "sites", "set-threshold", "example", "insult", "0.2", "0.6")
    assert result.exit_code == 0
    assert json.loads(result.output.split("thresholds ", 1)[1]) == {
        "insult": {"hold": 0.2, "reject": 0.6}
    }
    run(runner, "sites", "set-threshold", "example", "threat", "0.1", "0.1")
    run(runner, "sites", "set-threshold", "example", "insult", "--reset")
    with engine.connect() as conn:
        assert sites.get_site_by_name(conn, "example").thresholds == {
            "threat": {"hold": 0.1, "reject": 0.1}
        }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bogus", "0.1", "0.2"], "unknown category 'bogus'"),
        (["insult", "0.9", "0.2"], "reject threshold 0.2 is below hold threshold 0.9"),
        (["insult", "1.5", "1.6"], "between 0 and 1"),
        (["insult", "0.5"], "give HOLD and REJECT, or --reset"),
        (["insult"], "give HOLD and REJECT, or --reset"),
        (["insult", "0.1", "0.2", "--reset"], "give HOLD and REJECT, or --reset"),
        (["insult", "x", "0.2"], "'x' is not a valid float"),
    ],
)
def test_set_threshold_rejects_bad_values(runner, site_key, args, message):
    result = runner.invoke(cli, ["sites", "set-threshold", "example", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_wordlist_add_remove_file_clear_and_show(runner, client, site_key, tmp_path):
    headers = {"Authorization": f"Bearer {site_key}"}
    assert run(runner, "sites", "wordlist", "example", "block", "--add", "wombat").exit_code == 0
    reply = client.post("/api/v1/moderate", json={"text": "a wombat"}, headers=headers).json
    assert reply["decision"] == "reject"
    run(
        runner,
        "sites",
        "wordlist",
        "example",
        "block",
        "--add",
        "quokka:insult",
        "--remove",
        "WOMBAT",
    )
    assert run(runner, "sites", "wordlist", "example", "block").output == "quokka:insult\n"
    words = tmp_path / "allow.txt"
    words.write_text("Scunthorpe\n\nessex\n", encoding="utf-8")
    run(runner, "sites", "wordlist", "example", "allow", "--file", str(words))
    assert run(runner, "sites", "wordlist", "example", "allow").output == "essex\nScunthorpe\n"
    run(runner, "sites", "wordlist", "example", "allow", "--clear")
    assert run(runner, "sites", "wordlist", "example", "allow").output == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["block", "--add", "x:nonsense"], "unknown category"),
        (["block", "--add", "!!!"], "never matches"),
        (["allow", "--add", "ok:insult"], "cannot have a category"),
        (["block", "--add", "a" * 65], "longer than 64"),
    ],
)
def test_wordlist_rejects_entries_that_cannot_work(runner, site_key, args, message):
    result = runner.invoke(cli, ["sites", "wordlist", "example", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_wordlist_action_shows_sets_lists_and_audits(runner, client, engine, site_key):
    headers = {"Authorization": f"Bearer {site_key}"}
    assert run(runner, "sites", "wordlist-action", "example").output == (
        "example: wordlist_action reject\n"
    )
    before = client.post("/api/v1/moderate", json={"text": "fuck"}, headers=headers).json
    assert before["decision"] == "reject"
    result = run(runner, "sites", "wordlist-action", "example", "hold")
    assert result.exit_code == 0 and result.output == "example: wordlist_action hold\n"
    after = client.post("/api/v1/moderate", json={"text": "fuck"}, headers=headers).json
    assert [r["source"] for r in after["reasons"] if r["category"] == "obscene"][0] == "wordlist"
    assert "wordlist_action hold" in run(runner, "sites", "list").output
    [record] = [
        json.loads(line) for line in run(runner, "sites", "list", "--json").stdout.splitlines()
    ]
    assert record["wordlist_action"] == "hold"
    with engine.connect() as conn:
        from moderator.storage import audit

        entry = audit.entries(conn, site_id=1)[0]
    assert (entry["action"], entry["actor"]) == ("site.wordlist_action", "cli")


@pytest.mark.parametrize("action", ["allow", "REJECT", "", "hold now", "reject\x00"])
def test_wordlist_action_refuses_unknown_values(runner, site_key, action):
    result = runner.invoke(cli, ["sites", "wordlist-action", "example", action])
    assert result.exit_code == 2
    assert "is not one of 'reject', 'hold'" in result.output


def test_wordlist_action_for_an_unknown_site(runner, app):
    for args in (["ghost"], ["ghost", "hold"]):
        result = runner.invoke(cli, ["sites", "wordlist-action", *args])
        assert result.exit_code == 1 and "no site named 'ghost'" in result.output


def test_wordlist_for_an_unknown_site(runner, app):
    result = runner.invoke(cli, ["sites", "wordlist", "ghost", "block"])
    assert result.exit_code == 1 and "no site named 'ghost'" in result.output


def test_python_dash_m_moderator_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "moderator", "sites", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    for command in ("create", "list", "revoke", "set-threshold", "wordlist", "wordlist-action"):
        assert command in result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers=None, data=None):
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("dev", [False, True], ids=["gunicorn", "dev"])
def test_serve_migrates_a_fresh_database_and_answers(tmp_path, dev):
    port = free_port()
    env = {
        **os.environ,
        "MODERATOR_INSTANCE_PATH": str(tmp_path / "instance"),
        "MODERATOR_MODEL_PATH": str(tmp_path / "no-model"),
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "moderator", "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(
        command + ["--without-model"] + (["--dev"] if dev else []),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                status, body = get(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.1)
        assert (status, body) == (200, {"status": "ok"})
        status, body = get(base + "/readyz")
        # Told to run without a model: ready, and it says so.
        assert status == 200 and body["checks"] == {"model": False, "database": True}
        assert body["without_model"] is True
        engine = storage.make_engine(f"sqlite:///{tmp_path / 'instance' / 'moderator.sqlite3'}")
        key = auth.generate_key()
        with storage.transaction(engine) as conn:
            sites.create_site(conn, "live", auth.hash_key(key), auth.display_prefix(key))
        engine.dispose()
        status, body = get(
            base + "/api/v1/moderate",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            data=b'{"text": "hello from a real server"}',
        )
        assert status == 200 and body["decision"] == "hold"
        secret = tmp_path / "instance" / "secret_key"
        assert oct(secret.stat().st_mode & 0o777) == "0o600"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert key not in output


def test_serve_refuses_a_model_that_does_not_load_in_one_line(tmp_path):
    env = {
        **os.environ,
        "MODERATOR_INSTANCE_PATH": str(tmp_path / "instance"),
        "MODERATOR_MODEL_PATH": str(tmp_path / "no-model"),
    }
    env.pop("DATABASE_URL", None)
    port = str(free_port())
    result = subprocess.run(
        [sys.executable, "-m", "moderator", "serve", "--port", port, "--no-webhook-worker"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Error: the model does not load:" in result.stderr
    assert "set MODERATOR_MODEL_PATH, or start with --without-model" in result.stderr
    assert "Traceback" not in result.stderr
