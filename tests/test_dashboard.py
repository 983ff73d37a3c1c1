"""The dashboard: every view, login and roles, escaping, decisions, concurrency, bad input."""

from __future__ import annotations

import html
import re
import threading

import pytest

from moderator import dashboard as dashboard_module
from moderator import storage
from moderator.storage import review

HOSTILE = "<img src=x onerror=alert(1)>"

# Every query here runs on SQLite and, with MODERATOR_TEST_DATABASE_URL, on PostgreSQL.
pytestmark = pytest.mark.all_databases


@pytest.fixture
def held(hold_all, send_comment) -> list[str]:
    """Three held comments on "example", oldest first; the second has a suspect word."""
    return [
        send_comment(hold_all, HOSTILE, id="c1", author={"id": "u1", "name": "<b>Bob</b>"})["id"],
        send_comment(
            hold_all,
            "what a kitten you are",
            id="c2",
            url="https://news.example/story?id=1",
            parent_text="the parent <script>alert(2)</script>",
        )["id"],
        send_comment(hold_all, "third comment", id="c3", url="javascript:alert(3)")["id"],
    ]


@pytest.fixture
def mod(dashboard):
    dashboard.login("mod")
    return dashboard


@pytest.fixture
def admin(dashboard):
    dashboard.login("admin")
    return dashboard


