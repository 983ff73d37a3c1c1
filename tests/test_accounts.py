"""Dashboard accounts: login, logout, expiry, throttling, CSRF, cookies, `users create`."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
from werkzeug.security import generate_password_hash

from moderator import accounts as accounts_module
from moderator import create_app
from moderator import storage
from moderator.cli import cli
from moderator.storage import users as user_store

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.all_databases


def audit_actions(engine) -> list[tuple[str, str]]:
    from moderator.storage import review

    with storage.reading(engine) as conn:
        entries, _ = review.audit_entries(conn, review.AuditFilter())
    return [(e.actor, e.action) for e in entries]


def test_login_page_renders_with_csrf_token(client):
    response = client.get("/dashboard/login")
    assert response.status_code == 200
    assert 'name="csrf_token"' in response.get_data(as_text=True)


def test_login_with_correct_password_opens_the_queue(dashboard, client, engine):
    response = dashboard.login("mod")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert ("mod", "user.login") in audit_actions(engine)


def test_wrong_password_is_refused_and_audited(dashboard, client, engine):
    response = dashboard.login("mod", "wrong password!")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302
    assert ("mod", "user.login_failed") in audit_actions(engine)


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(dashboard):
    response = dashboard.login("nobody", PASSWORD)
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("", ""),
        ("mod", ""),
        ("", PASSWORD),
        ("mod", "x" * 5000),
        ("m" * 5000, PASSWORD),
        ("mód", PASSWORD),
        ("mod\x00", PASSWORD),
        ("<script>alert(1)</script>", PASSWORD),
        ("\u202emod", PASSWORD),
        ("mod", "\U0001f600" * 20),
        ("mo\u200bd", PASSWORD),
    ],
)
def test_bad_login_input_is_a_plain_refusal(dashboard, username, password):
    response = dashboard.login(username, password)
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html


def test_login_with_invalid_utf8_is_a_plain_refusal(dashboard, client):
    token = dashboard.csrf()
    body = f"username=mod&password=%ED%A0%80%FF&csrf_token={token}".encode()
    response = client.post(
        "/dashboard/login", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 401


def test_login_is_throttled_after_repeated_failures(dashboard, config):
    for _ in range(config.login_max_failures):
        assert dashboard.login("mod", "wrong password!").status_code == 401
    # Even the right password is refused until the window passes.
    response = dashboard.login("mod", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed logins" in response.get_data(as_text=True)


def test_throttle_counts_per_username_and_address_and_forgets_after_the_window():
    throttle = accounts_module.LoginThrottle(max_failures=2, window=0.2)
    throttle.fail("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0
    throttle.fail("Alice", "10.0.0.2")
    assert throttle.retry_after("alice", "10.0.0.3") > 0  # the username is locked anywhere
    assert throttle.retry_after("bob", "10.0.0.1") == 0  # another user from that address isn't
    time.sleep(0.25)
    assert throttle.retry_after("alice", "10.0.0.1") == 0


def test_throttle_locks_an_address_spraying_usernames():
    throttle = accounts_module.LoginThrottle(max_failures=2, window=60)
    for i in range(2 * accounts_module.ADDRESS_FACTOR):
        throttle.fail(f"user{i}", "10.0.0.9")
    assert throttle.retry_after("someone-new", "10.0.0.9") > 0
    assert throttle.retry_after("someone-new", "10.0.0.8") == 0


def test_success_clears_the_username_failures():
    throttle = accounts_module.LoginThrottle(max_failures=2, window=60)
    throttle.fail("alice", "10.0.0.1")
    throttle.succeed("alice")
    throttle.fail("alice", "10.0.0.1")
    assert throttle.retry_after("alice", "10.0.0.1") == 0


def test_disabled_account_cannot_log_in(dashboard, engine, accounts):
    with storage.transaction(engine) as conn:
        user_store.set_disabled(conn, accounts["mod"], True)
    assert dashboard.login("mod").status_code == 401


def test_login_without_csrf_token_is_rejected(client, accounts):
    response = client.post("/dashboard/login", data={"username": "mod", "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this dashboard" in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 302


def test_invalid_csrf_token_is_rejected(client, accounts):
    client.get("/dashboard/login")
    data = {"username": "mod", "password": PASSWORD, "csrf_token": "forged.token.value"}
    assert client.post("/dashboard/login", data=data).status_code == 400


def test_csrf_token_of_another_session_is_rejected(app, dashboard, accounts):
    other = app.test_client()
    stolen = other.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', stolen).group(1)
    dashboard.client.get("/dashboard/login")
    data = {"username": "mod", "password": PASSWORD, "csrf_token": token}
    assert dashboard.client.post("/dashboard/login", data=data).status_code == 400


def test_csrf_token_replayed_after_logout_is_rejected(dashboard, client):
    dashboard.login("mod")
    token = dashboard.csrf("/dashboard/")
    assert client.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    dashboard.login("mod")
    # The old session's token is dead: the new session has a new secret.
    response = client.post("/dashboard/logout", data={"csrf_token": token})
    assert response.status_code == 400
    assert client.get("/dashboard/").status_code == 200


def test_logout_needs_post(dashboard, client):
    dashboard.login("mod")
    assert client.get("/dashboard/logout").status_code == 405
    assert client.get("/dashboard/").status_code == 200


def test_logout_ends_the_session(dashboard, client, engine):
    dashboard.login("mod")
    response = dashboard.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/login"
    assert client.get("/dashboard/").status_code == 302
    assert ("mod", "user.logout") in audit_actions(engine)


def test_session_cookie_is_httponly_and_samesite_lax(dashboard):
    cookie = dashboard.login("mod").headers["Set-Cookie"]
    assert "moderator_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(config, accounts):
    app = create_app(dataclasses.replace(config, session_cookie_secure=True))
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/dashboard/login").get_data(as_text=True)
    ).group(1)
    response = client.post(
        "/dashboard/login", data={"username": "mod", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert "; Secure" in response.headers["Set-Cookie"]
    app.extensions["moderator"].engine.dispose()


@pytest.mark.parametrize("stamp", ["seen_at", "login_at"])
def test_session_expires(dashboard, client, config, stamp):
    dashboard.login("mod")
    assert client.get("/dashboard/").status_code == 200
    ages = {"seen_at": config.session_idle_minutes * 60 + 5, "login_at": 13 * 3600}
    with client.session_transaction() as session:
        session[stamp] = int(time.time()) - ages[stamp]
    response = client.get("/dashboard/stats")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login?next=")
    assert client.get("/dashboard/").status_code == 302


def test_changing_the_password_ends_existing_sessions(dashboard, client, engine, accounts):
    dashboard.login("mod")
    with storage.transaction(engine) as conn:
        user_store.set_password_hash(conn, accounts["mod"], generate_password_hash("another one!"))
    assert client.get("/dashboard/").status_code == 302


def test_disabling_an_account_ends_its_sessions(dashboard, client, engine, accounts):
    dashboard.login("mod")
    with storage.transaction(engine) as conn:
        user_store.set_disabled(conn, accounts["mod"], True)
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    ("target", "landing"),
    [
        ("/dashboard/audit?actor=mod", "/dashboard/audit?actor=mod"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/dashboard", "/dashboard/"),
        ("/\\evil.example", "/dashboard/"),
        ("/api/v1/comments", "/dashboard/"),
        ("javascript:alert(1)", "/dashboard/"),
    ],
)
def test_login_follows_next_only_inside_the_dashboard(dashboard, client, target, landing):
    token = dashboard.csrf()
    response = client.post(
        "/dashboard/login",
        data={"username": "mod", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["Location"] == landing


def test_dashboard_pages_send_security_headers(dashboard, client):
    dashboard.login("mod")
    response = client.get("/dashboard/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


# -- accounts from the command line and the admin page --------------------------------------------


def test_users_create_reads_the_password_from_stdin(runner, dashboard, engine):
    result = runner.invoke(
        cli, ["users", "create", "carol", "--admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "created admin carol" in result.output
    with storage.reading(engine) as conn:
        carol = user_store.get_user_by_username(conn, "carol")
    assert carol.role == "admin"
    assert PASSWORD not in carol.password_hash
    assert dashboard.login("carol").status_code == 302


def test_users_create_prompts_twice_and_makes_a_moderator(runner, engine):
    result = runner.invoke(cli, ["users", "create", "dave"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created moderator dave" in result.output
    assert PASSWORD not in result.output


def test_users_create_refuses_mismatched_prompts(runner, engine):
    result = runner.invoke(cli, ["users", "create", "erin"], input=f"{PASSWORD}\nsomething else\n")
    assert result.exit_code != 0
    with storage.reading(engine) as conn:
        assert user_store.get_user_by_username(conn, "erin") is None


def test_users_create_takes_no_password_argument(runner):
    result = runner.invoke(cli, ["users", "create", "frank", PASSWORD])
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("gina", "short", "at least 10 characters"),
        ("gina", "", "at least 10 characters"),
        ("gina", "x" * 1025, "at most 1024 characters"),
        ("gína", PASSWORD, "ASCII letters"),
        ("_gina", PASSWORD, "ASCII letters"),
        ("g" * 65, PASSWORD, "ASCII letters"),
        ("mod", PASSWORD, "already taken"),
    ],
)
def test_users_create_bad_input(runner, accounts, username, password, message):
    result = runner.invoke(
        cli, ["users", "create", username, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code in (1, 2)
    assert message in result.output


def test_admin_creates_a_user_from_the_dashboard(dashboard, client, engine):
    dashboard.login("admin")
    response = dashboard.post(
        "/dashboard/users",
        {"username": "hana", "password": PASSWORD, "confirm": PASSWORD, "role": "moderator"},
    )
    assert response.status_code == 302
    assert "hana" in client.get("/dashboard/users").get_data(as_text=True)
    assert ("admin", "user.create") in audit_actions(engine)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"username": "", "password": PASSWORD, "confirm": PASSWORD}, "username must be"),
        ({"username": "ivan", "password": PASSWORD, "confirm": "different!!"}, "differ"),
        ({"username": "ivan", "password": "short", "confirm": "short"}, "at least 10"),
        ({"username": "<b>x</b>", "password": PASSWORD, "confirm": PASSWORD}, "username must"),
        ({"username": "mod", "password": PASSWORD, "confirm": PASSWORD}, "already taken"),
    ],
)
def test_admin_user_form_bad_input(dashboard, form, message):
    dashboard.login("admin")
    response = dashboard.post("/dashboard/users", form)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_admin_disables_and_enables_a_user(dashboard, client, accounts):
    dashboard.login("admin")
    url = f"/dashboard/users/{accounts['mod']}/disable"
    assert dashboard.post(url, {}).status_code == 302
    assert "disabled" in client.get("/dashboard/users").get_data(as_text=True)
    assert dashboard.post(f"/dashboard/users/{accounts['mod']}/enable", {}).status_code == 302


def test_admin_cannot_disable_themselves(dashboard, client, engine, accounts):
    dashboard.login("admin")
    dashboard.post(f"/dashboard/users/{accounts['admin']}/disable", {})
    with storage.reading(engine) as conn:
        assert not user_store.get_user(conn, accounts["admin"]).disabled


def test_disabling_a_missing_user_is_404(dashboard):
    dashboard.login("admin")
    assert dashboard.post("/dashboard/users/99999/disable", {}).status_code == 404
