"""`moderator sites rotate-key` and `moderator sites desk`, run as an operator would."""

from __future__ import annotations

import json

import pytest

from moderator.cli import cli


def run(runner, *args):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def moderate(client, key):
    return client.post(
        "/api/v1/moderate", json={"text": "hello"}, headers={"Authorization": f"Bearer {key}"}
    ).status_code


def test_rotate_key_prints_a_new_key_and_keeps_the_old_one_for_the_grace(runner, client, site_key):
    result = run(runner, "sites", "rotate-key", "example", "--grace-hours", "2")
    assert result.exit_code == 0, result.output
    new_key = result.stdout.strip()
    assert new_key.startswith("mod_") and new_key != site_key
    assert "works until" in result.stderr
    assert moderate(client, site_key) == 200 and moderate(client, new_key) == 200
    result = run(runner, "sites", "rotate-key", "example", "--grace-hours", "0")
    newest = result.stdout.strip()
    assert "stopped working now" in result.stderr
    assert moderate(client, site_key) == 401 and moderate(client, new_key) == 401
    assert moderate(client, newest) == 200
    audit = run(runner, "sites", "list", "--json")
    assert json.loads(audit.stdout.splitlines()[0])["key_prefix"] == newest[:12]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ghost"], "no site named 'ghost'"),
        (["example", "--grace-hours", "-1"], "Invalid value for '--grace-hours'"),
        (["example", "--grace-hours", "721"], "Invalid value for '--grace-hours'"),
        (["example", "--grace-hours", "soon"], "Invalid value for '--grace-hours'"),
    ],
)
def test_rotate_key_refuses_mistakes(runner, site_key, args, message):
    result = run(runner, "sites", "rotate-key", *args)
    assert result.exit_code != 0
    assert message in result.output


def test_desk_settings_show_and_set(runner, client, site_key):
    shown = run(runner, "sites", "desk", "example")
    assert shown.exit_code == 0
    assert shown.stdout == "report_threshold\t1\nappeal_days\t14\nnew_author_premoderation\t0\n"
    changed = run(
        runner, "sites", "desk", "example", "--report-threshold", "3", "--appeal-days", "0"
    )
    assert "report_threshold\t3" in changed.stdout and "appeal_days\t0" in changed.stdout
    assert "report_threshold 3" in run(runner, "sites", "list").stdout
    for bad in (
        ["--report-threshold", "0"],
        ["--appeal-days", "-2"],
        ["--new-author-premoderation", "x"],
    ):
        assert run(runner, "sites", "desk", "example", *bad).exit_code == 2
    assert run(runner, "sites", "desk", "ghost").exit_code == 1