def api_comment(client, key: str, comment_id: str) -> dict:
    response = client.get(
        f"/api/v1/comments/{comment_id}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200
    return response.get_json()


def decide(dashboard, comment_id: str, decision: str, version: int = 1, **fields):
    data = {"decision": decision, "version": str(version), "reason_code": "insult", **fields}
    return dashboard.post(f"/dashboard/comments/{comment_id}/decision", data)


def text_of(response) -> str:
    return response.get_data(as_text=True)


# -- login and roles on every route ---------------------------------------------------------------


def dashboard_routes(app) -> list[tuple[str, str]]:
    """(method, url) for every dashboard route, with real-looking arguments filled in."""
    values = {
        "comment_id": "c0ffee",
        "site_id": 1,
        "user_id": 1,
        "change": "disable",
        "author_id": 1,
        "story_id": 1,
        "appeal_id": 1,
        "label": "sec_0",
        "endpoint_id": 1,
        "delivery_id": "msg_0",
    }
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("dashboard.", "accounts.")):
            continue
        if rule.endpoint in ("dashboard.static", "accounts.login"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{name}>", str(values[name]))
            url = re.sub(rf"<[^>]*:{name}>", str(values[name]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url))
    return routes


#: Every dashboard route; test_every_route_is_listed fails when one is added and not listed here.
ROUTES = [
    ("GET", "/dashboard/"),
    ("GET", "/dashboard/reported"),
    ("GET", "/dashboard/counts"),
    ("POST", "/dashboard/preferences"),
    ("GET", "/dashboard/authors"),
    ("GET", "/dashboard/authors/1"),
    ("POST", "/dashboard/authors/1/actions"),
    ("GET", "/dashboard/stories"),
    ("GET", "/dashboard/stories/1"),
    ("POST", "/dashboard/stories/1/premoderation"),
    ("GET", "/dashboard/appeals"),
    ("POST", "/dashboard/appeals/1"),
    ("POST", "/dashboard/sites/1/word"),
    ("POST", "/dashboard/sites/1/desk"),
    ("POST", "/dashboard/sites/1/rotate-key"),
    ("GET", "/dashboard/approved"),
    ("GET", "/dashboard/rejected"),
    ("GET", "/dashboard/all"),
    ("GET", "/dashboard/comments/c0ffee"),
    ("POST", "/dashboard/comments/c0ffee/decision"),
    ("POST", "/dashboard/bulk"),
    ("GET", "/dashboard/audit"),
    ("GET", "/dashboard/stats"),
    ("GET", "/dashboard/sites"),
    ("POST", "/dashboard/sites"),
    ("GET", "/dashboard/sites/1"),
    ("POST", "/dashboard/sites/1/thresholds"),
    ("POST", "/dashboard/sites/1/words"),
    ("POST", "/dashboard/sites/1/wordlist-action"),
    ("POST", "/dashboard/sites/1/revoke"),
    ("GET", "/dashboard/sites/1/integrations"),
    ("POST", "/dashboard/sites/1/coral-secrets"),
    ("POST", "/dashboard/sites/1/coral-secrets/sec_0/remove"),
    ("POST", "/dashboard/sites/1/settings"),
    ("POST", "/dashboard/sites/1/webhooks"),
    ("POST", "/dashboard/sites/1/webhooks/1/remove"),
    ("GET", "/dashboard/webhooks"),
    ("POST", "/dashboard/webhooks/msg_0/retry"),
    ("POST", "/dashboard/logout"),
    ("GET", "/dashboard/account"),
    ("POST", "/dashboard/account"),
    ("GET", "/dashboard/password"),
    ("POST", "/dashboard/account/sessions/end"),
    ("GET", "/dashboard/users"),
    ("POST", "/dashboard/users"),
    ("POST", "/dashboard/users/1/disable"),
    ("POST", "/dashboard/users/1/sessions/end"),
    ("POST", "/dashboard/users/1/password"),
]


def test_every_route_is_listed(app):
    assert sorted(dashboard_routes(app)) == sorted(ROUTES)


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_every_dashboard_route_needs_a_login(client, engine, hold_all, method, url):
    with storage.reading(engine) as conn:
        audit_before = review.audit_entries(conn, review.AuditFilter())[1]
    if method == "GET":
        response = client.get(url)
    else:
        # A valid (anonymous) CSRF token, so the login check is what answers.
        login = text_of(client.get("/dashboard/login"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        response = client.open(url, method=method, data={"csrf_token": token})
    if url == "/dashboard/logout":
        # Logging out needs no login; it just lands on the login page.
        assert response.headers["Location"] == "/dashboard/login"
    else:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/dashboard/login?next=")
    with storage.reading(engine) as conn:
        assert review.audit_entries(conn, review.AuditFilter())[1] == audit_before


ADMIN_ONLY = [
    ("GET", "/dashboard/sites"),
    ("POST", "/dashboard/sites"),
    ("GET", "/dashboard/sites/1"),
    ("POST", "/dashboard/sites/1/thresholds"),
    ("POST", "/dashboard/sites/1/words"),
    ("POST", "/dashboard/sites/1/wordlist-action"),
    ("POST", "/dashboard/sites/1/revoke"),
    ("POST", "/dashboard/sites/1/word"),
    ("POST", "/dashboard/sites/1/desk"),
    ("POST", "/dashboard/sites/1/rotate-key"),
    ("GET", "/dashboard/sites/1/integrations"),
    ("POST", "/dashboard/sites/1/coral-secrets"),
    ("POST", "/dashboard/sites/1/coral-secrets/sec_0/remove"),
    ("POST", "/dashboard/sites/1/settings"),
    ("POST", "/dashboard/sites/1/webhooks"),
    ("POST", "/dashboard/sites/1/webhooks/1/remove"),
    ("GET", "/dashboard/webhooks"),
    ("POST", "/dashboard/webhooks/msg_0/retry"),
    ("GET", "/dashboard/users"),
    ("POST", "/dashboard/users"),
    ("POST", "/dashboard/users/1/disable"),
    ("POST", "/dashboard/users/1/password"),
    ("POST", "/dashboard/users/1/sessions/end"),
]


@pytest.mark.parametrize(("method", "url"), ADMIN_ONLY)
def test_a_moderator_cannot_reach_admin_pages(mod, client, hold_all, method, url):
    if method == "GET":
        response = client.get(url)
    else:
        response = mod.post(url, {"name": "sneaky", "kind": "block", "words": "x"})
    assert response.status_code == 403
    assert "admins only" in text_of(response)


def test_the_admin_route_list_is_complete(app):
    adapter = app.url_map.bind("localhost")
    listed = {adapter.match(url, method)[0] for method, url in ADMIN_ONLY}
    admin_endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/dashboard/sites", "/dashboard/users", "/dashboard/webhooks"))
    }
    assert listed == admin_endpoints


def test_moderators_see_no_admin_links(mod, client):
    page = text_of(client.get("/dashboard/"))
    assert "/dashboard/sites" not in page
    assert "/dashboard/users" not in page


def test_root_redirects_to_the_dashboard(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"


def test_static_files_need_no_login(client):
    response = client.get("/dashboard/static/dashboard.js")
    assert response.status_code == 200
    response.close()


# -- the queue ------------------------------------------------------------------------------------


def test_queue_lists_held_comments_oldest_first_with_a_count(mod, client, held):
    page = text_of(client.get("/dashboard/"))
    assert "3 held comments awaiting review" in page
    positions = [page.index(f'id="c-{comment_id}"') for comment_id in held]
    assert positions == sorted(positions)


def test_hostile_comment_text_is_escaped(mod, client, held):
    page = text_of(client.get("/dashboard/"))
    assert HOSTILE not in page
    assert html.escape(HOSTILE, quote=False) in page
    assert "<b>Bob</b>" not in page
    assert "&lt;b&gt;Bob&lt;/b&gt;" in page
    assert "<script>alert(2)</script>" not in page
    assert "the parent &lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_triggering_words_are_highlighted_at_their_spans(mod, client, held):
    page = text_of(client.get(f"/dashboard/comments/{held[1]}"))
    body = re.search(r'<div class="text" dir="auto">(.*?)</div>', page).group(1)
    assert "<mark>kitten</mark>" in body
    # Only <mark> tags were added: without them the text is exactly the comment.
    assert re.sub(r"</?mark>", "", body) == "what a kitten you are"


def test_page_urls_link_only_http(mod, client, held):
    page = text_of(client.get("/dashboard/"))
    assert (
        '<a href="https://news.example/story?id=1" rel="noopener noreferrer nofollow ugc"' in page
    )
    assert 'href="javascript:' not in page
    assert '<span class="url-text"><bdi>javascript:alert(3)</bdi></span>' in page


def test_item_shows_reasons_scores_model_and_author(mod, client, held):
    page = text_of(client.get(f"/dashboard/comments/{held[1]}"))
    # The suspect word's reason, with its word highlighted in the reasons list too.
    assert '<span class="cat">obscene</span>' in page
    assert '<span class="words"><mark><bdi>kitten</bdi></mark></span>' in page
    assert re.search(r"model <bdi>\S+</bdi> · language <bdi>\S+</bdi> · version 1", page)
    assert "external id <bdi>c2</bdi>" in page
    # The reject form preselects the first reason's category.
    assert '<option value="obscene" selected>' in page
    author = text_of(client.get(f"/dashboard/comments/{held[0]}"))
    assert "&lt;b&gt;Bob&lt;/b&gt;</bdi></strong>" in author and "(<bdi>u1</bdi>)" in author


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("site=1", 3),
        ("site=999", 0),
        ("q=kitten", 1),
        ("q=KITTEN", 1),
        ("q=%25", 0),
        ("q=_", 0),
        ("q=c3", 1),
        ("since=2000-01-01", 3),
        ("until=2000-01-01", 0),
        ("since=2000-01-01&until=2999-12-31", 3),
        ("category=threat", None),
    ],
)
def test_queue_filters(mod, client, held, query, expected):
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 200
    count = int(re.search(r'id="count"[^>]*>([\d,]+)', text_of(response)).group(1))
    if expected is not None:
        assert count == expected


def test_category_filter_matches_the_reasons(mod, client, held, engine):
    with storage.reading(engine) as conn:
        item = review.get_comment(conn, held[1])
    category = item.reasons[0]["category"]
    page = text_of(client.get(f"/dashboard/?category={category}"))
    assert f'id="c-{held[1]}"' in page


@pytest.mark.parametrize(
    "query",
    [
        "site=abc",
        "site=-1",
        "site=%EF%BC%91",  # a full-width digit one
        "category=nonsense",
        "since=yesterday",
        "until=2026-02-30",
        "since=2026-02-01&until=2026-01-01",
        "page=0",
        "page=x",
        "decided=robot",
        "q=" + "x" * 201,
        "q=%00",
    ],
)
def test_bad_filters_are_400(mod, client, held, query):
    response = client.get(f"/dashboard/all?{query}")
    assert response.status_code == 400
    assert "Bad request" in text_of(response)


def test_odd_unicode_search_is_fine(mod, client, held):
    for q in ("ǅ", "\u202e", "👍🏽", "ﬁ", "e\u0301"):
        assert client.get("/dashboard/all", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize("view", ["approved", "rejected", "all"])
def test_other_views_list_by_status(mod, client, held, view):
    decide(mod, held[0], "approve")
    decide(mod, held[1], "reject")
    page = text_of(client.get(f"/dashboard/{view}"))
    shown = {comment_id for comment_id in held if f'id="c-{comment_id}"' in page}
    expected = {"approved": {held[0]}, "rejected": {held[1]}, "all": set(held)}[view]
    assert shown == expected


def test_decided_filter_separates_human_from_automatic(mod, client, held):
    decide(mod, held[0], "approve")
    page = text_of(client.get("/dashboard/all?decided=human"))
    assert f'id="c-{held[0]}"' in page
    assert f'id="c-{held[1]}"' not in page


def test_empty_queue_says_so(mod, client):
    assert "The queue is empty" in text_of(client.get("/dashboard/"))


def test_pages_past_the_end_are_empty_not_errors(mod, client, held):
    assert client.get("/dashboard/?page=99").status_code == 200


def test_unknown_comment_is_404(mod, client):
    assert client.get("/dashboard/comments/nope").status_code == 404
    assert client.get("/dashboard/comments/" + "x" * 37).status_code == 404
    assert client.get("/dashboard/comments/a%00b").status_code == 404


# -- decisions ------------------------------------------------------------------------------------


def test_approve_updates_the_api_at_once(mod, client, held, hold_all, engine):
    response = decide(mod, held[0], "approve", next="/dashboard/?site=1")
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/?site=1"
    seen = api_comment(client, hold_all, held[0])
    assert seen["status"] == "allow"
    assert seen["human_decision"] == "approve"
    assert seen["decided_by"] == "mod"
    assert seen["decided_at"]
    assert seen["reason_code"] is None  # a reason only goes with a rejection
    assert seen["version"] == 2
    assert "2 held comments" in text_of(client.get("/dashboard/"))


def test_reject_with_a_note_and_reason(mod, client, held, hold_all, engine):
    note = "Personal attack — see rule 3 ✋ <b>bold</b>"
    assert decide(mod, held[1], "reject", note=note, reason_code="insult").status_code == 303
    seen = api_comment(client, hold_all, held[1])
    assert (seen["status"], seen["human_decision"]) == ("reject", "reject")
    assert seen["note"] == note
    assert seen["reason_code"] == "insult"
    page = text_of(client.get(f"/dashboard/comments/{held[1]}"))
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_decisions_are_audited_with_before_and_after(mod, client, held, engine):
    decide(mod, held[1], "reject", note="why", reason_code="threat")
    with storage.reading(engine) as conn:
        entries, _ = review.audit_entries(conn, review.AuditFilter(comment_id=held[1]))
    (entry,) = entries
    assert (entry.actor, entry.action, entry.note) == ("mod", "comment.reject", "why")
    assert entry.before["status"] == "hold" and entry.before["human_decision"] is None
    assert entry.after["status"] == "reject" and entry.after["reason_code"] == "threat"
    assert (entry.before["version"], entry.after["version"]) == (1, 2)


def test_a_second_decision_sees_the_first(app, mod, held, accounts):
    other = type(mod)(app.test_client())
    other.login("admin")
    assert decide(mod, held[0], "approve").status_code == 303
    response = decide(other, held[0], "reject")
    assert response.status_code == 409
    page = text_of(response)
    assert "already approved by <bdi>mod</bdi>" in page
    assert "Your decision was not recorded" in page


def test_a_stale_version_is_refused(mod, held):
    response = decide(mod, held[0], "approve", version=7)
    assert response.status_code == 409
    assert "changed after you loaded it" in text_of(response)


def test_concurrent_decisions_on_one_comment_let_exactly_one_win(engine, held):
    outcomes, barrier = [], threading.Barrier(6)

    def attempt(n: int) -> None:
        barrier.wait()
        with storage.transaction(engine) as conn:
            outcome = review.decide_comment(
                conn,
                held[0],
                decision="approve" if n % 2 else "reject",
                actor=f"m{n}",
                reason_code="other",
                expected_version=1,
            )
        outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.ok for o in outcomes) == 1
    assert {o.problem for o in outcomes if not o.ok} <= {"already_decided", "changed"}
    with storage.reading(engine) as conn:
        entries, total = review.audit_entries(conn, review.AuditFilter(comment_id=held[0]))
        assert total == 1
        assert review.get_comment(conn, held[0]).version == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"decision": ""}, "approve or reject"),
        ({"decision": "delete"}, "approve or reject"),
        ({"decision": "reject", "reason_code": ""}, "needs a reason"),
        ({"decision": "reject", "reason_code": "rude"}, "needs a reason"),
        ({"note": "x" * 2001}, "too long"),
        ({"note": "bad\x00byte"}, "control characters"),
        ({"note": "bell\x07"}, "control characters"),
        ({"version": ""}, "version is required"),
        ({"version": "one"}, "whole number"),
        ({"version": "-1"}, "whole number"),
        ({"version": "99999999999999999999"}, "whole number"),
    ],
)
def test_bad_decision_input_is_400(mod, held, engine, fields, message):
    data = {"decision": "approve", "version": "1", "reason_code": "insult", **fields}
    response = mod.post(f"/dashboard/comments/{held[0]}/decision", data)
    assert response.status_code == 400
    assert message in text_of(response)
    with storage.reading(engine) as conn:
        assert review.get_comment(conn, held[0]).human_decision is None


