"""`moderator sites coral-secret` and `moderator sites set`: Coral secrets and site settings."""

from __future__ import annotations

import pytest

from moderator import storage
from moderator.cli import cli
from moderator.perspective.scores import coral_threshold
from moderator.storage import secrets
from moderator.storage import sites

SECRET = "empsec_" + "ab" * 32


def test_coral_secret_add_list_remove(runner, engine, site_key):
    added = runner.invoke(cli, ["sites", "coral-secret", "example", "phase", "--add", SECRET])
    assert added.exit_code == 0, added.output
    assert "/coral/v1/sites/1/phase" in added.output
    assert SECRET not in added.output  # only its first characters are ever shown
    with storage.reading(engine) as conn:
        [stored] = secrets.list_secrets(conn, 1, "coral_phase")
    assert stored.secret == SECRET
    listed = runner.invoke(cli, ["sites", "coral-secret", "example", "phase"])
    assert stored.label in listed.output and "empsec_aba" in listed.output
    removed = runner.invoke(
        cli, ["sites", "coral-secret", "example", "phase", "--remove", stored.label]
    )
    assert removed.exit_code == 0, removed.output
    with storage.reading(engine) as conn:
        assert secrets.list_secrets(conn, 1) == []


def test_coral_secret_from_stdin_with_an_expiry(runner, engine, site_key):
    result = runner.invoke(
        cli,
        ["sites", "coral-secret", "example", "webhook", "--add", "-", "--expires-in", "24"],
        input=SECRET + "\n",
    )
    assert result.exit_code == 0, result.output
    with storage.reading(engine) as conn:
        [stored] = secrets.list_secrets(conn, 1, "coral_webhook")
    assert stored.secret == SECRET and stored.expires_at is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch", "phase", "--add", SECRET], "no site named"),
        (["example", "dns", "--add", SECRET], "Invalid value"),
        (["example", "phase", "--add", "short"], "16-500 characters"),
        (["example", "phase", "--add", "x" * 501], "16-500 characters"),
        (["example", "phase", "--add", "has spaces in it ok"], "without spaces"),
        (["example", "phase", "--add", "nön-ascii-secret-value"], "printable ASCII"),
        (["example", "phase", "--remove", "sec_nope"], "no secret labelled"),
        (["example", "phase", "--expires-in", "2"], "--expires-in goes with --add"),
        (["example", "phase", "--add", SECRET, "--expires-in", "0"], "Invalid value"),
        (["example", "phase", "--add", SECRET, "--remove", "x"], "not both"),
    ],
)
def test_coral_secret_mistakes_are_one_line(runner, site_key, args, message):
    result = runner.invoke(cli, ["sites", "coral-secret", *args])
    assert result.exit_code in (1, 2)
    assert message in result.output


def test_the_same_secret_twice_and_too_many_are_refused(runner, site_key):
    args = ["sites", "coral-secret", "example", "phase", "--add"]
    assert runner.invoke(cli, [*args, SECRET]).exit_code == 0
    again = runner.invoke(cli, [*args, SECRET])
    assert again.exit_code == 1 and "already stored" in again.output
    for n in range(4):
        assert runner.invoke(cli, [*args, f"{SECRET}{n}"]).exit_code == 0
    full = runner.invoke(cli, [*args, f"{SECRET}x"])
    assert full.exit_code == 1 and "at most 5" in full.output


def test_sites_set_changes_and_audits_the_settings(runner, engine, site_key):
    result = runner.invoke(
        cli,
        [
            "sites", "set", "example", "--unsupported-language", "allow",
            "--perspective-reflects-decision", "on",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unsupported_language allow" in result.output
    assert "perspective_reflects_decision on" in result.output
    assert "set Coral's toxicity threshold to" in result.output
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "example")
    assert (site.unsupported_language, site.perspective_reflects_decision) == ("allow", True)
    shown = runner.invoke(cli, ["sites", "set", "example"])
    assert "unsupported_language allow" in shown.output
    assert (
        runner.invoke(cli, ["sites", "set", "example", "--unsupported-language", "drop"]).exit_code
        == 2
    )


def test_sites_list_json_shows_the_new_settings(runner, site_key):
    import json

    result = runner.invoke(cli, ["sites", "list", "--json"])
    record = json.loads(result.stdout.splitlines()[0])
    assert record["unsupported_language"] == "hold"
    assert record["perspective_reflects_decision"] is False


def test_coral_threshold_is_just_under_the_hold_threshold():
    # Coral's toxic.ts withholds when score > threshold; reflected scores are >= hold when we
    # hold and <= hold - 0.01 when we allow, so hold - 0.005 splits them.
    assert coral_threshold(0.62) == "61.5"
    assert coral_threshold(0.0) == "0.0"


def test_set_options_rejects_wrong_types(engine, site_key):
    with pytest.raises(sites.SiteError), storage.transaction(engine) as conn:
        sites.set_options(conn, "example", perspective_reflects_decision="yes")
    with pytest.raises(sites.SiteError), storage.transaction(engine) as conn:
        sites.set_options(conn, "example", colour="blue")


def test_the_command_line_does_not_load_prometheus_before_serve_sets_it_up():
    # serve shares metrics across gunicorn workers only if prometheus-client is not imported
    # yet when it starts (config.share_metrics_across_workers).
    import subprocess
    import sys

    code = "import sys, moderator.cli; print('prometheus_client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
