"""Site API keys: format, hash-only storage, Bearer parsing, and keys never logged."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest
from sqlalchemy import select

from moderator import auth
from moderator.cli import cli
from moderator.storage.tables import audit_log
from moderator.storage.tables import sites


def test_keys_are_mod_plus_43_urlsafe_characters_and_unique():
    keys = {auth.generate_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(re.fullmatch(r"mod_[A-Za-z0-9_-]{43}", k) for k in keys)


def test_hash_is_sha256_hex_and_prefix_is_short():
    key = auth.generate_key()
    assert auth.hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert auth.display_prefix(key) == key[:12]
    assert auth.hash_key("mod_\ud800") != auth.hash_key("mod_")  # never raises


def test_only_the_hash_of_a_key_is_stored(engine, site_key):
    with engine.connect() as conn:
        site_rows = [tuple(map(str, r)) for r in conn.execute(select(sites))]
        audit_rows = [tuple(map(str, r)) for r in conn.execute(select(audit_log))]
    dumped = repr(site_rows + audit_rows)
    assert site_key not in dumped
    assert site_key[12:20] not in dumped
    assert auth.hash_key(site_key) in dumped


@pytest.mark.parametrize(
    "key",
    ["", "mod_", "mod_unknown", "MOD_x", "notmod_abc", "mod_" + "a" * 300, "mod_\u00e9\u0000"],
)
def test_authenticate_refuses_unknown_and_malformed_keys(engine, site_key, key):
    assert auth.authenticate(engine, key) is None


def test_authenticate_finds_the_site_until_revoked(engine, site_key, runner):
    site = auth.authenticate(engine, site_key)
    assert site is not None and site.name == "example"
    result = runner.invoke(cli, ["sites", "revoke", "example", "--yes"])
    assert result.exit_code == 0, result.output
    assert auth.authenticate(engine, site_key) is None


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(client, site_key, scheme):
    response = client.post(
        "/api/v1/moderate",
        json={"text": "hi", "store": False},
        headers={"Authorization": f"{scheme} {site_key}"},
    )
    assert response.status_code == 200


def test_query_string_key_is_not_accepted_on_the_json_api(client, site_key):
    response = client.post(f"/api/v1/moderate?key={site_key}", json={"text": "hi"})
    assert response.status_code == 401


def test_rate_limit_key_never_holds_the_api_key(app, site_key):
    with app.test_request_context(headers={"Authorization": f"Bearer {site_key}"}):
        limiter_key = auth.rate_limit_key()
    assert site_key not in limiter_key and site_key[4:] not in limiter_key
    assert limiter_key == "key:" + auth.hash_key(site_key)[:32]
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        assert auth.rate_limit_key() == "addr:203.0.113.9"


def test_keys_and_comment_text_never_reach_the_logs(app, client, site_key, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": f"Bearer {site_key}"}
    client.post("/api/v1/moderate", json={"text": "very private words"}, headers=headers)
    client.post("/api/v1/moderate", json={"text": 5}, headers=headers)
    client.post("/api/v1/moderate", json={"text": "x"}, headers={"Authorization": "Bearer mod_bad"})
    out, err = capfd.readouterr()
    for logged in (caplog.text, out, err):
        assert site_key not in logged
        assert "very private words" not in logged
    assert app.config["SECRET_KEY"] not in caplog.text + out + err