def test_a_note_of_exactly_the_limit_is_kept(mod, client, held, hold_all):
    note = "é" * dashboard_module.MAX_NOTE
    assert decide(mod, held[0], "approve", note=note).status_code == 303
    assert api_comment(client, hold_all, held[0])["note"] == note


def test_odd_unicode_notes_are_stored_nfc(mod, client, held, hold_all):
    note = "e\u0301 \u202eRTL\u202c 👍🏽 ǅ\n\tsecond line"
    assert decide(mod, held[0], "approve", note=note).status_code == 303
    assert (
        api_comment(client, hold_all, held[0])["note"] == "é \u202eRTL\u202c 👍🏽 ǅ\n\tsecond line"
    )


def test_deciding_a_missing_comment_is_404(mod):
    assert decide(mod, "does-not-exist", "approve").status_code == 404
    assert decide(mod, "x" * 37, "approve").status_code == 404
    assert decide(mod, "a\x00b", "approve").status_code == 404


def test_decision_without_csrf_token_is_refused(mod, client, held, engine):
    response = client.post(
        f"/dashboard/comments/{held[0]}/decision", data={"decision": "approve", "version": "1"}
    )
    assert response.status_code == 400
    with storage.reading(engine) as conn:
        assert review.get_comment(conn, held[0]).human_decision is None


