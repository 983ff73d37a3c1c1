"""The desk in the dashboard: Reported and Appeals queues, authors, stories, the faster queue
(sort, density, collapsed comments, decisions without reload, counts), words from a card,
site settings and key rotation; each with its bad input."""

from __future__ import annotations

import html
import re
import time

import pytest

from moderator import storage
from moderator.storage import appeals as appeals_store
from moderator.storage import authors as authors_store
from moderator.storage import review
from moderator.storage import sites
from moderator.storage import stories as stories_store

pytestmark = pytest.mark.all_databases

FETCH = {"X-Requested-With": "fetch", "Accept": "application/json"}


@pytest.fixture
def mod(dashboard):
    dashboard.login("mod")
    return dashboard


@pytest.fixture
def admin(dashboard):
    dashboard.login("admin")
    return dashboard


@pytest.fixture
def key(engine, site_key) -> str:
    """The "example" site: "walnut" rejects, "kitten" holds, the model never acts alone."""
    from moderator.policy import CATEGORIES

    never = {str(c): {"hold": 1.0, "reject": 1.0} for c in CATEGORIES}
    with storage.transaction(engine) as conn:
        sites.set_thresholds(conn, "example", never)
        sites.set_words(conn, "example", "block", ["walnut"])
        sites.set_words(conn, "example", "suspect", ["kitten"])
    return site_key


