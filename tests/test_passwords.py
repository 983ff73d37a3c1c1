"""Password change (the account page), reset by an admin (dashboard) and from the command line."""

from __future__ import annotations

import pytest

from moderator import storage
from moderator.cli import cli
from moderator.storage import review

PASSWORD = "correct horse battery staple"
NEW = "a brand new passphrase"

pytestmark = pytest.mark.all_databases


def audit_rows(engine) -> list:
    with storage.reading(engine) as conn:
        entries, _ = review.audit_entries(conn, review.AuditFilter())
    return entries


def change(dashboard, current=PASSWORD, password=NEW, confirm=NEW):
    return dashboard.post(
        "/dashboard/account", {"current": current, "password": password, "confirm": confirm}
    )


def test_changing_your_password_keeps_this_session_and_ends_the_others(
    app, dashboard, client, engine
):
    dashboard.login("mod")
    elsewhere = type(dashboard)(app.test_client())
    elsewhere.login("mod")
    assert client.get("/dashboard/password").headers["Location"] == "/dashboard/account"
    page = client.get("/dashboard/account")
    assert page.status_code == 200
    assert 'name="current"' in page.get_data(as_text=True)
    response = change(dashboard)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/account"
    assert "Password changed" in client.get("/dashboard/account").get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 200
    assert elsewhere.client.get("/dashboard/").status_code == 302
    dashboard.logout()
    assert dashboard.login("mod", PASSWORD).status_code == 401
    assert dashboard.login("mod", NEW).status_code == 302
    [entry] = [e for e in audit_rows(engine) if e.action == "user.password_change"]
    assert entry.actor == "mod"
    assert NEW not in repr(entry) and "scrypt" not in repr(entry)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"current": "wrong password!"}, "the current password is wrong"),
        ({"current": ""}, "the current password is wrong"),
        ({"current": "x" * 5000}, "the current password is wrong"),
        ({"confirm": "something else"}, "the two new passwords differ"),
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({"password": "p" * 1025, "confirm": "p" * 1025}, "at most 1024 characters"),
        ({"password": PASSWORD, "confirm": PASSWORD}, "must differ from the current one"),
        ({"password": "<b>bold</b> and long", "confirm": "<b>bold</b> and long!"}, "differ"),
    ],
)
def test_password_change_bad_input_changes_nothing(dashboard, client, engine, form, message):
    dashboard.login("mod")
    response = change(dashboard, **form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "<b>bold" not in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 200
    dashboard.logout()
    assert dashboard.login("mod", PASSWORD).status_code == 302


def test_guessing_the_current_password_is_throttled(dashboard, config):
    dashboard.login("mod")
    for _ in range(config.login_max_failures):
        assert change(dashboard, current="wrong password!").status_code == 400
    # Even the right one is refused until the window passes.
    response = change(dashboard)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_password_change_needs_csrf_and_a_login(dashboard, client):
    assert client.get("/dashboard/account").status_code == 302
    dashboard.login("mod")
    response = client.post(
        "/dashboard/account", data={"current": PASSWORD, "password": NEW, "confirm": NEW}
    )
    assert response.status_code == 400
    dashboard.logout()
    assert dashboard.login("mod", PASSWORD).status_code == 302


def test_an_admin_resets_another_accounts_password(app, dashboard, client, engine, accounts):
    victim = type(dashboard)(app.test_client())
    victim.login("mod")
    dashboard.login("admin")
    assert 'class="reset-password"' in client.get("/dashboard/users").get_data(as_text=True)
    response = dashboard.post(
        f"/dashboard/users/{accounts['mod']}/password", {"password": NEW, "confirm": NEW}
    )
    assert response.status_code == 302
    assert "mod has a new password" in client.get("/dashboard/users").get_data(as_text=True)
    assert victim.client.get("/dashboard/").status_code == 302
    assert victim.login("mod", PASSWORD).status_code == 401
    assert victim.login("mod", NEW).status_code == 302
    [entry] = [e for e in audit_rows(engine) if e.action == "user.password_reset"]
    assert entry.actor == "admin"
    assert entry.after == {"username": "mod", "sessions_ended": 1}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": NEW, "confirm": "different!!!"}, "the two passwords differ"),
        ({"password": "short", "confirm": "short"}, "at least 10 characters"),
        ({}, "at least 10 characters"),
        ({"password": PASSWORD, "confirm": PASSWORD}, "must differ from the current one"),
    ],
)
def test_admin_reset_bad_input(dashboard, engine, accounts, form, message):
    dashboard.login("admin")
    response = dashboard.post(f"/dashboard/users/{accounts['mod']}/password", form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert not [e for e in audit_rows(engine) if e.action == "user.password_reset"]


def test_admin_reset_is_for_admins_and_other_accounts(dashboard, client, engine, accounts):
    dashboard.login("mod")
    form = {"password": NEW, "confirm": NEW}
    assert dashboard.post(f"/dashboard/users/{accounts['admin']}/password", form).status_code == 403
    dashboard.logout()
    dashboard.login("admin")
    assert dashboard.post("/dashboard/users/99999/password", form).status_code == 404
    own = dashboard.post(f"/dashboard/users/{accounts['admin']}/password", form)
    assert own.status_code == 302 and own.headers["Location"] == "/dashboard/account"
    assert not [e for e in audit_rows(engine) if e.action == "user.password_reset"]


def test_cli_resets_a_password_from_stdin(runner, dashboard, engine, accounts):
    result = runner.invoke(
        cli, ["users", "reset-password", "mod", "--password-stdin"], input=NEW + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "new password set for mod" in result.output
    assert NEW not in result.output
    assert dashboard.login("mod", NEW).status_code == 302
    assert [
        (e.actor, e.after) for e in audit_rows(engine) if e.action == "user.password_reset"
    ] == [("cli", {"username": "mod", "sessions_ended": 0})]


def test_cli_reset_prompts_twice(runner, dashboard, accounts):
    result = runner.invoke(cli, ["users", "reset-password", "mod"], input=f"{NEW}\n{NEW}\n")
    assert result.exit_code == 0, result.output
    assert dashboard.login("mod", NEW).status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["nobody"], NEW, "no user named 'nobody'"),
        (["mod"], "short", "at least 10 characters"),
        (["mod"], "", "at least 10 characters"),
        (["mod"], PASSWORD, "must differ from the current one"),
        (["<script>"], NEW, "no user named '<script>'"),
    ],
)
def test_cli_reset_mistakes_are_one_line(runner, engine, accounts, args, stdin, message):
    result = runner.invoke(
        cli, ["users", "reset-password", *args, "--password-stdin"], input=stdin + "\n"
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not [e for e in audit_rows(engine) if e.action == "user.password_reset"]


def test_cli_reset_takes_no_password_argument(runner, accounts):
    assert runner.invoke(cli, ["users", "reset-password", "mod", NEW]).exit_code == 2