def test_decision_redirect_never_leaves_the_dashboard(mod, held):
    response = decide(mod, held[0], "approve", next="https://evil.example/")
    assert response.headers["Location"] == "/dashboard/"


# -- bulk -----------------------------------------------------------------------------------------


def test_bulk_approve_skips_what_someone_else_decided(mod, client, held, hold_all):
    decide(mod, held[1], "reject")
    data = {
        "decision": "approve",
        "ids": [f"{held[0]}:1", f"{held[1]}:1", f"{held[2]}:1"],
        "note": "bulk",
    }
    response = mod.post("/dashboard/bulk", data)
    assert response.status_code == 303
    flashed = text_of(client.get("/dashboard/all"))
    assert "Approved 2 comments. 1 skipped" in flashed
    assert api_comment(client, hold_all, held[0])["status"] == "allow"
    assert api_comment(client, hold_all, held[1])["status"] == "reject"
    assert api_comment(client, hold_all, held[2])["note"] == "bulk"


def test_bulk_reject_records_the_reason(mod, client, held, hold_all):
    data = {"decision": "reject", "reason_code": "spam", "ids": [f"{c}:1" for c in held]}
    assert mod.post("/dashboard/bulk", data).status_code == 303
    assert {api_comment(client, hold_all, c)["reason_code"] for c in held} == {"spam"}
    assert "The queue is empty" in text_of(client.get("/dashboard/"))


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "select at least one"),
        (["nocolon"], "malformed"),
        (["abc:x"], "malformed"),
        ([":1"], "malformed"),
        (["x" * 40 + ":1"], "malformed"),
        (["a\x00b:1"], "malformed"),
        ([f"id{i}:1" for i in range(201)], "at most 200"),
    ],
)
def test_bad_bulk_input_is_400(mod, held, ids, message):
    response = mod.post("/dashboard/bulk", {"decision": "approve", "ids": ids})
    assert response.status_code == 400
    assert message in text_of(response)


