"""The desk in a real browser (Debian's chromium through Playwright, the app on localhost).

Acting on an author from a card and the next API decision; a reader report reaching the
Reported queue (and the self-refreshing counts); a story's page and its pre-moderation; an
appeal from the API to the Appeals queue and back, refused to the moderator who decided;
a 9,500-character comment collapsed to its sentence; decisions with and without
JavaScript. The README's screenshots come from here (--update-screenshots).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from moderator import storage
from moderator.policy import CATEGORIES
from moderator.storage import sites

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package)"),
]

#: Our own filler for long comments: a council report, nothing anyone would flag.
FILLER = (
    "The council met on Tuesday evening to discuss the budget for next year, and the "
    "library hours were extended again after a long debate about the reading room. "
)


@pytest.fixture
def key(engine, site_key) -> str:
    """The "example" site: "walnut" rejects, "kitten" holds, the model never acts alone."""
    never = {str(c): {"hold": 1.0, "reject": 1.0} for c in CATEGORIES}
    with storage.transaction(engine) as conn:
        sites.set_thresholds(conn, "example", never)
        sites.set_words(conn, "example", "block", ["walnut"])
        sites.set_words(conn, "example", "suspect", ["kitten"])
    return site_key


@pytest.fixture
def api(server, key):
    """api(method, path, json) -> (status, body) with the site's key, through the server."""
    import json as jsonlib
    import urllib.error
    import urllib.request

    def call(method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        data = None if payload is None else jsonlib.dumps(payload).encode()
        request = urllib.request.Request(
            f"{server}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, jsonlib.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, jsonlib.loads(error.read())

    return call


def moderate(api, text: str, **fields) -> dict:
    status, body = api("POST", "/api/v1/moderate", {"text": text, **fields})
    assert status == 200, body
    return body


def login(page, server, username="mod"):
    """Log in through the form; lands on the queue."""
    page.goto(f"{server}/dashboard/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery staple")
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_author_actions_from_the_card_decide_the_next_comment(
    server, new_page, accounts, api, screenshot
):
    watched = new_page()
    page = watched.page
    moderate(api, "an earlier comment, all fine", author={"id": "u-7", "name": "Sam"})
    held = moderate(api, "what a kitten you are", author={"id": "u-7", "name": "Sam"})
    login(page, server)
    card = page.locator(f"#c-{held['id']}")
    assert "2 comments:" in card.locator(".author").inner_text()
    card.locator("details.more > summary").click()
    assert "an earlier comment, all fine" in card.locator("ul.recent").inner_text()
    card.locator("form.author-act select[name=action]").select_option("ban")
    card.locator("form.author-act input[name=reason]").fill("Sock puppet of a banned account")
    with page.expect_navigation():
        card.locator("form.author-act button[type=submit]").click()
    assert "Banned Sam." in page.inner_text(".flash")
    assert "banned" in page.locator(f"#c-{held['id']} .author").inner_text().lower()

    after = moderate(api, "a perfectly polite comment", author={"id": "u-7"})
    assert after["decision"] == "reject"
    assert after["reasons"][0]["category"] == "author_banned"

    page.locator(f"#c-{held['id']} a.author-link").click()
    page.wait_for_url("**/dashboard/authors/*")
    assert "Sock puppet of a banned account" in page.inner_text("#standing")
    assert "author.ban" in page.inner_text("table.audit")
    screenshot(page, "author", full_page=True)
    assert watched.dialogs == [] and watched.problems == []


def test_a_reader_report_moves_a_comment_into_reported(
    server, new_page, accounts, api, app, screenshot
):
    # Count refreshes every half second here (20 s in production).
    app.jinja_env.globals["count_refresh_ms"] = 500
    watched = new_page()
    page = watched.page
    shown = moderate(
        api,
        "Councillors should resign, all of them.",
        id="c-41",
        story_id="s-1",
        title="Budget vote",
    )
    assert shown["decision"] == "allow"
    login(page, server)
    reported_badge = page.locator('.nav-count[data-count="reported"]')
    assert reported_badge.inner_text() == "0"
    status, body = api(
        "POST",
        "/api/v1/comments/c-41/reports",
        {"reporter_id": "reader-9", "reason": "harassment", "text": "This names my father."},
    )
    assert status == 201 and body["comment"]["reported"] is True
    # The open page notices by itself.
    expect(reported_badge).to_have_text("1")
    page.locator('a[href="/dashboard/reported"]').click()
    page.wait_for_url("**/dashboard/reported")
    card = page.locator(f"#c-{shown['id']}")
    assert "1 report" in card.locator(".badge-reports").inner_text()
    assert "This names my father." in card.locator(".reports").inner_text()
    screenshot(page, "reported", full_page=True)
    card.locator("select[name=reason_code]").select_option("insult")
    card.locator("button[value=reject]").click()
    card.wait_for(state="detached")
    assert "0 reported comments" in page.inner_text("#count")
    status, comment = api("GET", "/api/v1/comments/c-41")
    assert (comment["status"], comment["human_decision"]) == ("reject", "reject")
    assert watched.dialogs == [] and watched.problems == []


def test_a_story_page_and_story_premoderation(server, new_page, accounts, api, screenshot):
    watched = new_page()
    page = watched.page
    moderate(
        api,
        "Great reporting on the verdict.",
        story_id="verdict-1",
        title="The verdict",
        url="https://news.example/verdict",
    )
    held = moderate(api, "kitten kitten kitten", story_id="verdict-1")
    moderate(api, "Unrelated thoughts.", story_id="other")
    login(page, server)
    page.locator(f"#c-{held['id']} .story-line a").first.click()
    page.wait_for_url("**/dashboard/stories/*")
    assert page.locator("h1").inner_text() == "The verdict"
    assert page.locator("article.card").count() == 2
    page.fill("#premoderation input[name=reason]", "The thread turned ugly after the verdict")
    with page.expect_navigation():
        page.click("#premoderation button[type=submit]")
    assert "Every new comment on this story is now held" in page.inner_text(".flash")
    assert "pre-moderated" in page.inner_text(".page-head").lower()
    after = moderate(api, "A calm and polite comment.", story_id="verdict-1")
    assert after["decision"] == "hold"
    assert [r["category"] for r in after["reasons"]] == ["story_premoderated"]
    assert moderate(api, "A calm and polite comment.", story_id="other")["decision"] == "allow"
    status, story = api("GET", "/api/v1/stories/verdict-1")
    assert story["premoderated"] is True and story["comments"]["held"] == 2
    page.reload()
    # The queue filtered to this story.
    page.click("text=queue for this story")
    page.wait_for_url("**/dashboard/?story=*")
    assert "2 held comments" in page.inner_text("#count")
    page.go_back()
    screenshot(page, "story", full_page=True)
    assert watched.dialogs == [] and watched.problems == []


def test_an_appeal_round_trip_needs_another_moderator(server, new_page, accounts, api, screenshot):
    watched = new_page()
    page = watched.page
    held = moderate(
        api, "You kitten, go back to school.", id="c-90", author={"id": "u-1", "name": "Kim"}
    )
    login(page, server, "mod")
    card = page.locator(f"#c-{held['id']}")
    card.locator("select[name=reason_code]").select_option("insult")
    card.locator("button[value=reject]").click()
    card.wait_for(state="detached")

    status, comment = api("GET", "/api/v1/comments/c-90")
    assert comment["statement"]["automated_decision"] is False
    assert comment["statement"]["appeal"]["possible"] is True
    status, opened = api(
        "POST",
        "/api/v1/comments/c-90/appeal",
        {"text": "Kitten is what I call my students. It is affectionate."},
    )
    assert status == 201

    page.goto(f"{server}/dashboard/appeals")
    section = page.locator(f"#appeal-{opened['appeal']['id']}")
    assert "It is affectionate." in section.locator(".appeal-text").inner_text()
    assert "You made this decision" in section.inner_text()
    assert section.locator("form.appeal-form").count() == 0

    second = new_page()
    admin_page = second.page
    login(admin_page, server, "admin")
    admin_page.goto(f"{server}/dashboard/appeals")
    section = admin_page.locator(f"#appeal-{opened['appeal']['id']}")
    section.locator("textarea[name=note]").fill("Read in context it is affectionate. Reinstated.")
    screenshot(admin_page, "appeals", full_page=True)
    with admin_page.expect_navigation():
        section.locator("button[value=reverse]").click()
    assert "Reversed the decision" in admin_page.inner_text(".flash")

    status, comment = api("GET", "/api/v1/comments/c-90")
    assert (comment["status"], comment["human_decision"], comment["decided_by"]) == (
        "allow",
        "approve",
        "admin",
    )
    assert comment["appeal"]["status"] == "reversed"
    admin_page.goto(f"{server}/dashboard/stats")
    assert admin_page.inner_text("#appeal-reversal-rate") == "100%"
    admin_page.goto(f"{server}/dashboard/audit")
    assert "appeal.reverse" in admin_page.inner_text("#audit")
    assert watched.problems == [] and second.problems == []


def test_a_long_comment_collapses_and_the_compact_queue_fits_more(
    server, new_page, accounts, api, screenshot
):
    long_text = FILLER * 40 + "Honestly you are a kitten. " + FILLER * 20
    assert len(long_text) > 9_000
    long = moderate(api, long_text, author={"id": "u-2", "name": "Lee"})
    assert long["decision"] == "hold"
    for n in range(8):
        moderate(api, f"Short comment number {n}, about a kitten.", author={"id": f"u-{n + 10}"})
    watched = new_page(width=1280, height=720)
    page = watched.page
    login(page, server)
    card = page.locator(f"#c-{long['id']}")
    excerpt = card.locator(".text.excerpt")
    assert "Honestly you are a kitten." in excerpt.inner_text()
    assert len(excerpt.inner_text()) < 600
    collapsed = card.bounding_box()["height"]
    assert collapsed < 450, collapsed
    card.click()
    page.keyboard.press("e")  # the whole text, one key away
    whole = card.locator("details.whole .text")
    whole.wait_for(state="visible")
    assert whole.inner_text() == long_text
    expanded = card.bounding_box()["height"]
    assert expanded > 3 * collapsed
    page.keyboard.press("e")

    comfortable = visible_cards(page)
    page.click("#density button")
    expect(page.locator("body")).to_have_class(re.compile("density-compact"))
    compact = visible_cards(page)
    assert compact > comfortable, (comfortable, compact)
    screenshot(page, "queue-compact")
    page.reload()  # the choice is remembered
    assert "density-compact" in page.get_attribute("body", "class")
    print(
        f"\ncard heights: collapsed {collapsed:.0f}px, expanded {expanded:.0f}px;"
        f" cards fully on a 1280x720 screen: {comfortable} comfortable, {compact} compact"
    )
    assert watched.dialogs == [] and watched.problems == []


def visible_cards(page) -> int:
    """Cards wholly inside the viewport with the page scrolled to the first card."""
    page.evaluate("document.querySelector('article.card').scrollIntoView({block: 'start'})")
    return page.evaluate(
        """() => [...document.querySelectorAll('article.card')].filter(card => {
            const box = card.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_decisions_with_and_without_javascript(server, new_page, accounts, api, javascript):
    watched = new_page(javascript=javascript)
    page = watched.page
    first = moderate(api, "first kitten")
    second = moderate(api, "second kitten")
    login(page, server)
    assert "2 held comments" in page.inner_text("#count")
    if javascript:
        page.evaluate("window.stillTheSamePage = true")
        page.locator(f"#c-{first['id']} button[value=approve]").click()
        page.locator(f"#c-{first['id']}").wait_for(state="detached")
        assert page.evaluate("window.stillTheSamePage") is True  # no reload
        assert "Approved comment" in page.inner_text("#live")
    else:
        with page.expect_navigation():
            page.locator(f"#c-{first['id']} button[value=approve]").click()
        assert page.locator(f"#c-{first['id']}").count() == 0
        assert "Approved comment" in page.inner_text(".flash")
    assert "1 held comment awaiting review" in page.inner_text("#count")
    assert page.locator('.nav-count[data-count="queue"]').inner_text() == "1"
    status, comment = api("GET", f"/api/v1/comments/{first['id']}")
    assert comment["human_decision"] == "approve"
    status, untouched = api("GET", f"/api/v1/comments/{second['id']}")
    assert untouched["human_decision"] is None
    assert watched.dialogs == [] and watched.problems == []


def test_a_decision_someone_else_made_first_is_shown_not_lost(server, new_page, accounts, api):
    watched = new_page()
    page = watched.page
    held = moderate(api, "a contested kitten")
    login(page, server)
    # Another moderator decides it meanwhile, in their own browser.
    other = new_page().page
    login(other, server, "admin")
    other.locator(f"#c-{held['id']} button[value=reject]").click()
    other.locator(f"#c-{held['id']}").wait_for(state="detached")
    page.locator(f"#c-{held['id']} button[value=approve]").click()
    expect(page.locator("#live")).to_contain_text("decided this comment already")
    card = page.locator(f"#c-{held['id']}")
    assert "rejected by admin" in card.inner_text()
    assert card.locator("form.decide").count() == 0
    status, comment = api("GET", f"/api/v1/comments/{held['id']}")
    assert (comment["human_decision"], comment["decided_by"]) == ("reject", "admin")
    # The refused decision is a 409 the script handles; the browser logs it, nothing else.
    assert all("409" in problem for problem in watched.problems), watched.problems
