# ruff: noqa: E501 (one case per line reads best as a table)
"""Bad input, one table per endpoint: exact status and problem body, never a 500, nothing stored.

Decisions recorded here: lone surrogates and NUL are rejected with 400 (not replaced), so a
comment is stored exactly as sent or not at all; text is limited in UTF-8 bytes (413, as
Perspective does); unknown fields are 400 so typos don't silently become defaults.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from moderator.storage.tables import comments

pytestmark = pytest.mark.all_databases

MAX_TEXT = 20480
JSON_TYPE = "application/json"
FIELDS = "text, id, author, url, story_id, title, parent_text, store"


def problem(status: int, detail: str, errors=None, **extra) -> dict:
    titles = {
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Request Entity Too Large",
        415: "Unsupported Media Type",
    }
    body = {"type": "about:blank", "title": titles[status], "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    body.update(extra)
    return body


def field_problem(field: str, message: str, status: int = 400) -> dict:
    if status == 413:
        return problem(413, f"{field} is {message}", [(field, message)])
    return problem(400, f"{field}: {message}", [(field, message)])


def body(obj) -> bytes:
    return json.dumps(obj).encode()


def stored(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(comments)).scalar_one()


NOT_AN_OBJECT = problem(400, "comment must be a JSON object", [("", "not an object")])

MODERATE_CASES = [
    # (id, raw body, content type, expected problem)
    ("malformed", b'{"text": "a"', JSON_TYPE, None),
    ("trailing-garbage", b'{"text": "a"} x', JSON_TYPE, None),
    ("single-quotes", b"{'text': 'a'}", JSON_TYPE, None),
    ("text-plain", body({"text": "a"}), "text/plain", problem(415, f"Content-Type must be {JSON_TYPE}")),
    ("no-content-type", body({"text": "a"}), None, problem(415, f"Content-Type must be {JSON_TYPE}")),
    ("form", b"text=a", "application/x-www-form-urlencoded", problem(415, f"Content-Type must be {JSON_TYPE}")),
    ("empty-body", b"", JSON_TYPE, problem(400, "request body is empty")),
    ("whitespace-body", b" \n\t ", JSON_TYPE, problem(400, "request body is empty")),
    ("invalid-utf8", b'{"text": "\xff\xfe"}', JSON_TYPE, problem(400, "request body is not valid UTF-8")),
    ("null", b"null", JSON_TYPE, NOT_AN_OBJECT),
    ("list", b'[{"text": "a"}]', JSON_TYPE, NOT_AN_OBJECT),
    ("string", b'"text"', JSON_TYPE, NOT_AN_OBJECT),
    ("number", b"5", JSON_TYPE, NOT_AN_OBJECT),
    ("deeply-nested", b"[" * 100_000 + b"]" * 100_000, JSON_TYPE, problem(400, "request body is nested too deeply")),
    ("huge-integer", b'{"text": "a", "id": ' + b"9" * 5000 + b"}", JSON_TYPE, problem(400, "request body is not valid JSON")),
    ("missing-text", body({}), JSON_TYPE, field_problem("text", "required")),
    ("null-text", body({"text": None}), JSON_TYPE, field_problem("text", "required")),
    ("empty-text", body({"text": ""}), JSON_TYPE, field_problem("text", "must not be blank")),
    ("whitespace-text", body({"text": " \n\t\u00a0\u3000"}), JSON_TYPE, field_problem("text", "must not be blank")),
    ("invisible-text", body({"text": "\u200b\u200d\u2060\ufeff"}), JSON_TYPE, field_problem("text", "must not be blank")),
    ("number-text", body({"text": 5}), JSON_TYPE, field_problem("text", "must be a string")),
    ("nan-text", b'{"text": NaN}', JSON_TYPE, field_problem("text", "must be a string")),
    ("list-text", body({"text": ["a"]}), JSON_TYPE, field_problem("text", "must be a string")),
    ("object-text", body({"text": {"$gt": ""}}), JSON_TYPE, field_problem("text", "must be a string")),
    ("bool-text", body({"text": True}), JSON_TYPE, field_problem("text", "must be a string")),
    ("string-author", body({"text": "a", "author": "x"}), JSON_TYPE, field_problem("author", "must be an object with id and name")),
    ("list-author", body({"text": "a", "author": ["x"]}), JSON_TYPE, field_problem("author", "must be an object with id and name")),
    ("nested-author-id", body({"text": "a", "author": {"id": {"x": [1, {"y": None}]}}}), JSON_TYPE, field_problem("author.id", "must be a string or an integer")),
    ("number-author-name", body({"text": "a", "author": {"name": 5}}), JSON_TYPE, field_problem("author.name", "must be a string")),
    ("unknown-author-field", body({"text": "a", "author": {"email": "a@b"}}), JSON_TYPE, problem(400, "unknown field author.email; expected one of id, name", [("author.email", "unknown field")])),
    ("string-store", body({"text": "a", "store": "yes"}), JSON_TYPE, field_problem("store", "must be true or false")),
    ("number-store", body({"text": "a", "store": 1}), JSON_TYPE, field_problem("store", "must be true or false")),
    ("object-id", body({"text": "a", "id": {}}), JSON_TYPE, field_problem("id", "must be a string or an integer")),
    ("bool-id", body({"text": "a", "id": True}), JSON_TYPE, field_problem("id", "must be a string or an integer")),
    ("float-id", body({"text": "a", "id": 1.5}), JSON_TYPE, field_problem("id", "must be a string or an integer")),
    ("unsafe-integer-id", body({"text": "a", "id": 2**53}), JSON_TYPE, field_problem("id", "an integer id must be within ±(2^53-1); send it as a string")),
    ("huge-integer-id", body({"text": "a", "id": -(10**300)}), JSON_TYPE, field_problem("id", "an integer id must be within ±(2^53-1); send it as a string")),
    ("huge-float-id", body({"text": "a", "id": 1e300}), JSON_TYPE, field_problem("id", "must be a string or an integer")),
    ("blank-id", body({"text": "a", "id": "  "}), JSON_TYPE, field_problem("id", "must not be blank")),
    ("long-id", body({"text": "a", "id": "x" * 256}), JSON_TYPE, field_problem("id", "longer than 255 characters")),
    ("number-url", body({"text": "a", "url": 5}), JSON_TYPE, field_problem("url", "must be a string")),
    ("long-url", body({"text": "a", "url": "h" * 2049}), JSON_TYPE, field_problem("url", "longer than 2048 characters")),
    ("number-parent", body({"text": "a", "parent_text": 5}), JSON_TYPE, field_problem("parent_text", "must be a string")),
    ("unknown-field", body({"text": "a", "txt": "b"}), JSON_TYPE, problem(400, f"unknown field txt; expected one of {FIELDS}", [("txt", "unknown field")])),
    ("several-errors", body({"text": 5, "store": "yes", "id": []}), JSON_TYPE, problem(400, "text: must be a string", [("text", "must be a string"), ("id", "must be a string or an integer"), ("store", "must be true or false")])),
    ("nul-text", body({"text": "a\u0000b"}), JSON_TYPE, field_problem("text", "must not contain NUL (\\u0000)")),
    ("nul-id", body({"text": "a", "id": "\u0000"}), JSON_TYPE, field_problem("id", "must not contain NUL (\\u0000)")),
    ("lone-high-surrogate", b'{"text": "a\\ud800b"}', JSON_TYPE, field_problem("text", "contains an unpaired surrogate (invalid Unicode)")),
    ("lone-low-surrogate", b'{"text": "\\udfff"}', JSON_TYPE, field_problem("text", "contains an unpaired surrogate (invalid Unicode)")),
    ("reversed-pair", b'{"text": "\\ude00\\ud83d"}', JSON_TYPE, field_problem("text", "contains an unpaired surrogate (invalid Unicode)")),
    ("raw-surrogate-bytes", b'{"text": "\xed\xa0\x80"}', JSON_TYPE, field_problem("text", "contains an unpaired surrogate (invalid Unicode)")),
    ("surrogate-author", b'{"text": "a", "author": {"name": "\\ud800"}}', JSON_TYPE, field_problem("author.name", "contains an unpaired surrogate (invalid Unicode)")),
    ("surrogate-parent", b'{"text": "a", "parent_text": "\\udbff"}', JSON_TYPE, field_problem("parent_text", "contains an unpaired surrogate (invalid Unicode)")),
    ("text-over-limit", body({"text": "a" * (MAX_TEXT + 1)}), JSON_TYPE, field_problem("text", f"longer than {MAX_TEXT} bytes", 413)),
    ("multibyte-over-limit", body({"text": "\u20ac" * (MAX_TEXT // 3 + 1)}), JSON_TYPE, field_problem("text", f"longer than {MAX_TEXT} bytes", 413)),
    ("parent-over-limit", body({"text": "a", "parent_text": "b" * (MAX_TEXT + 1)}), JSON_TYPE, field_problem("parent_text", f"longer than {MAX_TEXT} bytes", 413)),
    ("body-over-limit", body({"text": "a", "url": "x" * (4 * 1024 * 1024)}), JSON_TYPE, problem(413, "request body is too large")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in MODERATE_CASES],
)
def test_moderate_rejects_bad_input_with_a_problem(
    client, headers, engine, raw, content_type, expected
):
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    response = client.post("/api/v1/moderate", data=raw, headers=sent)
    assert response.mimetype == "application/problem+json", response.data[:200]
    if expected is None:  # malformed JSON: the detail names the parser's complaint
        assert response.status_code == 400
        assert response.json["detail"].startswith("request body is not valid JSON: ")
        assert set(response.json) == {"type", "title", "status", "detail"}
    else:
        assert response.status_code == expected["status"]
        assert response.json == expected
    assert stored(engine) == 0


ACCEPTED = [
    ("at-limit", {"text": "a" * MAX_TEXT}),
    ("multibyte-at-limit", {"text": "\u20ac" * (MAX_TEXT // 3)}),
    ("html", {"text": "<script>alert(1)</script>"}),
    ("rtl-override", {"text": "\u202eevil.exe\u202c"}),
    ("zero-width-inside", {"text": "he\u200bllo"}),
    ("control-chars", {"text": "bell\u0007 esc\u001b tab\t"}),
    ("null-optionals", {"text": "a", "id": None, "author": None, "url": None, "parent_text": None}),
    ("empty-author", {"text": "a", "author": {}}),
    ("integer-ids", {"text": "a", "id": 12, "author": {"id": 0, "name": "Zoë"}}),
    ("largest-safe-integer-id", {"text": "a", "id": 2**53 - 1, "author": {"id": -(2**53 - 1)}}),
    ("integral-float-id", {"text": "a", "id": 32.0}),
    ("store-false", {"text": "a", "store": False}),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in ACCEPTED])
def test_moderate_accepts_edge_cases_verbatim(client, headers, engine, payload):
    response = client.post(
        "/api/v1/moderate",
        data=json.dumps(payload),
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.json
    if payload.get("store", True):
        fetched = client.get(f"/api/v1/comments/{response.json['id']}", headers=headers).json
        assert fetched["text"] == payload["text"]
        assert stored(engine) == 1
    else:
        assert stored(engine) == 0


BATCH_CASES = [
    ("malformed", b'{"comments": [', JSON_TYPE, None),
    ("text-plain", body({"comments": [{"text": "a"}]}), "text/plain", problem(415, f"Content-Type must be {JSON_TYPE}")),
    ("empty-body", b"", JSON_TYPE, problem(400, "request body is empty")),
    ("list-body", body([{"text": "a"}]), JSON_TYPE, problem(400, "request body must be a JSON object", [("", "not an object")])),
    ("null-body", b"null", JSON_TYPE, problem(400, "request body must be a JSON object", [("", "not an object")])),
    ("missing-comments", body({}), JSON_TYPE, problem(400, "comments is required", [("comments", "required")])),
    ("null-comments", body({"comments": None}), JSON_TYPE, problem(400, "comments must be a list", [("comments", "not a list")])),
    ("object-comments", body({"comments": {"text": "a"}}), JSON_TYPE, problem(400, "comments must be a list", [("comments", "not a list")])),
    ("string-comments", body({"comments": "a"}), JSON_TYPE, problem(400, "comments must be a list", [("comments", "not a list")])),
    ("empty-batch", body({"comments": []}), JSON_TYPE, problem(400, "comments must not be empty", [("comments", "empty")])),
    ("over-limit", body({"comments": [{"text": "a"}] * 101}), JSON_TYPE, problem(413, "at most 100 comments per batch, got 101", [("comments", "more than 100 items")])),
    ("unknown-field", body({"comments": [{"text": "a"}], "store": False}), JSON_TYPE, problem(400, "unknown field store; expected one of comments", [("store", "unknown field")])),
    ("deeply-nested", b'{"comments": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON_TYPE, problem(400, "request body is nested too deeply")),
    ("body-over-limit", body({"comments": [{"text": "a" * MAX_TEXT}] * 100 + [{"text": "b" * MAX_TEXT}] * 200}), JSON_TYPE, problem(413, "request body is too large")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BATCH_CASES],
)
def test_batch_rejects_bad_input_with_a_problem(
    client, headers, engine, raw, content_type, expected
):
    response = client.post(
        "/api/v1/moderate/batch", data=raw, headers={**headers, "Content-Type": content_type}
    )
    assert response.mimetype == "application/problem+json"
    if expected is None:
        assert response.status_code == 400
        assert response.json["detail"].startswith("request body is not valid JSON: ")
    else:
        assert response.status_code == expected["status"]
        assert response.json == expected
    assert stored(engine) == 0


def test_batch_items_fail_one_by_one_with_their_index(client, headers, engine):
    items = [
        5,
        None,
        {"text": "a\u0000"},
        {"text": "x" * (MAX_TEXT + 1)},
        {"text": "ok", "id": "fine"},
        {"text": " "},
        {"text": "<b>ok</b>", "author": "x"},
        [],
    ]
    raw = json.dumps({"comments": items}).replace("\\u0000", "\\u0000")
    response = client.post(
        "/api/v1/moderate/batch", data=raw, headers={**headers, "Content-Type": JSON_TYPE}
    )
    assert response.status_code == 200
    results = response.json["results"]
    assert results[0] == {**NOT_AN_OBJECT, "index": 0}
    assert results[1] == {**NOT_AN_OBJECT, "index": 1}
    assert results[2] == {**field_problem("text", "must not contain NUL (\\u0000)"), "index": 2}
    assert results[3] == {**field_problem("text", f"longer than {MAX_TEXT} bytes", 413), "index": 3}
    assert results[4]["external_id"] == "fine" and results[4]["id"]
    assert results[5] == {**field_problem("text", "must not be blank"), "index": 5}
    assert results[6] == {
        **field_problem("author", "must be an object with id and name"),
        "index": 6,
    }
    assert results[7] == {**NOT_AN_OBJECT, "index": 7}
    assert stored(engine) == 1


def test_batch_at_the_limit_is_accepted(client, headers, engine):
    response = client.post(
        "/api/v1/moderate/batch",
        json={"comments": [{"text": f"comment {i}", "id": str(i)} for i in range(100)]},
        headers=headers,
    )
    assert response.status_code == 200
    assert [r["external_id"] for r in response.json["results"]] == [str(i) for i in range(100)]
    assert stored(engine) == 100


def test_escaped_surrogate_pair_is_one_emoji(client, headers):
    response = client.post(
        "/api/v1/moderate",
        data=b'{"text": "\\ud83d\\ude00 fine"}',
        headers={**headers, "Content-Type": JSON_TYPE},
    )
    assert response.status_code == 200
    fetched = client.get(f"/api/v1/comments/{response.json['id']}", headers=headers)
    assert fetched.json["text"] == "\U0001f600 fine"


COMMENT_REFS = [
    ("unknown", "nope"),
    ("very-long", "x" * 10_000),
    ("nul", "%00"),
    ("invalid-utf8", "%FF%FE"),
    ("lone-surrogate-utf8", "%ED%A0%80"),
    ("sql", "1'%20OR%20'1'='1"),
    ("emoji", "%F0%9F%98%80"),
]


@pytest.mark.parametrize("ref", [pytest.param(r, id=i) for i, r in COMMENT_REFS])
def test_get_comment_with_odd_ids_is_404(client, headers, ref):
    response = client.get(f"/api/v1/comments/{ref}", headers=headers)
    assert response.status_code == 404
    assert response.json == problem(404, "no such comment")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/moderate"),
        ("put", "/api/v1/moderate"),
        ("get", "/api/v1/moderate/batch"),
        ("delete", "/api/v1/comments/x"),
        ("post", "/healthz"),
        ("post", "/readyz"),
    ],
)
def test_wrong_methods_are_405_problems(client, headers, method, path):
    response = getattr(client, method)(path, headers=headers)
    assert response.status_code == 405
    assert response.json == problem(405, "Method Not Allowed")
    assert response.headers["Allow"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1", "/api/v1/", "/api/v2/moderate", "/api/v1/comments/", "/api/v1/comment/a"],
)
def test_unknown_paths_are_404_problems(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.json == problem(404, "Not Found")