def test_bulk_with_unknown_ids_decides_nothing(mod, client, held):
    mod.post("/dashboard/bulk", {"decision": "approve", "ids": ["nope:1"]})
    assert "Approved 0 comments. 1 skipped" in text_of(client.get("/dashboard/"))


# -- audit log and stats --------------------------------------------------------------------------


def test_audit_log_shows_and_filters_actions(mod, client, held):
    decide(mod, held[0], "approve", note="fine <i>really</i>")
    page = text_of(client.get("/dashboard/audit"))
    assert "comment.approve" in page and "user.login" in page
    assert "fine &lt;i&gt;really&lt;/i&gt;" in page
    only = text_of(client.get("/dashboard/audit?action=comment.approve"))
    assert "user.login</code>" not in only and "comment.approve</code>" in only
    assert "1 entry" in text_of(client.get(f"/dashboard/audit?comment={held[0]}"))
    assert "0 entries" in text_of(client.get("/dashboard/audit?actor=nobody"))


@pytest.mark.parametrize(
    "query", ["since=soon", "until=2026-13-01", "site=x", "page=-2", "actor=" + "a" * 201]
)
def test_bad_audit_filters_are_400(mod, client, query):
    assert client.get(f"/dashboard/audit?{query}").status_code == 400


def test_the_audit_log_has_no_way_to_change_it(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    assert not [name for name in dir(review) if re.match(r"(update|delete|edit)_?audit", name)]


def test_comment_page_shows_its_history(mod, client, held):
    decide(mod, held[0], "approve", note="history note")
    page = text_of(client.get(f"/dashboard/comments/{held[0]}"))
    assert "History" in page and "comment.approve" in page and "history note" in page


def test_stats_count_decisions_and_overturns(mod, client, engine, hold_all, send_comment):
    with storage.transaction(engine) as conn:
        from moderator.storage import sites

        sites.set_words(conn, "example", "block", ["zzblocked"])
    rejected = send_comment(hold_all, "zzblocked words here")
    assert rejected["decision"] == "reject"
    held_one = send_comment(hold_all, "a kitten")["id"]
    decide(mod, rejected["id"], "approve")
    decide(mod, held_one, "reject")
    page = text_of(client.get("/dashboard/stats?days=7"))
    assert '<span class="big" id="overturn-rate">100%</span>' in page
    assert "<svg" in page and "seg-reject" in page
    with storage.reading(engine) as conn:
        import datetime as dt

        numbers = review.decision_stats(conn, dt.date.today() - dt.timedelta(days=1))
    assert numbers.outcomes[("reject", "approve")] == 1
    assert numbers.outcomes[("hold", "reject")] == 1
    assert numbers.automatic_totals["reject"] == 1
    assert numbers.human_by_reason["insult"] == 1
    assert numbers.hold_confirm_rate == 1.0


def test_stats_with_no_data(mod, client):
    page = text_of(client.get("/dashboard/stats"))
    assert "–" in page and "<svg" in page


@pytest.mark.parametrize("days", ["0", "367", "x", "-5"])
def test_bad_stats_period_is_400(mod, client, days):
    assert client.get(f"/dashboard/stats?days={days}").status_code == 400


# -- admin: sites ---------------------------------------------------------------------------------


def test_admin_creates_a_site_and_sees_the_key_once(admin, client):
    response = admin.post("/dashboard/sites", {"name": "blog"})
    assert response.status_code == 200
    key = re.search(r'id="api-key">(mod_[^<]+)<', text_of(response)).group(1)
    api = client.post(
        "/api/v1/moderate", json={"text": "hello"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert api.status_code == 200
    assert key not in text_of(client.get("/dashboard/sites"))
    assert key not in text_of(client.get("/dashboard/audit"))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "needs a name"),
        ("x" * 201, "too long"),
        ("tab\tname", "printable"),
        ("example", "already"),
    ],
)
def test_bad_site_names_are_400(admin, hold_all, name, message):
    response = admin.post("/dashboard/sites", {"name": name})
    assert response.status_code == 400
    assert message in text_of(response)