def send(client, key, text, **fields) -> dict:
    response = client.post(
        "/api/v1/moderate",
        json={"text": text, **fields},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.json
    return response.json


def api(client, key, method, path, payload=None):
    return client.open(
        path, method=method, json=payload, headers={"Authorization": f"Bearer {key}"}
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def count_of(page: str) -> int:
    return int(re.search(r'id="count"[^>]*>([\d,]+)', page).group(1).replace(",", ""))


# -- Reported ------------------------------------------------------------------------------------


def test_a_reported_comment_waits_in_reported_and_leaves_it_when_decided(mod, client, key, engine):
    shown = send(client, key, "an allowed comment", id="r1", author={"id": "u1", "name": "Ann"})
    assert shown["decision"] == "allow"
    assert count_of(text_of(client.get("/dashboard/reported"))) == 0
    response = api(
        client,
        key,
        "POST",
        "/api/v1/comments/r1/reports",
        {"reporter_id": "x", "reason": "harassment", "text": "aimed at me"},
    )
    assert response.status_code == 201
    page = text_of(client.get("/dashboard/reported"))
    assert count_of(page) == 1
    assert "Reader reports" in page and "harassment" in page and "aimed at me" in page
    assert '<span class="badge badge-reports"' in page
    assert 'data-count="reported">1<' in page  # the navigation counts it
    # A moderator rejects it from the Reported queue: it leaves, and becomes a label.
    response = mod.post(
        f"/dashboard/comments/{shown['id']}/decision",
        {
            "decision": "reject",
            "version": "1",
            "reason_code": "insult",
            "next": "/dashboard/reported",
        },
    )
    assert response.status_code == 303
    assert count_of(text_of(client.get("/dashboard/reported"))) == 0
    with storage.reading(engine) as conn:
        labels = [(x.comment_id, x.human_decision) for x in review.human_labels(conn)]
    assert labels == [(shown["id"], "reject")]


def test_the_reported_threshold_is_the_sites(mod, client, key, engine):
    with storage.transaction(engine) as conn:
        sites.set_desk_setting(conn, "example", "report_threshold", 2)
    send(client, key, "an allowed comment", id="r1")
    api(client, key, "POST", "/api/v1/comments/r1/reports", {"reporter_id": "a", "reason": "spam"})
    assert count_of(text_of(client.get("/dashboard/reported"))) == 0
    api(client, key, "POST", "/api/v1/comments/r1/reports", {"reporter_id": "b", "reason": "spam"})
    assert count_of(text_of(client.get("/dashboard/reported"))) == 1


# -- the faster queue ---------------------------------------------------------------------------


def test_queue_sorts_by_oldest_score_and_reports(mod, client, key, engine):
    first = send(client, key, "a kitten", id="k1")["id"]
    second = send(client, key, "two kitten kitten", id="k2")["id"]
    with storage.transaction(engine) as conn:
        from moderator.storage.tables import comments

        conn.execute(comments.update().where(comments.c.id == first).values(top_score=0.2))
        conn.execute(comments.update().where(comments.c.id == second).values(top_score=0.9))
    oldest = text_of(client.get("/dashboard/?sort=oldest"))
    assert oldest.index(f'id="c-{first}"') < oldest.index(f'id="c-{second}"')
    score = text_of(client.get("/dashboard/?sort=score"))
    assert score.index(f'id="c-{second}"') < score.index(f'id="c-{first}"')
    api(client, key, "POST", "/api/v1/comments/k1/reports", {"reporter_id": "a", "reason": "spam"})
    reports = text_of(client.get("/dashboard/all?sort=reports"))
    assert reports.index(f'id="c-{first}"') < reports.index(f'id="c-{second}"')
    assert client.get("/dashboard/?sort=random").status_code == 400


def test_long_comments_collapse_to_the_sentences_behind_the_hold(mod, client, key):
    filler = "The council met on Tuesday to discuss the budget for next year. " * 150
    text = filler + "What a kitten you are. " + filler
    held = send(client, key, text, id="long")
    assert held["decision"] == "hold"
    page = text_of(client.get("/dashboard/"))
    excerpt = re.search(r'<div class="text excerpt" dir="auto">(.*?)</div>', page, re.S).group(1)
    assert "<mark>kitten</mark>" in excerpt
    assert len(html.unescape(re.sub(r"<[^>]+>", "", excerpt))) < 700
    assert f"Show the whole comment ({len(text):,} characters)" in page
    # The whole text is still in the page (a <details>, no script needed).
    assert html.escape(filler[:200]) in page
    short = send(client, key, "a short kitten", id="short")["id"]
    card = re.search(
        rf'id="c-{short}".*?</article>', text_of(client.get("/dashboard/")), re.S
    ).group(0)
    assert "excerpt" not in card and "Show the whole comment" not in card


def test_density_is_remembered(mod, client, key):
    response = mod.post("/dashboard/preferences", {"density": "compact", "next": "/dashboard/"})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    assert "moderator_density=compact" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "density-compact" in text_of(client.get("/dashboard/"))
    assert mod.post("/dashboard/preferences", {"density": "tiny"}).status_code == 400


def test_decisions_answer_json_to_the_script_and_keep_csrf(mod, client, key, engine):
    first = send(client, key, "a kitten", id="k1")["id"]
    send(client, key, "another kitten", id="k2")
    token = mod.csrf("/dashboard/")
    data = {"csrf_token": token, "decision": "approve", "version": "1", "reason_code": "insult"}
    response = client.post(f"/dashboard/comments/{first}/decision", data=data, headers=FETCH)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["ok"] is True
    assert response.json["status"] == "allow"
    assert response.json["nav"]["queue"] == 1
    again = client.post(f"/dashboard/comments/{first}/decision", data=data, headers=FETCH)
    assert again.status_code == 409
    assert again.json["problem"] == "already_decided"
    assert f'id="c-{first}"' in again.json["card"]  # the card as it is now, to replace it
    no_token = client.post(
        f"/dashboard/comments/{first}/decision", data={**data, "csrf_token": ""}, headers=FETCH
    )
    assert no_token.status_code == 400
    with storage.reading(engine) as conn:
        assert review.get_comment(conn, first).version == 2  # decided once


def test_counts_refresh_without_keeping_the_session_alive(mod, client, key):
    send(client, key, "a kitten", id="k1")
    response = client.get("/dashboard/counts?view=queue", headers={"X-Moderator-Background": "1"})
    assert response.json == {
        "view": "queue",
        "total": 1,
        "nav": {"queue": 1, "reported": 0, "appeals": 0},
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/dashboard/counts?view=queue&category=threat").json["total"] == 0
    assert client.get("/dashboard/counts?view=nope").status_code == 400
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 120
        stale = session["seen_at"]
    client.get("/dashboard/counts?view=queue", headers={"X-Moderator-Background": "1"})
    with client.session_transaction() as session:
        assert session["seen_at"] == stale
    client.get("/dashboard/counts?view=queue")
    with client.session_transaction() as session:
        assert session["seen_at"] > stale


# -- authors ------------------------------------------------------------------------------------


def test_author_history_and_actions_from_the_card(mod, client, key, engine):
    send(client, key, "first", author={"id": "u9", "name": "Zed"})
    send(client, key, "you walnut", author={"id": "u9", "name": "Zed"})
    held = send(client, key, "a kitten", id="k1", author={"id": "u9", "name": "Zed"})
    page = text_of(client.get("/dashboard/"))
    card = re.search(rf'id="c-{held["id"]}".*?</article>', page, re.S).group(0)
    assert "3 comments:" in card and "1 held" in card and "1 rejected" in card
    assert "you walnut" in card  # a recent comment
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "example")
        author = authors_store.get_author(conn, site.id, "u9")
    assert f"/dashboard/authors/{author.id}/actions" in card
    response = mod.post(
        f"/dashboard/authors/{author.id}/actions",
        {"action": "ban", "reason": "troll farm", "next": "/dashboard/"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    assert send(client, key, "hello", author={"id": "u9"})["decision"] == "reject"
    page = text_of(client.get(f"/dashboard/authors/{author.id}"))
    assert "banned" in page and "troll farm" in page and "author.ban" in page


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"action": "obliterate", "reason": "x"}, 400),
        ({"action": "ban", "reason": ""}, 400),
        ({"action": "ban", "reason": "a\u0000b"}, 400),
        ({"action": "ban", "reason": "r" * 2001}, 400),
        ({"action": "suspend", "reason": "x"}, 400),
        ({"action": "suspend", "reason": "x", "until": "tomorrow"}, 400),
    ],
)
def test_author_actions_reject_bad_input(mod, client, key, engine, form, status):
    send(client, key, "hello", author={"id": "u1"})
    with storage.reading(engine) as conn:
        author = authors_store.find_authors(conn, 1, ["u1"])["u1"]
    assert mod.post(f"/dashboard/authors/{author.id}/actions", form).status_code == status
    with storage.reading(engine) as conn:
        assert authors_store.get_author_by_id(conn, author.id).status(storage.now()) == "active"


