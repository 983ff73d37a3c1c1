"""Dashboard sessions end for real: a cookie copied before logout, a password change, a
disabled account or "log out everywhere" stops working at once, on the server."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select
from sqlalchemy import update

from moderator import storage
from moderator.storage import users as user_store
from moderator.storage.tables import audit_log

pytestmark = pytest.mark.all_databases

COOKIE = "moderator_session"
#: The password of the `accounts` fixture's users (tests/conftest.py).
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"


class Dashboard:
    """Log a test client in, as tests/conftest.py's Dashboard does."""

    def __init__(self, browser) -> None:
        self.browser = browser

    def login(self, username: str, password: str = PASSWORD):
        token = csrf_of(self.browser, "/dashboard/login")
        return self.browser.post(
            "/dashboard/login",
            data={"username": username, "password": password, "csrf_token": token},
        )

    def post(self, path: str, data: dict):
        token = csrf_of(self.browser, "/dashboard/audit")
        return self.browser.post(path, data={"csrf_token": token, **data})


def copy_of(client, app):
    """A second browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def logged_in(browser) -> bool:
    return browser.get("/dashboard/").status_code == 200


def csrf_of(browser, path="/dashboard/account") -> str:
    html = browser.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_cookie_copied_before_logout_is_dead_after_it(app, client, dashboard):
    dashboard.login("admin")
    thief = copy_of(client, app)
    assert logged_in(thief)
    token = csrf_of(thief, "/dashboard/sites")
    dashboard.logout()
    assert not logged_in(client)
    # The copied cookie can no longer create a site or read its new key (issue 10, item 3).
    response = thief.post("/dashboard/sites", data={"name": "stolen", "csrf_token": token})
    assert response.status_code in (302, 400)
    assert "mod_" not in response.get_data(as_text=True)
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/dashboard/login")
    assert not logged_in(thief)
    with storage.reading(app.extensions["moderator"].engine) as conn:
        from moderator.storage import sites

        assert [s.name for s in sites.list_sites(conn)] == []


def test_a_session_is_a_row_holding_only_the_tokens_hash(app, client, dashboard, engine):
    from moderator.storage.tables import sessions as sessions_table

    dashboard.login("mod")
    cookie = client.get_cookie(COOKIE).value
    with storage.reading(engine) as conn:
        rows = conn.execute(select(sessions_table)).all()
    assert len(rows) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0].token_hash)
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    token = serializer.loads(cookie)["_user_id"]
    assert len(token) == 43 and token not in repr(rows)
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_changing_your_password_ends_your_other_sessions_and_keeps_this_one(
    app, client, dashboard, engine, accounts
):
    dashboard.login("mod")
    other = app.test_client()
    Dashboard(other).login("mod")
    thief = copy_of(client, app)
    response = client.post(
        "/dashboard/account",
        data={
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
            "csrf_token": csrf_of(client),
        },
    )
    assert response.status_code == 302
    assert logged_in(client)
    assert not logged_in(other) and not logged_in(thief)
    assert Dashboard(app.test_client()).login("mod", NEW_PASSWORD).status_code == 302
    with storage.reading(engine) as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert "user.password_change" in actions


@pytest.mark.parametrize(
    ("current", "password", "confirm", "message"),
    [
        ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "the current password is wrong"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "the two new passwords differ"),
        (PASSWORD, "short", "short", "at least 10 characters"),
        (PASSWORD, "x" * 1025, "x" * 1025, "at most 1024 characters"),
        ("", NEW_PASSWORD, NEW_PASSWORD, "the current password is wrong"),
        (PASSWORD, "", "", "at least 10 characters"),
    ],
)
def test_a_bad_password_change_is_400_and_changes_nothing(
    app, client, dashboard, current, password, confirm, message
):
    dashboard.login("mod")
    thief = copy_of(client, app)
    response = client.post(
        "/dashboard/account",
        data={
            "current": current,
            "password": password,
            "confirm": confirm,
            "csrf_token": csrf_of(client),
        },
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert logged_in(client) and logged_in(thief)
    assert Dashboard(app.test_client()).login("mod", PASSWORD).status_code == 302


def test_guessing_the_current_password_is_throttled(app, client, dashboard, config):
    dashboard.login("mod")
    statuses = [
        client.post(
            "/dashboard/account",
            data={
                "current": f"guess number {i}",
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "csrf_token": csrf_of(client),
            },
        ).status_code
        for i in range(config.login_max_failures + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {400}


def test_a_password_change_without_csrf_is_refused(app, client, dashboard):
    dashboard.login("mod")
    response = client.post(
        "/dashboard/account",
        data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert Dashboard(app.test_client()).login("mod", PASSWORD).status_code == 302


def test_disabling_an_account_ends_its_copied_cookies(app, client, accounts):
    mod_browser = app.test_client()
    Dashboard(mod_browser).login("mod")
    thief = copy_of(mod_browser, app)
    admin = Dashboard(client)
    admin.login("admin")
    assert admin.post(f"/dashboard/users/{accounts['mod']}/disable", {}).status_code == 302
    assert not logged_in(mod_browser) and not logged_in(thief)
    admin.post(f"/dashboard/users/{accounts['mod']}/enable", {})
    assert not logged_in(thief)  # enabling again does not bring old sessions back


def test_an_admin_logs_a_user_out_everywhere(app, client, engine, accounts):
    from moderator.storage import sessions as session_store

    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        Dashboard(browser).login("mod")
    thief = copy_of(browsers[0], app)
    admin = Dashboard(client)
    admin.login("admin")
    page = client.get("/dashboard/users").get_data(as_text=True)
    assert f"/dashboard/users/{accounts['mod']}/sessions/end" in page
    response = admin.post(f"/dashboard/users/{accounts['mod']}/sessions/end", {})
    assert response.status_code == 302
    assert not any(logged_in(b) for b in [*browsers, thief])
    assert logged_in(client)
    with storage.reading(engine) as conn:
        assert session_store.count_sessions(conn, accounts["mod"]) == 0
        entry = conn.execute(
            select(audit_log).where(audit_log.c.action == "user.logout_everywhere")
        ).one()
    assert entry.actor == "admin"
    assert entry.after == {"username": "mod", "sessions_ended": 2}


def test_logging_out_everywhere_ends_all_of_your_sessions(app, client, dashboard):
    dashboard.login("mod")
    other = app.test_client()
    Dashboard(other).login("mod")
    response = client.post("/dashboard/account/sessions/end", data={"csrf_token": csrf_of(client)})
    assert response.headers["Location"] == "/dashboard/login"
    assert not logged_in(client) and not logged_in(other)


def test_an_unknown_user_id_in_end_sessions_is_404(client, accounts):
    admin = Dashboard(client)
    admin.login("admin")
    assert admin.post("/dashboard/users/99999/sessions/end", {}).status_code == 404


def test_a_session_idle_too_long_on_the_server_ends(app, client, dashboard, engine, config):
    from moderator.storage import sessions as session_store
    from moderator.storage.tables import sessions as sessions_table

    dashboard.login("mod")
    thief = copy_of(client, app)
    old = storage.now() - dt.timedelta(minutes=config.session_idle_minutes + 1)
    with storage.transaction(engine) as conn:
        conn.execute(update(sessions_table).values(seen_at=old))
    # The thief's cookie carries no timestamps the server trusts: the row decides.
    assert not logged_in(thief)
    with storage.reading(engine) as conn:
        assert session_store.count_sessions(conn) == 0


def test_a_session_past_its_maximum_age_ends(app, client, dashboard, engine):
    from moderator.storage.tables import sessions as sessions_table

    dashboard.login("mod")
    thief = copy_of(client, app)
    with storage.transaction(engine) as conn:
        conn.execute(
            update(sessions_table).values(created_at=storage.now() - dt.timedelta(hours=13))
        )
    assert not logged_in(thief)


@pytest.mark.parametrize("forged", ["", "1", "1.abcdef0123456789", "x" * 500, "\u202e" * 30])
def test_a_forged_session_token_is_anonymous(app, forged):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    browser = app.test_client()
    browser.set_cookie(COOKIE, serializer.dumps({"_user_id": forged, "_fresh": True}))
    response = browser.get("/dashboard/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


def test_set_password_from_the_command_line_ends_every_session(app, client, dashboard, runner):
    from moderator.cli import cli

    dashboard.login("mod")
    result = runner.invoke(
        cli, ["users", "set-password", "mod", "--password-stdin"], input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert not logged_in(client)
    assert Dashboard(app.test_client()).login("mod", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["users", "set-password", "nobody", "--password-stdin"],
            NEW_PASSWORD + "\n",
            "no user named",
        ),
        (["users", "set-password", "mod", "--password-stdin"], "short\n", "at least 10"),
        (["users", "set-password", "mod", "--password-stdin"], "\n", "at least 10"),
        (["users", "end-sessions", "nobody"], "", "no user named"),
    ],
)
def test_user_commands_refuse_bad_input(runner, accounts, args, stdin, message):
    from moderator.cli import cli

    result = runner.invoke(cli, args, input=stdin)
    assert result.exit_code == 1
    assert message in result.output


def test_end_sessions_from_the_command_line(app, client, dashboard, runner, engine):
    from moderator.cli import cli

    dashboard.login("mod")
    result = runner.invoke(cli, ["users", "end-sessions", "mod"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "mod: 1 session(s) ended"
    assert not logged_in(client)


def test_storage_ends_sessions_with_the_password_or_the_account(engine, accounts, dashboard):
    from moderator.storage import sessions as session_store

    dashboard.login("mod")
    with storage.transaction(engine) as conn:
        assert session_store.count_sessions(conn, accounts["mod"]) == 1
        user_store.set_disabled(conn, accounts["mod"], False)  # enabling ends nothing
        assert session_store.count_sessions(conn, accounts["mod"]) == 1
        user_store.set_password_hash(conn, accounts["mod"], "pbkdf2:sha256:1000$x$y")
        assert session_store.count_sessions(conn, accounts["mod"]) == 0


def test_a_request_without_a_session_cookie_gets_an_empty_session_without_signing(app, monkeypatch):
    from flask import request

    interface = app.session_interface
    monkeypatch.setattr(
        type(interface),
        "get_signing_serializer",
        lambda self, app: pytest.fail("no cookie, so nothing to verify"),
    )
    with app.test_request_context("/api/v1/moderate", method="POST"):
        opened = interface.open_session(app, request)
        assert dict(opened) == {} and not opened.modified


def test_a_forged_session_cookie_still_gets_no_session(app):
    from flask import request

    headers = {"Cookie": "moderator_session=eyJfdXNlcl9pZCI6IjEifQ.forged.signature"}
    with app.test_request_context("/dashboard/", headers=headers):
        assert dict(app.session_interface.open_session(app, request)) == {}


@pytest.mark.parametrize(
    "touch",
    [
        "untouched",  # every API request
        "read",  # Flask-Login looks for its remember flag: Vary: Cookie
        "cleared",  # logged out: the cookie is deleted
        "written",  # logged in: the cookie is set
    ],
)
def test_saving_a_session_sets_the_headers_flask_itself_would(app, touch):
    from flask import Response
    from flask.sessions import SecureCookieSessionInterface

    def saved(interface) -> list:
        session = interface.session_class({"seen_at": 1} if touch == "cleared" else {})
        session.accessed = session.modified = False
        if touch == "read":
            assert session.get("_remember") is None
        elif touch == "cleared":
            session.clear()
        elif touch == "written":
            session["seen_at"] = 2
        response = Response("{}")
        with app.test_request_context("/api/v1/moderate", method="POST"):
            interface.save_session(app, session, response)
        return sorted(response.headers.items())

    assert saved(app.session_interface) == saved(SecureCookieSessionInterface())
    if touch == "untouched":
        assert saved(app.session_interface) == [
            ("Content-Length", "2"),
            ("Content-Type", "text/html; charset=utf-8"),
        ]