def test_admin_sets_thresholds_and_clears_them(admin, client, engine, site_key):
    form = {"insult-hold": "0.3", "insult-reject": "0.95"}
    assert admin.post("/dashboard/sites/1/thresholds", form).status_code == 303
    with storage.reading(engine) as conn:
        from moderator.storage import sites

        assert sites.get_site(conn, 1).thresholds == {"insult": {"hold": 0.3, "reject": 0.95}}
    assert 'value="0.3"' in text_of(client.get("/dashboard/sites/1"))
    assert admin.post("/dashboard/sites/1/thresholds", {}).status_code == 303
    with storage.reading(engine) as conn:
        assert sites.get_site(conn, 1).thresholds is None


@pytest.mark.parametrize(
    "form",
    [
        {"insult-hold": "0.9", "insult-reject": "0.5"},
        {"insult-hold": "0.5"},
        {"insult-hold": "x", "insult-reject": "0.5"},
        {"insult-hold": "nan", "insult-reject": "0.5"},
        {"insult-hold": "-0.1", "insult-reject": "0.5"},
        {"insult-hold": "0.1", "insult-reject": "1.5"},
        {"insult-hold": "inf", "insult-reject": "inf"},
    ],
)
def test_bad_thresholds_are_400(admin, site_key, form):
    assert admin.post("/dashboard/sites/1/thresholds", form).status_code == 400