def test_author_actions_that_cannot_apply_say_why(mod, client, key, engine):
    send(client, key, "hello", author={"id": "u1"})
    with storage.reading(engine) as conn:
        author = authors_store.find_authors(conn, 1, ["u1"])["u1"]
    response = mod.post(
        f"/dashboard/authors/{author.id}/actions",
        {"action": "suspend", "reason": "x", "until": "2000-01-01"},
        follow_redirects=True,
    )
    assert "Not done: a suspension must end in the future." in text_of(response)
    assert (
        mod.post("/dashboard/authors/999/actions", {"action": "ban", "reason": "x"}).status_code
        == 404
    )
    assert client.get("/dashboard/authors/999").status_code == 404


def test_authors_list_filters(mod, client, key, engine):
    send(client, key, "hello", author={"id": "u1", "name": "Ann"})
    send(client, key, "hello", author={"id": "u2", "name": "Bob"})
    with storage.transaction(engine) as conn:
        authors_store.act(
            conn,
            authors_store.find_authors(conn, 1, ["u2"])["u2"].id,
            "premoderate",
            actor="mod",
            reason="new",
        )
    page = text_of(client.get("/dashboard/authors?status=premoderated"))
    assert "Bob" in page and "Ann" not in page
    assert "Ann" in text_of(client.get("/dashboard/authors?q=an"))
    assert client.get("/dashboard/authors?status=evil").status_code == 400


