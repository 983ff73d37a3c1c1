"""Bounded work per request: chunked bodies, error lists, batch text, reference cycles."""

from __future__ import annotations

import dataclasses
import gc
import io
import json

import pytest

from moderator import create_app
from moderator import storage
from moderator.storage import comments

PERSPECTIVE = "/v1alpha1/comments:analyze"
#: moderator.errors.MAX_FIELD_ERRORS (written out, so this file also runs on older code).
MAX_FIELD_ERRORS = 20


def chunked(client, path, body: bytes, **kwargs):
    """POST `body` as gunicorn hands a chunked request over: no Content-Length, terminated input."""
    headers = {"Transfer-Encoding": "chunked", **kwargs.pop("headers", {})}
    return client.post(
        path,
        input_stream=io.BytesIO(body),
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        **kwargs,
    )


def stored(engine) -> int:
    with storage.reading(engine) as conn:
        return comments.count_comments(conn)


def padded(limit: int, document: dict) -> bytes:
    """A small JSON document followed by whitespace to twice `limit` bytes."""
    raw = json.dumps(document).encode()
    return raw + b" " * (2 * limit - len(raw))


def test_a_chunked_body_past_the_limit_is_413_not_truncated(client, headers, config, engine):
    body = padded(config.max_content_length, {"text": "hello", "id": "padded"})
    response = chunked(
        client, "/api/v1/moderate", body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "request body is too large"
    assert stored(engine) == 0


def test_a_chunked_body_within_the_limit_is_read_whole(client, headers, engine):
    text = "chunked " * 2000
    body = json.dumps({"text": text, "id": "whole"}).encode()
    response = chunked(
        client, "/api/v1/moderate", body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200, response.json
    got = client.get("/api/v1/comments/whole", headers=headers).json
    assert got["text"] == text


def test_a_chunked_body_past_the_limit_on_the_perspective_door_is_google_413(
    client, site_key, config, engine
):
    document = {"comment": {"text": "hello"}, "requestedAttributes": {"TOXICITY": {}}}
    body = padded(config.max_content_length, document)
    response = chunked(client, f"{PERSPECTIVE}?key={site_key}", body)
    assert response.status_code == 413
    assert response.json["error"]["code"] == 413
    assert stored(engine) == 0


def test_a_chunked_body_past_the_limit_on_a_dashboard_form_is_413(client, config):
    body = b"username=a&password=" + b"x" * (2 * config.max_content_length)
    response = chunked(
        client,
        "/dashboard/login",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 413


def test_a_chunked_batch_exactly_at_the_limit_is_accepted(config, tmp_path, make_site):
    small = create_app(dataclasses.replace(config, max_content_length=30000))
    storage.upgrade(small.extensions["moderator"].engine)
    try:
        from moderator import auth
        from moderator.storage import sites

        key = auth.generate_key()
        with storage.transaction(small.extensions["moderator"].engine) as conn:
            sites.create_site(conn, "edge", auth.hash_key(key), auth.display_prefix(key))
        raw = json.dumps({"text": "fine"}).encode()
        exact = raw + b" " * (30000 - len(raw))
        bearer = {"Authorization": f"Bearer {key}"}
        client = small.test_client()
        ok = chunked(
            client, "/api/v1/moderate", exact, headers=bearer, content_type="application/json"
        )
        over = chunked(
            client,
            "/api/v1/moderate",
            exact + b" ",
            headers=bearer,
            content_type="application/json",
        )
        assert (ok.status_code, over.status_code) == (200, 413)
    finally:
        small.extensions["moderator"].engine.dispose()


def test_an_error_list_is_capped_and_counts_the_rest(client, headers):
    fields = {f"unknown{i:06d}": 0 for i in range(40_000)}
    response = client.post("/api/v1/moderate", json={"text": "hi", **fields}, headers=headers)
    assert response.status_code == 400
    problem = response.json
    assert len(problem["errors"]) == MAX_FIELD_ERRORS
    assert problem["more_errors"] == 40_000 - MAX_FIELD_ERRORS
    assert problem["errors"][0] == {"field": "unknown000000", "message": "unknown field"}
    assert len(response.get_data()) < 4096


def test_a_batch_item_with_many_unknown_fields_gets_a_short_problem(client, headers):
    item = {"text": "hi", **{f"x{i}": i for i in range(20_000)}}
    response = client.post(
        "/api/v1/moderate/batch", json={"comments": [item, {"text": "fine"}]}, headers=headers
    )
    assert response.status_code == 200
    bad, good = response.json["results"]
    assert bad["status"] == 400 and bad["index"] == 0
    assert (
        len(bad["errors"]) == MAX_FIELD_ERRORS and bad["more_errors"] == 20_000 - MAX_FIELD_ERRORS
    )
    assert good["decision"] in ("allow", "hold", "reject")
    assert len(response.get_data()) < 8192


def test_a_huge_field_name_is_not_echoed_back(client, headers):
    name = "n" * 200_000
    response = client.post("/api/v1/moderate", json={"text": "hi", name: 1}, headers=headers)
    assert response.status_code == 400
    assert len(response.get_data()) < 2048
    assert response.json["errors"][0]["field"].endswith("...")


def test_a_batch_over_the_text_budget_is_413_and_stores_nothing(client, headers, config, engine):
    per_item = config.max_batch_bytes // 50 + 1
    batch = {"comments": [{"text": "a" * per_item, "id": f"b{i}"} for i in range(50)]}
    response = client.post("/api/v1/moderate/batch", json=batch, headers=headers)
    assert response.status_code == 413
    assert response.json["errors"] == [
        {"field": "comments", "message": f"more than {config.max_batch_bytes} bytes of text in all"}
    ]
    assert stored(engine) == 0


def test_parent_text_counts_towards_the_batch_text_budget(config, tmp_path, make_site):
    app = create_app(dataclasses.replace(config, max_text_bytes=1000, max_batch_bytes=1500))
    storage.upgrade(app.extensions["moderator"].engine)
    try:
        from moderator import auth
        from moderator.storage import sites

        key = auth.generate_key()
        with storage.transaction(app.extensions["moderator"].engine) as conn:
            sites.create_site(conn, "budget", auth.hash_key(key), auth.display_prefix(key))
        item = {"text": "a" * 800, "parent_text": "b" * 800}
        response = app.test_client().post(
            "/api/v1/moderate/batch",
            json={"comments": [item]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 413
    finally:
        app.extensions["moderator"].engine.dispose()


def cyclic_garbage(client, headers, body) -> int:
    """Objects only the cycle collector frees, left by five identical batch requests."""
    client.post("/api/v1/moderate/batch", json=body, headers=headers)  # warm caches
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            client.post("/api/v1/moderate/batch", json=body, headers=headers)
        return gc.collect()
    finally:
        gc.enable()


def test_invalid_batch_items_leave_no_reference_cycles(client, headers):
    valid = cyclic_garbage(client, headers, {"comments": [{"text": "hi"}] * 20})
    invalid = cyclic_garbage(client, headers, {"comments": [{"text": ""}] * 20})
    unknown = cyclic_garbage(
        client, headers, {"comments": [{"text": "a", **{f"f{i}": 1 for i in range(200)}}] * 20}
    )
    # Whatever the framework itself leaves per request, bad items add nothing to it.
    assert invalid <= valid and unknown <= valid


@pytest.mark.parametrize("value", ["0", "-1", "ten"])
def test_batch_text_budget_setting_is_checked(value):
    from moderator.config import Config
    from moderator.config import ConfigError

    with pytest.raises(ConfigError, match="MODERATOR_MAX_BATCH_BYTES"):
        Config.from_env({"MODERATOR_MAX_BATCH_BYTES": value})


def test_batch_text_budget_must_hold_one_text():
    from moderator.config import Config
    from moderator.config import ConfigError

    with pytest.raises(ConfigError, match="MODERATOR_MAX_BATCH_BYTES"):
        Config.from_env({"MODERATOR_MAX_BATCH_BYTES": "100", "MODERATOR_MAX_TEXT_BYTES": "200"})


@pytest.mark.parametrize(("count", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_the_proxy_only_when_configured(config, count, seen):
    from flask import request

    app = create_app(dataclasses.replace(config, proxy_count=count))
    app.add_url_rule("/_address", "address", lambda: request.remote_addr)
    response = app.test_client().get(
        "/_address",
        headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.get_data(as_text=True) == seen
    app.extensions["moderator"].engine.dispose()


@pytest.mark.parametrize("value", ["-1", "11", "one"])
def test_proxy_count_setting_is_checked(value):
    from moderator.config import Config
    from moderator.config import ConfigError

    with pytest.raises(ConfigError, match="MODERATOR_PROXY_COUNT"):
        Config.from_env({"MODERATOR_PROXY_COUNT": value})


def test_the_cap_written_here_is_the_servers():
    from moderator.errors import MAX_FIELD_ERRORS as server_cap

    assert server_cap == MAX_FIELD_ERRORS