def test_admin_sets_word_lists(admin, client, engine, site_key, send_comment):
    response = admin.post(
        "/dashboard/sites/1/words", {"kind": "block", "words": "zzfoo\n\n  zzbar  \nzzfoo"}
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        from moderator.storage import sites

        assert sites.get_site(conn, 1).block_words == ("zzbar", "zzfoo")
    assert send_comment(site_key, "this has zzbar in it")["decision"] == "reject"


@pytest.mark.parametrize(
    "form",
    [
        {"kind": "nope", "words": "a"},
        {"kind": "block", "words": "x" * 101},
        {"kind": "block", "words": "\n".join(f"w{i}" for i in range(5001))},
        {"kind": "block", "words": "bad\x00word"},
        {"kind": "block", "words": "zzfoo:nocategory"},
    ],
)
def test_bad_word_lists_are_400(admin, site_key, form):
    assert admin.post("/dashboard/sites/1/words", form).status_code == 400


def test_admin_sets_the_wordlist_action_and_it_is_audited(
    admin, client, engine, send_comment, site_key
):
    page = text_of(client.get("/dashboard/sites/1"))
    assert 'value="reject" checked' in page and 'value="hold">' in page
    assert send_comment(site_key, "fuck")["decision"] == "reject"
    response = admin.post("/dashboard/sites/1/wordlist-action", {"wordlist_action": "hold"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/sites/1"
    assert 'value="hold" checked' in text_of(client.get("/dashboard/sites/1"))
    assert "<td>hold</td>" in text_of(client.get("/dashboard/sites"))
    # The word list now holds `fuck` (the test model may still reject it on its own score).
    assert any(r["source"] == "wordlist" for r in send_comment(site_key, "fuck")["reasons"])
    with storage.reading(engine) as conn:
        from moderator.storage import audit
        from moderator.storage import sites

        assert sites.get_site(conn, 1).wordlist_action == "hold"
        entry = audit.entries(conn, site_id=1)[0]
    assert (entry["action"], entry["actor"]) == ("site.wordlist_action", "admin")
    assert entry["after"] == {"wordlist_action": "hold"}


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"wordlist_action": ""},
        {"wordlist_action": "allow"},
        {"wordlist_action": "HOLD"},
        {"wordlist_action": "hold\x00"},
        {"wordlist_action": "<script>alert(1)</script>"},
        {"wordlist_action": "x" * 100_000},
    ],
)
def test_bad_wordlist_actions_are_400_and_change_nothing(admin, engine, site_key, form):
    response = admin.post("/dashboard/sites/1/wordlist-action", form)
    assert response.status_code == 400
    assert "<script>alert" not in text_of(response)
    with storage.reading(engine) as conn:
        from moderator.storage import sites

        assert sites.get_site(conn, 1).wordlist_action == "reject"


def test_wordlist_action_without_csrf_token_is_refused(admin, client, engine, site_key):
    response = client.post("/dashboard/sites/1/wordlist-action", data={"wordlist_action": "hold"})
    assert response.status_code == 400
    with storage.reading(engine) as conn:
        from moderator.storage import sites

        assert sites.get_site(conn, 1).wordlist_action == "reject"