# -- stories ------------------------------------------------------------------------------------


def test_story_page_filter_and_premoderation(mod, client, key, engine):
    send(client, key, "a kitten", story_id="s1", title="Budget day", url="https://news.example/s1")
    send(client, key, "fine words", story_id="s1")
    send(client, key, "a kitten elsewhere", story_id="s2")
    with storage.reading(engine) as conn:
        story = stories_store.find_story(conn, 1, "s1")
    page = text_of(client.get(f"/dashboard/stories/{story.id}"))
    assert "Budget day" in page and page.count('class="card ') == 2
    assert count_of(text_of(client.get(f"/dashboard/?story={story.id}"))) == 1
    assert count_of(text_of(client.get("/dashboard/?q=Budget"))) == 1  # search covers stories
    assert "Budget day" in text_of(client.get("/dashboard/stories"))
    assert (
        mod.post(f"/dashboard/stories/{story.id}/premoderation", {"premoderated": "on"}).status_code
        == 400
    )
    response = mod.post(
        f"/dashboard/stories/{story.id}/premoderation",
        {"premoderated": "on", "reason": "thread turned ugly"},
    )
    assert response.status_code == 303
    assert send(client, key, "lovely", story_id="s1")["decision"] == "hold"
    assert "pre-moderated" in text_of(client.get(f"/dashboard/stories/{story.id}"))
    mod.post(f"/dashboard/stories/{story.id}/premoderation", {"premoderated": "off"})
    assert send(client, key, "lovely", story_id="s1")["decision"] == "allow"
    assert client.get("/dashboard/stories/999").status_code == 404
    assert (
        mod.post("/dashboard/stories/999/premoderation", {"premoderated": "off"}).status_code == 404
    )
    assert client.get("/dashboard/stories?premoderated=maybe").status_code == 400


# -- appeals ------------------------------------------------------------------------------------


def test_an_appeal_is_resolved_by_another_moderator(mod, client, key, engine, dashboard, accounts):
    held = send(client, key, "a kitten", id="k1")
    mod.post(
        f"/dashboard/comments/{held['id']}/decision",
        {"decision": "reject", "version": "1", "reason_code": "insult"},
    )
    opened = api(client, key, "POST", "/api/v1/comments/k1/appeal", {"text": "I meant a cat!"})
    assert opened.status_code == 201
    appeal_id = opened.json["appeal"]["id"]
    page = text_of(client.get("/dashboard/appeals"))
    assert "I meant a cat!" in page
    assert "You made this decision" in page  # no form for the moderator who decided
    assert f'/dashboard/appeals/{appeal_id}"' not in page
    refused = mod.post(
        f"/dashboard/appeals/{appeal_id}",
        {"outcome": "reverse", "note": "mine"},
        follow_redirects=True,
    )
    assert "another moderator must resolve it" in text_of(refused)
    dashboard.logout()
    dashboard.login("admin")
    assert (
        dashboard.post(
            f"/dashboard/appeals/{appeal_id}", {"outcome": "reverse", "note": ""}
        ).status_code
        == 400
    )
    assert (
        dashboard.post(
            f"/dashboard/appeals/{appeal_id}", {"outcome": "pardon", "note": "x"}
        ).status_code
        == 400
    )
    done = dashboard.post(
        f"/dashboard/appeals/{appeal_id}", {"outcome": "reverse", "note": "A cat it is."}
    )
    assert done.status_code == 303
    comment = api(client, key, "GET", "/api/v1/comments/k1").json
    assert (comment["status"], comment["human_decision"], comment["decided_by"]) == (
        "allow",
        "approve",
        "admin",
    )
    assert (
        comment["appeal"]["status"] == "reversed"
        and comment["appeal"]["resolution_note"] == "A cat it is."
    )
    assert comment["statement"] is None
    assert "A cat it is." in text_of(client.get("/dashboard/appeals?status=reversed"))
    stats = text_of(client.get("/dashboard/stats"))
    assert re.search(r'id="appeals-opened">1<', stats)
    assert re.search(r'id="appeal-reversal-rate">100%<', stats)
    assert client.get("/dashboard/appeals?status=lost").status_code == 400
    assert (
        dashboard.post("/dashboard/appeals/999", {"outcome": "uphold", "note": "x"}).status_code
        == 404
    )


