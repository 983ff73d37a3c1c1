# ruff: noqa: E501 (one case per line reads best as a table)
"""The desk's API: authors, reader reports, stories, appeals and statements of reasons.

Each route's contract, its bad input (exact problem bodies, never a 500, nothing stored),
isolation between sites (another site's comment, author or story is a 404 like a missing
one) and the reporters' rate limit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from moderator import create_app
from moderator import storage
from moderator.storage import authors as authors_store
from moderator.storage import sites
from moderator.storage.tables import appeals
from moderator.storage.tables import authors as authors_table
from moderator.storage.tables import comments
from moderator.storage.tables import reports

pytestmark = pytest.mark.all_databases

JSON_TYPE = "application/json"


def problem(status: int, detail: str, errors=None, **extra) -> dict:
    titles = {
        400: "Bad Request",
        404: "Not Found",
        409: "Conflict",
        415: "Unsupported Media Type",
        429: "Too Many Requests",
    }
    body = {"type": "about:blank", "title": titles[status], "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    body.update(extra)
    return body


def field_problem(field: str, message: str) -> dict:
    return problem(400, f"{field}: {message}", [(field, message)])


@pytest.fixture
def blocking(engine, site_key) -> str:
    """The "example" site rejects "walnut" (its block list) and holds nothing else."""
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "block", ["walnut"])
    return site_key


@pytest.fixture
def other_site(make_site) -> dict[str, str]:
    """Headers for a second site, "other"."""
    return {"Authorization": f"Bearer {make_site('other')}"}


def post(client, headers, path, payload):
    return client.post(
        path, data=json.dumps(payload), headers={**headers, "Content-Type": JSON_TYPE}
    )


def moderate(client, headers, text, **fields):
    response = post(client, headers, "/api/v1/moderate", {"text": text, **fields})
    assert response.status_code == 200, response.json
    return response.json


def author_id(engine, site_name: str, external_id: str) -> int:
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, site_name)
        return authors_store.get_author(conn, site.id, external_id).id


def act(engine, site_name, external_id, action, reason="because", until=None):
    with storage.transaction(engine) as conn:
        return authors_store.act(
            conn,
            author_id(engine, site_name, external_id),
            action,
            actor="mod",
            reason=reason,
            until=until,
        )


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# -- authors -----------------------------------------------------------------------------------


def test_an_author_is_created_by_their_first_comment_and_kept_current(client, headers, engine):
    moderate(client, headers, "first", author={"id": "u-1", "name": "Sam"})
    moderate(client, headers, "second", author={"id": "u-1", "name": "Samuel"})
    moderate(client, headers, "third", author={"id": "u-1"})
    author = client.get("/api/v1/authors/u-1", headers=headers)
    assert author.status_code == 200
    body = author.json
    assert body["id"] == "u-1" and body["name"] == "Samuel"  # the newest name, kept when absent
    assert body["status"] == "active"
    assert body["comments"]["total"] == 3
    assert set(body["comments"]) == {
        "total",
        "allowed",
        "held",
        "rejected",
        "approved_by_person",
        "rejected_by_person",
        "reported",
    }


def test_a_banned_author_is_rejected_with_reason_author_banned(client, headers, engine):
    moderate(client, headers, "a fine comment", author={"id": "u-2"})
    act(engine, "example", "u-2", "ban", reason="spam ring")
    decided = moderate(client, headers, "another fine comment", author={"id": "u-2"})
    assert decided["decision"] == "reject"
    assert decided["reasons"][0] == {
        "category": "author_banned",
        "score": None,
        "source": "system",
        "words": [],
        "spans": [],
    }
    author = client.get("/api/v1/authors/u-2", headers=headers).json
    assert author["status"] == "banned" and author["banned"] is True
    assert author["ban_reason"] == "spam ring"
    # Reversible: lifting the ban lets the next comment through again.
    act(engine, "example", "u-2", "unban", reason="appeal accepted")
    assert (
        moderate(client, headers, "third fine comment", author={"id": "u-2"})["decision"] == "allow"
    )


def test_a_suspension_rejects_until_its_date(client, headers, engine):
    moderate(client, headers, "hello", author={"id": "u-3"})
    until = storage.now() + dt.timedelta(days=2)
    act(engine, "example", "u-3", "suspend", until=until)
    decided = moderate(client, headers, "hello again", author={"id": "u-3"})
    assert decided["decision"] == "reject"
    assert decided["reasons"][0]["category"] == "author_banned"
    author = client.get("/api/v1/authors/u-3", headers=headers).json
    assert author["status"] == "suspended"
    assert author["suspended_until"].startswith(until.date().isoformat())
    # Once the date has passed, the suspension no longer applies.
    with storage.transaction(engine) as conn:
        conn.execute(
            authors_table.update().values(suspended_until=storage.now() - dt.timedelta(seconds=1))
        )
    assert (
        moderate(client, headers, "hello a third time", author={"id": "u-3"})["decision"] == "allow"
    )
    assert client.get("/api/v1/authors/u-3", headers=headers).json["status"] == "active"


def test_a_premoderated_author_is_held_at_least(client, headers, engine, blocking):
    moderate(client, headers, "hello", author={"id": "u-4"})
    act(engine, "example", "u-4", "premoderate", reason="new account, trolling")
    held = moderate(client, headers, "a perfectly nice comment", author={"id": "u-4"})
    assert held["decision"] == "hold"
    assert [r["category"] for r in held["reasons"]] == ["author_premoderated"]
    # Never milder than the text's own decision: a blocked word still rejects.
    rejected = moderate(client, headers, "you walnut", author={"id": "u-4"})
    assert rejected["decision"] == "reject"
    assert {r["category"] for r in rejected["reasons"]} >= {"author_premoderated"}
    assert client.get("/api/v1/authors/u-4", headers=headers).json["premoderated"] is True


def test_new_authors_are_held_until_n_comments_were_approved(client, headers, engine, accounts):
    from moderator.storage import review

    with storage.transaction(engine) as conn:
        sites.set_desk_setting(conn, "example", "new_author_premoderation", 2)
    first = moderate(client, headers, "my first comment", author={"id": "new-1"})
    assert first["decision"] == "hold"
    assert first["reasons"][0]["category"] == "new_author"
    second = moderate(client, headers, "my second comment", author={"id": "new-1"})
    assert second["decision"] == "hold"
    for comment in (first, second):
        with storage.transaction(engine) as conn:
            assert review.decide_comment(conn, comment["id"], decision="approve", actor="mod").ok
    assert (
        moderate(client, headers, "my third comment", author={"id": "new-1"})["decision"] == "allow"
    )
    # Anonymous comments have no history to judge: the rule leaves them to the text.
    assert moderate(client, headers, "an anonymous comment")["decision"] == "allow"


def test_authors_are_per_site(client, headers, engine, other_site):
    moderate(client, headers, "hello", author={"id": "shared"})
    moderate(client, other_site, "hello", author={"id": "shared"})
    act(engine, "example", "shared", "ban")
    assert moderate(client, other_site, "hi", author={"id": "shared"})["decision"] == "allow"
    assert client.get("/api/v1/authors/shared", headers=other_site).json["status"] == "active"
    assert client.get("/api/v1/authors/only-here", headers=other_site).status_code == 404


@pytest.mark.parametrize("ref", ["nope", "x" * 256, "%00", "%ED%A0%80", "%FF"])
def test_unknown_or_odd_author_ids_are_404(client, headers, ref):
    response = client.get(f"/api/v1/authors/{ref}", headers=headers)
    assert response.status_code == 404
    assert response.json == problem(404, "no such author")


def test_author_actions_are_audited_and_checked(engine, client, headers):
    moderate(client, headers, "hello", author={"id": "u-5"})
    with pytest.raises(authors_store.AuthorError, match="reason"):
        act(engine, "example", "u-5", "ban", reason="  ")
    with pytest.raises(authors_store.AuthorError, match="future"):
        act(engine, "example", "u-5", "suspend", until=storage.now() - dt.timedelta(days=1))
    with pytest.raises(authors_store.AuthorError, match="not banned"):
        act(engine, "example", "u-5", "unban")
    act(engine, "example", "u-5", "warn", reason="Keep it civil, please.")
    with pytest.raises(authors_store.AuthorError, match="already"):
        act(engine, "example", "u-5", "premoderate") and act(
            engine, "example", "u-5", "premoderate"
        )
    from moderator.storage import review

    with storage.reading(engine) as conn:
        subject = f"author:{author_id(engine, 'example', 'u-5')}"
        trail, total = review.audit_entries(conn, review.AuditFilter(subject=subject))
    assert [e.action for e in reversed(trail)] == ["author.warn", "author.premoderate"]
    assert trail[-1].note == "Keep it civil, please." and trail[-1].actor == "mod"
    assert (
        client.get("/api/v1/authors/u-5", headers=headers).json["warning"]
        == "Keep it civil, please."
    )


# -- stories -------------------------------------------------------------------------------------


def test_comments_carry_their_story(client, headers):
    moderate(
        client,
        headers,
        "one",
        id="c-1",
        url="https://news.example/a",
        story_id="s-1",
        title="Budget day",
    )
    moderate(client, headers, "two", url="https://news.example/a?utm=x", story_id="s-1")
    comment = client.get("/api/v1/comments/c-1", headers=headers).json
    assert comment["story"] == {
        "story_id": "s-1",
        "url": "https://news.example/a",
        "title": "Budget day",
    }
    story = client.get("/api/v1/stories/s-1", headers=headers)
    assert story.status_code == 200
    assert story.json["comments"]["total"] == 2
    assert story.json["title"] == "Budget day"  # kept when a later comment sends none
    # Without a story_id the URL names the story, slashes and all.
    moderate(client, headers, "three", url="https://news.example/b")
    by_url = client.get("/api/v1/stories/https://news.example/b", headers=headers)
    assert by_url.status_code == 200 and by_url.json["comments"]["total"] == 1
    assert by_url.json["story_id"] is None


def test_a_premoderated_story_holds_every_new_comment(client, headers, engine):
    created = client.patch(
        "/api/v1/stories/s-9",
        data=json.dumps(
            {"premoderated": True, "reason": "the thread turned ugly", "title": "Verdict"}
        ),
        headers={**headers, "Content-Type": JSON_TYPE},
    )
    assert created.status_code == 201  # set up before any comment
    assert created.json["premoderated"] is True
    held = moderate(client, headers, "what a lovely day", story_id="s-9")
    assert held["decision"] == "hold"
    assert [r["category"] for r in held["reasons"]] == ["story_premoderated"]
    assert moderate(client, headers, "what a lovely day", story_id="s-10")["decision"] == "allow"
    ended = client.patch(
        "/api/v1/stories/s-9",
        data=json.dumps({"premoderated": False}),
        headers={**headers, "Content-Type": JSON_TYPE},
    )
    assert ended.status_code == 200 and ended.json["premoderated"] is False
    assert moderate(client, headers, "what a lovely day", story_id="s-9")["decision"] == "allow"
    from moderator.storage import review

    with storage.reading(engine) as conn:
        actions = [e.action for e in review.audit_entries(conn, review.AuditFilter())[0]]
    assert actions[:2] == ["story.unpremoderate", "story.premoderate"]


def test_stories_are_per_site(client, headers, other_site):
    moderate(client, headers, "one", story_id="s-1")
    assert client.get("/api/v1/stories/s-1", headers=other_site).status_code == 404
    client.patch(
        "/api/v1/stories/s-1",
        data=json.dumps({"premoderated": True, "reason": "x"}),
        headers={**other_site, "Content-Type": JSON_TYPE},
    )
    assert moderate(client, headers, "fine", story_id="s-1")["decision"] == "allow"


STORY_CASES = [
    ("not-json", b"{", "request body is not valid JSON"),
    ("list", b"[]", problem(400, "request body must be a JSON object", [("", "not an object")])),
    ("unknown", json.dumps({"premoderate": True}).encode(), problem(400, "unknown field premoderate; expected one of title, url, premoderated, reason", [("premoderate", "unknown field")])),
    ("string-flag", json.dumps({"premoderated": "yes"}).encode(), field_problem("premoderated", "must be true or false")),
    ("no-reason", json.dumps({"premoderated": True}).encode(), field_problem("reason", "required to pre-moderate a story")),
    ("blank-reason", json.dumps({"premoderated": True, "reason": " \u200b"}).encode(), field_problem("reason", "required to pre-moderate a story")),
    ("long-title", json.dumps({"title": "t" * 501}).encode(), field_problem("title", "longer than 500 characters")),
    ("number-url", json.dumps({"url": 5}).encode(), field_problem("url", "must be a string")),
    ("nul-reason", json.dumps({"premoderated": True, "reason": "a\u0000"}).encode(), field_problem("reason", "must not contain NUL (\\u0000)")),
    ("surrogate-title", b'{"title": "\\ud800"}', field_problem("title", "contains an unpaired surrogate (invalid Unicode)")),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), [pytest.param(*c[1:], id=c[0]) for c in STORY_CASES])
def test_story_patch_rejects_bad_input(client, headers, engine, raw, expected):
    response = client.patch(
        "/api/v1/stories/s-1", data=raw, headers={**headers, "Content-Type": JSON_TYPE}
    )
    assert response.mimetype == "application/problem+json"
    assert response.status_code == 400
    if isinstance(expected, str):
        assert response.json["detail"].startswith(expected)
    else:
        assert response.json == expected
    assert client.get("/api/v1/stories/s-1", headers=headers).status_code == 404


def test_story_patch_needs_json(client, headers):
    response = client.patch(
        "/api/v1/stories/s-1",
        data="premoderated=1",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415


# -- reader reports ---------------------------------------------------------------------------


def report(client, headers, ref, reporter="r-1", reason="abuse", **extra):
    return post(
        client,
        headers,
        f"/api/v1/comments/{ref}/reports",
        {"reporter_id": reporter, "reason": reason, **extra},
    )


def test_reports_put_an_allowed_comment_into_reported_at_the_threshold(client, headers, engine):
    with storage.transaction(engine) as conn:
        sites.set_desk_setting(conn, "example", "report_threshold", 2)
    moderate(client, headers, "a comment the model allowed", id="c-7")
    first = report(client, headers, "c-7", "r-1", "harassment", text="targets me by name")
    assert first.status_code == 201
    assert first.json["report"]["reason"] == "harassment"
    assert first.json["report"]["text"] == "targets me by name"
    assert first.json["comment"] == {
        **first.json["comment"],
        "reports": 1,
        "open_reports": 1,
        "reported": False,
    }
    again = report(client, headers, "c-7", "r-1", "spam")  # one report per reporter per comment
    assert again.status_code == 200
    assert again.json["report"]["reason"] == "harassment"
    assert again.json["comment"]["reports"] == 1
    second = report(client, headers, "c-7", "r-2")
    assert second.status_code == 201 and second.json["comment"]["reported"] is True
    assert client.get("/api/v1/comments/c-7", headers=headers).json["reports"] == 2
    assert count(engine, reports) == 2


def test_reports_on_other_sites_comments_are_404(client, headers, other_site, engine):
    moderate(client, headers, "mine", id="c-8")
    response = report(client, other_site, "c-8")
    assert response.status_code == 404 and response.json == problem(404, "no such comment")
    assert count(engine, reports) == 0


def test_each_reporter_is_rate_limited_per_site(app, config, make_site):
    limited = create_app(dataclasses.replace(config, report_limit="2/hour"))
    client = limited.test_client()
    headers = {"Authorization": f"Bearer {make_site('limited')}"}
    for n in range(4):
        moderate(client, headers, f"comment {n}", id=f"c-{n}")
    assert report(client, headers, "c-0", "busy").status_code == 201
    assert report(client, headers, "c-1", "busy").status_code == 201
    assert report(client, headers, "c-1", "busy").status_code == 200  # a repeat is not counted
    over = report(client, headers, "c-2", "busy")
    assert over.status_code == 429
    assert over.mimetype == "application/problem+json"
    assert 1 <= int(over.headers["Retry-After"]) <= 3600
    assert report(client, headers, "c-2", "someone-else").status_code == 201
    limited.extensions["moderator"].engine.dispose()


DESK_CALLS = [
    ("get", "/api/v1/authors/u-1", None),
    ("get", "/api/v1/stories/s-1", None),
    ("patch", "/api/v1/stories/s-1", {"premoderated": True, "reason": "ugly thread"}),
    ("get", "/api/v1/comments/c-0", None),
    ("post", "/api/v1/comments/c-0/reports", {"reporter_id": "r-1", "reason": "spam"}),
    ("post", "/api/v1/comments/c-0/appeal", {"text": "please look again"}),
]


@pytest.mark.parametrize(("method", "path", "payload"), DESK_CALLS, ids=lambda v: str(v))
def test_desk_routes_share_the_keys_rate_limit(config, make_site, method, path, payload):
    limited = create_app(dataclasses.replace(config, rate_limit="3/minute"))
    client = limited.test_client()
    first = {"Authorization": f"Bearer {make_site('limited')}"}
    second = {"Authorization": f"Bearer {make_site('unlimited')}"}
    moderate(client, first, "a comment", id="c-0", author={"id": "u-1"}, story_id="s-1")
    # One budget per key over every route: the moderation spent one of three, two more pass,
    # the next is refused.
    for _ in range(2):
        assert getattr(client, method)(path, json=payload, headers=first).status_code < 429
    over = getattr(client, method)(path, json=payload, headers=first)
    assert over.status_code == 429
    assert over.mimetype == "application/problem+json"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # Another site's key has its own budget; it sees nothing of the first site's (a PATCH
    # makes the second site a story of its own).
    other = getattr(client, method)(path, json=payload, headers=second).status_code
    assert other == (201 if method == "patch" else 404)
    limited.extensions["moderator"].engine.dispose()


REPORT_CASES = [
    ("missing-reporter", {"reason": "abuse"}, field_problem("reporter_id", "required")),
    ("blank-reporter", {"reporter_id": " ", "reason": "abuse"}, field_problem("reporter_id", "must not be blank")),
    ("object-reporter", {"reporter_id": {}, "reason": "abuse"}, field_problem("reporter_id", "must be a string or an integer")),
    ("long-reporter", {"reporter_id": "r" * 256, "reason": "abuse"}, field_problem("reporter_id", "longer than 255 characters")),
    ("missing-reason", {"reporter_id": "r"}, field_problem("reason", "required")),
    ("unknown-reason", {"reporter_id": "r", "reason": "ugly"}, field_problem("reason", "must be one of abuse, spam, off_topic, harassment, misinformation, other")),
    ("number-reason", {"reporter_id": "r", "reason": 1}, field_problem("reason", "must be one of abuse, spam, off_topic, harassment, misinformation, other")),
    ("long-text", {"reporter_id": "r", "reason": "other", "text": "t" * 2001}, field_problem("text", "longer than 2000 characters")),
    ("number-text", {"reporter_id": "r", "reason": "other", "text": 1}, field_problem("text", "must be a string")),
    ("nul-text", {"reporter_id": "r", "reason": "other", "text": "\u0000"}, field_problem("text", "must not contain NUL (\\u0000)")),
    ("unknown-field", {"reporter_id": "r", "reason": "other", "email": "x"}, problem(400, "unknown field email; expected one of reporter_id, reason, text", [("email", "unknown field")])),
    ("not-object", ["abuse"], problem(400, "request body must be a JSON object", [("", "not an object")])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "expected"), [pytest.param(*c[1:], id=c[0]) for c in REPORT_CASES]
)
def test_reports_reject_bad_input(client, headers, engine, payload, expected):
    moderate(client, headers, "a comment", id="c-1")
    response = post(client, headers, "/api/v1/comments/c-1/reports", payload)
    assert response.status_code == 400
    assert response.json == expected
    assert count(engine, reports) == 0


def test_a_report_text_is_kept_verbatim(client, headers):
    moderate(client, headers, "a comment", id="c-1")
    hostile = "<script>alert(1)</script>\u202eevil"
    response = report(client, headers, "c-1", text=hostile)
    assert response.status_code == 201 and response.json["report"]["text"] == hostile


# -- statements of reasons and appeals ---------------------------------------------------------


def test_a_rejection_carries_a_statement_of_reasons(client, headers, blocking):
    decided = moderate(client, headers, "you walnut", id="c-1")
    assert decided["decision"] == "reject"
    comment = client.get("/api/v1/comments/c-1", headers=headers).json
    statement = comment["statement"]
    assert statement["decision"] == "reject" and statement["restriction"] == "removal"
    assert statement["automated_detection"] is True and statement["automated_decision"] is True
    assert statement["ground"] == "obscene"
    assert statement["words"] == ["walnut"]
    assert "removed automatically" in statement["explanation"]
    assert statement["appeal"]["possible"] is True
    assert statement["appeal"]["how"] == f"POST /api/v1/comments/{comment['id']}/appeal"
    assert statement["appeal"]["until"] > comment["created_at"]
    allowed = moderate(client, headers, "lovely", id="c-2")
    assert (
        client.get(f"/api/v1/comments/{allowed['id']}", headers=headers).json["statement"] is None
    )


def test_an_appeal_is_taken_once_per_decision(client, headers, engine, blocking):
    moderate(client, headers, "you walnut", id="c-1")
    opened = post(
        client, headers, "/api/v1/comments/c-1/appeal", {"text": "It is a nut, not an insult."}
    )
    assert opened.status_code == 201
    assert opened.json["appeal"]["status"] == "open"
    assert opened.json["appeal"]["text"] == "It is a nut, not an insult."
    assert opened.json["comment"]["statement"]["appeal"]["status"] == "open"
    assert opened.json["comment"]["statement"]["appeal"]["possible"] is False
    again = post(client, headers, "/api/v1/comments/c-1/appeal", {"text": "Please!"})
    assert again.status_code == 409
    assert again.json == problem(
        409, "this decision has already been appealed", code="already_appealed"
    )
    assert count(engine, appeals) == 1


def test_appeals_are_refused_outside_the_window(client, headers, engine, blocking):
    moderate(client, headers, "lovely", id="ok")
    not_rejected = post(client, headers, "/api/v1/comments/ok/appeal", {"text": "why?"})
    assert not_rejected.status_code == 409 and not_rejected.json["code"] == "not_rejected"
    moderate(client, headers, "you walnut", id="old")
    with storage.transaction(engine) as conn:
        conn.execute(
            update(comments)
            .where(comments.c.external_id == "old")
            .values(created_at=storage.now() - dt.timedelta(days=15))
        )
    closed = post(client, headers, "/api/v1/comments/old/appeal", {"text": "late"})
    assert closed.status_code == 409 and closed.json["code"] == "window_closed"
    with storage.transaction(engine) as conn:
        sites.set_desk_setting(conn, "example", "appeal_days", 0)
    moderate(client, headers, "you walnut", id="new")
    disabled = post(client, headers, "/api/v1/comments/new/appeal", {"text": "please"})
    assert disabled.status_code == 409 and disabled.json["code"] == "appeals_disabled"
    assert (
        client.get("/api/v1/comments/new", headers=headers).json["statement"]["appeal"]["refusal"]
        == "appeals_disabled"
    )
    assert count(engine, appeals) == 0


def test_appeals_are_per_site(client, headers, other_site, blocking, engine):
    moderate(client, headers, "you walnut", id="c-1")
    response = post(client, other_site, "/api/v1/comments/c-1/appeal", {"text": "mine"})
    assert response.status_code == 404
    assert count(engine, appeals) == 0


APPEAL_CASES = [
    ("missing-text", {}, field_problem("text", "required")),
    ("blank-text", {"text": "\u200b "}, field_problem("text", "must not be blank")),
    ("number-text", {"text": 5}, field_problem("text", "must be a string")),
    ("long-text", {"text": "t" * 5001}, field_problem("text", "longer than 5000 characters")),
    ("unknown", {"text": "x", "author": "me"}, problem(400, "unknown field author; expected one of text", [("author", "unknown field")])),
]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "expected"), [pytest.param(*c[1:], id=c[0]) for c in APPEAL_CASES]
)
def test_appeals_reject_bad_input(client, headers, engine, blocking, payload, expected):
    moderate(client, headers, "you walnut", id="c-1")
    response = post(client, headers, "/api/v1/comments/c-1/appeal", payload)
    assert response.status_code == 400
    assert response.json == expected
    assert count(engine, appeals) == 0


@pytest.mark.parametrize("path", ["/api/v1/comments/nope/reports", "/api/v1/comments/nope/appeal"])
def test_posts_about_unknown_comments_are_404(client, headers, path):
    response = post(
        client,
        headers,
        path,
        {"reporter_id": "r", "reason": "spam"} if path.endswith("reports") else {"text": "x"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/authors/u"),
        ("get", "/api/v1/stories/s"),
        ("patch", "/api/v1/stories/s"),
        ("post", "/api/v1/comments/c/reports"),
        ("post", "/api/v1/comments/c/appeal"),
    ],
)
def test_desk_routes_need_a_key(client, method, path):
    response = getattr(client, method)(path, json={})
    assert response.status_code == 401