def test_wordlist_action_for_a_missing_site_is_404(admin):
    assert (
        admin.post("/dashboard/sites/42/wordlist-action", {"wordlist_action": "hold"}).status_code
        == 404
    )


def test_admin_revokes_a_site(admin, client, site_key):
    assert admin.post("/dashboard/sites/1/revoke", {}).status_code == 303
    api = client.post(
        "/api/v1/moderate", json={"text": "hi"}, headers={"Authorization": f"Bearer {site_key}"}
    )
    assert api.status_code == 401
    assert "revoked" in text_of(client.get("/dashboard/sites/1"))
    admin.post("/dashboard/sites/1/revoke", {})
    assert "already revoked" in text_of(client.get("/dashboard/sites/1"))


def test_missing_site_is_404(admin, client):
    assert client.get("/dashboard/sites/42").status_code == 404
    assert admin.post("/dashboard/sites/42/revoke", {}).status_code == 404


# -- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reasons", "expected"),
    [
        ("abc", [], [("abc", False)]),
        ("abcdef", [{"spans": [[1, 3]]}], [("a", False), ("bc", True), ("def", False)]),
        ("abcdef", [{"spans": [[0, 2]]}, {"spans": [[1, 4]]}], [("abcd", True), ("ef", False)]),
        ("abc", [{"spans": [[2, 99]]}], [("ab", False), ("c", True)]),
        ("abc", [{"spans": [[-5, 1]]}], [("a", True), ("bc", False)]),
        ("abc", [{"spans": [[2, 1], [1, 1], ["0", 1], [True, 2], [0], None]}], [("abc", False)]),
        ("abc", [{"spans": "nonsense"}, "not a dict", {}], [("abc", False)]),
        ("", [{"spans": [[0, 1]]}], []),
    ],
)
def test_highlight_cuts_text_safely(text, reasons, expected):
    segments = dashboard_module.highlight(text, reasons)
    assert segments == expected
    assert "".join(s for s, _ in segments) == text


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.com/a?b=c", True),
        ("http://example.com", True),
        ("HTTPS://EXAMPLE.COM", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.example", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("https://[::1", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_url_links_only_http(url, linked):
    assert (dashboard_module.safe_url(url) is not None) == linked


def test_scores_and_classifier_reasons_render(mod, client, engine, site_key):
    import datetime as dt

    from moderator.storage import comments as comments_store

    text = "you absolute walnut, I will find you"
    comment = comments_store.Comment(
        id="fixed-id-1",
        site_id=1,
        external_id=None,
        text=text,
        author_id=None,
        author_name=None,
        url=None,
        parent_text=None,
        decision="hold",
        status="hold",
        scores={"toxicity": 0.71, "insult": 0.66, "threat": 0.58, "obscene": 0.02},
        reasons=[
            {
                "category": "threat",
                "score": 0.58,
                "source": "classifier",
                "words": ["find you"],
                "spans": [[28, 36]],
            },
            {
                "category": "insult",
                "score": 0.66,
                "source": "classifier",
                "words": ["walnut"],
                "spans": [[13, 19]],
            },
        ],
        model="test-model@1",
        created_at=dt.datetime.now(dt.UTC),
    )
    with storage.transaction(engine) as conn:
        comments_store.insert_comment(conn, comment)
    page = text_of(client.get("/dashboard/comments/fixed-id-1"))
    assert (
        '<div class="text" dir="auto">you absolute <mark>walnut</mark>, '
        "I will <mark>find you</mark></div>" in page
    )
    assert '<meter min="0" max="1" low="0.5" high="0.8" optimum="0" value="0.71">' in page
    assert "<dt>identity_attack</dt>" not in page  # only scores that exist
    assert "model <bdi>test-model@1</bdi>" in page
    assert "classifier 0.58" in page
    assert '<option value="threat" selected>' in page


def test_an_unreachable_database_is_a_503_page(config):
    import dataclasses

    from moderator import create_app

    unreachable = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none?connect_timeout=2"
    app = create_app(dataclasses.replace(config, database_url=unreachable))
    client = app.test_client()
    login = text_of(client.get("/dashboard/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    response = client.post(
        "/dashboard/login",
        data={"username": "mod", "password": "whatever it is", "csrf_token": token},
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Database unavailable" in text_of(response)