# -- admins: words from the card, site settings, key rotation -------------------------------


def test_admins_add_a_word_from_the_card(admin, client, key, engine):
    held = send(client, key, "a kitten", id="k1")
    page = text_of(client.get("/dashboard/"))
    assert '/dashboard/sites/1/word"' in page
    response = admin.post(
        "/dashboard/sites/1/word", {"word": "kitten", "list": "allow", "next": "/dashboard/"}
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        assert sites.get_site_by_name(conn, "example").allow_words == ("kitten",)
        assert review.audit_entries(conn, review.AuditFilter(action="site.allow_words"))[1] == 1
    assert send(client, key, "a kitten again")["decision"] == "allow"
    assert held["decision"] == "hold"
    for bad in (
        {"word": "x", "list": "suspect"},
        {"word": "", "list": "allow"},
        {"word": "w" * 101, "list": "block"},
    ):
        assert admin.post("/dashboard/sites/1/word", bad).status_code == 400
    assert admin.post("/dashboard/sites/99/word", {"word": "x", "list": "block"}).status_code == 404


def test_moderators_cannot_change_word_lists_from_the_card(mod, client, key):
    send(client, key, "a kitten", id="k1")
    assert "/dashboard/sites/1/word" not in text_of(client.get("/dashboard/"))
    assert (
        mod.post("/dashboard/sites/1/word", {"word": "kitten", "list": "allow"}).status_code == 403
    )


def test_site_desk_settings(admin, client, key, engine):
    response = admin.post(
        "/dashboard/sites/1/desk",
        {"report_threshold": "3", "appeal_days": "0", "new_author_premoderation": "2"},
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "example")
    assert (site.report_threshold, site.appeal_days, site.new_author_premoderation) == (3, 0, 2)
    for bad in (
        {"report_threshold": "0", "appeal_days": "1", "new_author_premoderation": "0"},
        {"report_threshold": "1", "appeal_days": "x", "new_author_premoderation": "0"},
        {"report_threshold": "1", "appeal_days": "1"},
    ):
        assert admin.post("/dashboard/sites/1/desk", bad).status_code == 400


def test_key_rotation_from_the_dashboard(admin, client, key, engine):
    response = admin.post("/dashboard/sites/1/rotate-key", {"grace_hours": "24"})
    assert response.status_code == 200
    page = text_of(response)
    new_key = re.search(r'id="api-key">(mod_[^<]+)<', page).group(1)
    assert "keeps working until" in page
    for k in (key, new_key):
        assert send(client, k, "both keys work")["decision"] in ("allow", "hold")
    now_only = admin.post("/dashboard/sites/1/rotate-key", {"grace_hours": "0"})
    newest = re.search(r'id="api-key">(mod_[^<]+)<', text_of(now_only)).group(1)
    assert (
        client.post(
            "/api/v1/moderate", json={"text": "x"}, headers={"Authorization": f"Bearer {new_key}"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/moderate", json={"text": "x"}, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )
    assert send(client, newest, "only this one")["decision"] in ("allow", "hold")
    assert admin.post("/dashboard/sites/1/rotate-key", {"grace_hours": "100000"}).status_code == 400
    assert admin.post("/dashboard/sites/1/rotate-key", {}).status_code == 400
    with storage.reading(engine) as conn:
        assert review.audit_entries(conn, review.AuditFilter(action="site.rotate_key"))[1] == 2


def test_appeals_store_is_importable_for_the_queue(engine):
    # The Appeals queue reads open appeals oldest first; an empty database lists none.
    with storage.reading(engine) as conn:
        assert appeals_store.list_appeals(conn) == ([], 0)
