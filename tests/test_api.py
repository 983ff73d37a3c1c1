"""The JSON API: moderate, batch, comment state, health; idempotency, isolation, failures."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy import update

from moderator import create_app
from moderator import service
from moderator import storage
from moderator.storage import comments as comments_store
from moderator.storage import sites
from moderator.storage.tables import comments

pytestmark = pytest.mark.all_databases

RESULT_KEYS = {"id", "external_id", "decision", "reasons", "scores", "model", "language"}


def rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(comments)))


def test_moderate_returns_decision_and_stores_comment(client, headers, engine):
    body = {
        "text": "Thanks for the thoughtful article.",
        "id": "c-1",
        "author": {"id": "u-9", "name": "Ada"},
        "url": "https://news.example/a/1",
        "parent_text": "What do you think?",
    }
    response = client.post("/api/v1/moderate", json=body, headers=headers)
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/json"
    data = response.json
    assert set(data) == RESULT_KEYS
    assert data["external_id"] == "c-1"
    assert data["decision"] in ("allow", "hold", "reject")
    for reason in data["reasons"]:
        assert set(reason) == {"category", "score", "source", "words", "spans"}

    [row] = rows(engine)
    assert row.id == data["id"]
    assert (row.text, row.author_id, row.author_name) == (body["text"], "u-9", "Ada")
    assert (row.url, row.parent_text) == (body["url"], body["parent_text"])
    assert row.decision == row.status == data["decision"]
    assert row.reasons == data["reasons"] and row.scores == data["scores"]
    assert row.version == 1 and row.human_decision is None


def test_same_site_and_id_twice_returns_the_stored_decision(client, headers, engine):
    first = client.post("/api/v1/moderate", json={"text": "hello", "id": "42"}, headers=headers)
    again = client.post(
        "/api/v1/moderate", json={"text": "something else", "id": "42"}, headers=headers
    )
    assert again.status_code == 200
    assert again.json == first.json
    assert len(rows(engine)) == 1


def test_integer_ids_are_the_same_comment_as_their_string(client, headers, engine):
    first = client.post("/api/v1/moderate", json={"text": "hi", "id": 7}, headers=headers)
    again = client.post("/api/v1/moderate", json={"text": "hi", "id": "7"}, headers=headers)
    assert first.json["external_id"] == "7"
    assert again.json["id"] == first.json["id"]


def test_concurrent_retry_loses_the_insert_and_returns_the_winner(
    app, engine, monkeypatch, make_site
):
    """The race: both requests miss the lookup; the unique constraint picks one row."""
    key = make_site("racer")
    s = app.extensions["moderator"]
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "racer")
    from moderator.schemas import CommentIn

    winner = service.moderate(engine, s.moderation, site, CommentIn(text="first", external_id="r"))
    real_lookup = comments_store.find_by_external_ids
    calls = []

    def stale_lookup(conn, site_id, ids):
        calls.append(list(ids))
        # The first lookup runs before the other request committed: it sees nothing.
        return {} if len(calls) == 1 else real_lookup(conn, site_id, ids)

    monkeypatch.setattr(comments_store, "find_by_external_ids", stale_lookup)
    loser = service.moderate(engine, s.moderation, site, CommentIn(text="second", external_id="r"))
    assert len(calls) == 2
    assert loser.id == winner.id and loser.decision == winner.decision
    assert loser.fresh is None
    assert [r.text for r in rows(engine)] == ["first"]
    assert key


def test_store_false_decides_without_storing_anything(client, headers, engine):
    response = client.post(
        "/api/v1/moderate",
        json={"text": "do not keep this", "id": "x", "store": False},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.json["id"] is None
    assert response.json["external_id"] == "x"
    assert response.json["decision"] in ("allow", "hold", "reject")
    assert rows(engine) == []


def test_get_comment_shows_the_current_state(client, headers, engine):
    created = client.post(
        "/api/v1/moderate", json={"text": "<b>bold</b> claim", "id": "e-1"}, headers=headers
    ).json
    response = client.get(f"/api/v1/comments/{created['id']}", headers=headers)
    assert response.status_code == 200
    data = response.json
    assert data["id"] == created["id"] and data["external_id"] == "e-1"
    assert data["status"] == data["decision"] == created["decision"]
    assert data["text"] == "<b>bold</b> claim"
    assert data["created_at"].endswith("Z")
    for name in ("human_decision", "decided_by", "decided_at", "note", "reason_code"):
        assert data[name] is None
    # The site's own id finds it too.
    assert client.get("/api/v1/comments/e-1", headers=headers).json["id"] == created["id"]


def test_get_comment_shows_a_moderators_later_decision(client, headers, engine):
    created = client.post("/api/v1/moderate", json={"text": "meh"}, headers=headers).json
    decided_at = storage.now()
    with storage.transaction(engine) as conn:
        conn.execute(
            update(comments)
            .where(comments.c.id == created["id"])
            .values(
                status="reject",
                human_decision="reject",
                decided_by="maria",
                decided_at=decided_at,
                note="spam link",
                reason_code="spam",
                version=comments.c.version + 1,
            )
        )
    data = client.get(f"/api/v1/comments/{created['id']}", headers=headers).json
    assert data["decision"] == created["decision"]
    assert (data["status"], data["human_decision"], data["decided_by"]) == (
        "reject",
        "reject",
        "maria",
    )
    assert (data["note"], data["reason_code"], data["version"]) == ("spam link", "spam", 2)
    assert data["decided_at"] == storage.isoformat(decided_at)


def test_a_key_sees_only_its_own_sites_comments(client, headers, engine, make_site):
    created = client.post("/api/v1/moderate", json={"text": "mine", "id": "s1"}, headers=headers)
    other = {"Authorization": f"Bearer {make_site('other')}"}
    for ref in (created.json["id"], "s1"):
        response = client.get(f"/api/v1/comments/{ref}", headers=other)
        assert response.status_code == 404
        assert response.json == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "no such comment",
        }
    # The same external id is a different comment on another site.
    theirs = client.post("/api/v1/moderate", json={"text": "theirs", "id": "s1"}, headers=other)
    assert theirs.json["id"] != created.json["id"]
    assert len(rows(engine)) == 2


def test_unknown_comment_is_404(client, headers):
    response = client.get("/api/v1/comments/does-not-exist", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer mod_wrong", "Bearer x" * 300],
)
def test_requests_without_a_valid_key_are_401(client, header, engine):
    headers = {} if header is None else {"Authorization": header}
    for method, path in (
        ("post", "/api/v1/moderate"),
        ("post", "/api/v1/moderate/batch"),
        ("get", "/api/v1/comments/abc"),
    ):
        response = getattr(client, method)(path, json={"text": "hi"}, headers=headers)
        assert response.status_code == 401, (path, response.json)
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert rows(engine) == []


def test_revoked_key_is_401(client, headers, engine):
    assert client.post("/api/v1/moderate", json={"text": "a"}, headers=headers).status_code == 200
    with storage.transaction(engine) as conn:
        sites.revoke_site(conn, "example")
    response = client.post("/api/v1/moderate", json={"text": "b"}, headers=headers)
    assert response.status_code == 401
    assert response.json["detail"] == "invalid or revoked API key"


def test_hold_when_classifier_unavailable(app, client, headers, engine):
    app.extensions["moderator"].moderation.classifier = None
    response = client.post("/api/v1/moderate", json={"text": "a fine day"}, headers=headers)
    assert response.status_code == 200
    assert response.json["decision"] == "hold"
    assert response.json["model"] is None
    assert response.json["reasons"] == [
        {
            "category": "classifier_unavailable",
            "score": None,
            "source": "system",
            "words": [],
            "spans": [],
        }
    ]
    [row] = rows(engine)
    assert row.status == "hold" and row.reasons == response.json["reasons"]


class BrokenClassifier:
    """A model that fails at scoring time (e.g. a corrupt artifact or out of memory)."""

    thresholds: dict = {}

    def label(self):
        return "broken@1"

    def score_one(self, text):
        raise RuntimeError("model exploded")

    def score(self, texts):
        raise RuntimeError("model exploded")


def test_hold_when_classifier_raises(app, client, headers, engine, caplog):
    app.extensions["moderator"].moderation.classifier = BrokenClassifier()
    response = client.post("/api/v1/moderate", json={"text": "secret words"}, headers=headers)
    assert response.status_code == 200
    assert response.json["decision"] == "hold"
    assert [r["category"] for r in response.json["reasons"]] == ["classifier_unavailable"]
    assert len(rows(engine)) == 1
    batch = client.post(
        "/api/v1/moderate/batch", json={"comments": [{"text": "a"}, {"text": "b"}]}, headers=headers
    )
    assert [r["decision"] for r in batch.json["results"]] == ["hold", "hold"]
    assert "secret words" not in caplog.text


def test_site_block_words_reject_with_words_and_spans(client, headers, engine):
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "block", ["wombat"])
    text = "You absolute Wombat."
    response = client.post("/api/v1/moderate", json={"text": text}, headers=headers)
    assert response.json["decision"] == "reject"
    [reason] = [r for r in response.json["reasons"] if r["source"] == "wordlist"]
    assert reason["words"] == ["Wombat"]
    [[start, end]] = reason["spans"]
    assert text[start:end] == "Wombat"


def test_site_suspect_words_hold(client, headers, engine):
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "suspect", ["crypto"])
    response = client.post("/api/v1/moderate", json={"text": "buy crypto now"}, headers=headers)
    assert response.json["decision"] in ("hold", "reject")
    assert any(r["words"] == ["crypto"] for r in response.json["reasons"])


def test_batch_returns_one_result_per_comment_in_order(client, headers, engine):
    body = {
        "comments": [
            {"text": "first", "id": "b1"},
            {"text": ""},
            {"text": "third", "id": "b3", "store": False},
            {"text": "fourth", "id": "b1"},
        ]
    }
    response = client.post("/api/v1/moderate/batch", json=body, headers=headers)
    assert response.status_code == 200
    results = response.json["results"]
    assert len(results) == 4
    assert set(results[0]) == RESULT_KEYS and results[0]["external_id"] == "b1"
    assert results[1] == {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": "text: must not be blank",
        "errors": [{"field": "text", "message": "must not be blank"}],
        "index": 1,
    }
    assert results[2]["id"] is None
    # The same id twice in one batch is one comment.
    assert results[3]["id"] == results[0]["id"]
    assert [r.external_id for r in rows(engine)] == ["b1"]


def test_batch_of_only_invalid_items_stores_nothing(client, headers, engine):
    body = {"comments": [{"text": 1}, {"nope": True}]}
    response = client.post("/api/v1/moderate/batch", json=body, headers=headers)
    assert response.status_code == 200
    assert [r["status"] for r in response.json["results"]] == [400, 400]
    assert [r["index"] for r in response.json["results"]] == [0, 1]
    assert rows(engine) == []


def test_batch_decides_like_single_requests(client, headers):
    texts = ["have a lovely day", "you are an idiot", "shit happens"]
    singles = [
        client.post("/api/v1/moderate", json={"text": t, "store": False}, headers=headers).json
        for t in texts
    ]
    batch = client.post(
        "/api/v1/moderate/batch",
        json={"comments": [{"text": t, "store": False} for t in texts]},
        headers=headers,
    ).json["results"]
    assert batch == singles


def test_healthz_answers_without_a_key(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_reports_model_and_database(app, client):
    response = client.get("/readyz")
    s = app.extensions["moderator"]
    if s.moderation.classifier is None:
        assert response.status_code == 503
        assert response.json["checks"] == {"model": False, "database": True}
        assert response.headers["Retry-After"] == "5"
    else:
        assert response.status_code == 200
        assert response.json["checks"] == {"model": True, "database": True}
        assert response.json["model"] == s.moderation.model_label


def test_readyz_is_503_before_migrations(config, tmp_path):
    app = create_app(dataclasses.replace(config, model_path=tmp_path / "none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] is False
    app.extensions["moderator"].engine.dispose()


def test_rate_limit_per_key_is_429_with_retry_after(config, engine, make_site):
    app = create_app(dataclasses.replace(config, rate_limit="2/minute"))
    client = app.test_client()
    first = {"Authorization": f"Bearer {make_site('limited')}"}
    second = {"Authorization": f"Bearer {make_site('unlimited')}"}
    for _ in range(2):
        assert client.post("/api/v1/moderate", json={"text": "x"}, headers=first).status_code == 200
    response = client.post("/api/v1/moderate", json={"text": "x"}, headers=first)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.json["status"] == 429
    assert response.json["title"] == "Too Many Requests"
    assert response.json["detail"].startswith("rate limit exceeded")
    # Another site's key has its own budget.
    assert client.post("/api/v1/moderate", json={"text": "x"}, headers=second).status_code == 200
    app.extensions["moderator"].engine.dispose()


def test_unreachable_database_is_503_never_2xx(config, tmp_path):
    unreachable = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none?connect_timeout=2"
    app = create_app(dataclasses.replace(config, database_url=unreachable))
    client = app.test_client()
    headers = {"Authorization": "Bearer mod_" + "a" * 43}
    for path, body in (
        ("/api/v1/moderate", {"text": "hello"}),
        ("/api/v1/moderate/batch", {"comments": [{"text": "hello"}]}),
    ):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json == {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the database is unavailable; nothing was stored, retry later",
        }
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"] is False
    assert client.get("/healthz").status_code == 200


def test_read_only_database_is_503_and_stores_nothing(config, engine, tmp_path, make_site):
    if engine.dialect.name != "sqlite":
        pytest.skip("read-only mode is a SQLite URI option")
    key = make_site("ro")
    path = engine.url.database
    read_only = dataclasses.replace(config, database_url=f"sqlite:///file:{path}?mode=ro&uri=true")
    app = create_app(read_only)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    response = client.post("/api/v1/moderate", json={"text": "hi", "id": "1"}, headers=headers)
    assert response.status_code == 503, response.json
    assert response.headers["Retry-After"] == "5"
    batch = client.post(
        "/api/v1/moderate/batch", json={"comments": [{"text": "hi"}]}, headers=headers
    )
    assert batch.status_code == 503
    # store: false needs no write, so it still answers.
    decided = client.post("/api/v1/moderate", json={"text": "hi", "store": False}, headers=headers)
    assert decided.status_code == 200
    app.extensions["moderator"].engine.dispose()
    assert rows(engine) == []


def test_html_and_script_are_stored_and_returned_verbatim_as_json(client, headers, engine):
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> & &amp; </textarea>'
    created = client.post("/api/v1/moderate", json={"text": text}, headers=headers)
    assert created.mimetype == "application/json"
    fetched = client.get(f"/api/v1/comments/{created.json['id']}", headers=headers)
    assert fetched.mimetype == "application/json"
    assert fetched.json["text"] == text
    assert rows(engine)[0].text == text


@pytest.mark.parametrize(
    "text",
    [
        "I \u2764\ufe0f this \U0001f44d\U0001f3fd",
        "Cafe\u0301 cre\u0300me bru\u0302le\u0301e",
        "\u0645\u0642\u0627\u0644 \u0631\u0627\u0626\u0639 \u062c\u062f\u0627",
        "\u8fd9\u662f\u4e00\u7bc7\u597d\u6587\u7ae0",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
        "abc\u202edcba\u202c zero\u200bwidth\u200d joiner\ufeff",
        "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349a\u0310lgo",
        "\U0001d559\U0001d556\U0001d55d\U0001d55d\U0001d560",
    ],
)
def test_any_script_and_odd_unicode_round_trip_exactly(client, headers, text):
    created = client.post("/api/v1/moderate", json={"text": text, "id": text[:5]}, headers=headers)
    assert created.status_code == 200, created.json
    fetched = client.get(f"/api/v1/comments/{created.json['id']}", headers=headers)
    assert fetched.json["text"] == text


def test_simultaneous_retries_of_one_comment_store_one_row(app, engine, make_site):
    """Real threads racing on one (site, id): every caller gets the same stored comment."""
    import threading

    from moderator.schemas import CommentIn

    make_site("busy")
    s = app.extensions["moderator"]
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "busy")
    start = threading.Barrier(6)
    results, errors = [], []

    def send(n: int) -> None:
        start.wait()
        try:
            comment = CommentIn(text=f"attempt {n}", external_id="same")
            results.append(service.moderate(engine, s.moderation, site, comment))
        except Exception as error:  # collected so the assertion shows it
            errors.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len({r.id for r in results}) == 1 and len(results) == 6
    assert len(rows(engine)) == 1


@pytest.mark.parametrize(
    "external_id",
    [
        "c/2026/17",
        "a/b/",
        "/leading",
        "a//b",
        "https://news.example/c?id=1#x",
        "..",
        "a/../b",
        "%2F",
    ],
)
def test_an_id_with_slashes_is_readable_as_sent_or_percent_encoded(client, headers, external_id):
    from urllib.parse import quote

    posted = client.post(
        "/api/v1/moderate", json={"text": "slashes", "id": external_id}, headers=headers
    )
    assert posted.status_code == 200
    sent = [quote(external_id, safe="")]
    if "?" not in external_id and "#" not in external_id and "%" not in external_id:
        sent.append(external_id)  # as is: only ? # and % have to be percent-encoded
    for path in sent:
        got = client.get(f"/api/v1/comments/{path}", headers=headers)
        assert got.status_code == 200, (path, got.json)
        assert got.json["external_id"] == external_id
        assert got.json["id"] == posted.json["id"]
    other = client.get(f"/api/v1/comments/{external_id}x", headers=headers)
    assert other.status_code == 404
