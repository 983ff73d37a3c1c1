"""The dashboard in a real browser: Debian's chromium driven by Playwright, app on localhost.

Playwright never downloads a browser here: it launches /usr/bin/chromium, and the test is
skipped only when that binary is missing (CI installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
HOSTILE = "<img src=x onerror=alert(1)>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package)"),
]


def test_review_in_a_real_browser(
    server, browser_page, accounts, hold_all, send_comment, screenshot
):
    page = browser_page
    hostile = send_comment(
        hold_all,
        HOSTILE,
        author={"name": "<script>alert('name')</script>"},
        url="javascript:alert(2)",
    )["id"]
    kitten = send_comment(
        hold_all,
        "what a kitten you are",
        url="https://news.example/a",
        parent_text="The parent comment, <b>not bold</b>",
    )["id"]
    later = send_comment(hold_all, "a third comment, left in the queue")["id"]

    dialogs: list[str] = []
    problems: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )

    # Anonymous: the queue sends us to the login form.
    page.goto(f"{server}/dashboard/")
    assert "/dashboard/login" in page.url
    page.fill("input[name=username]", "mod")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == f"{server}/dashboard/"
    assert "3 held comments awaiting review" in page.inner_text("#count")

    # Hostile HTML is text: no <img> element, no dialog, no script from the author's name.
    card = page.locator(f"#c-{hostile}")
    assert card.locator(".text").inner_text() == HOSTILE
    assert card.locator(".text img").count() == 0
    assert page.locator("img").count() == 0
    assert "<script>alert('name')</script>" in card.locator(".author").inner_text()
    assert card.locator("a[href^='javascript:']").count() == 0
    link = page.locator(f"#c-{kitten} .story-line a[target=_blank]")
    assert link.get_attribute("href") == "https://news.example/a"
    assert "noopener" in link.get_attribute("rel")
    assert "kitten" in page.locator(f"#c-{kitten} .text mark").all_inner_texts()
    assert "<b>not bold</b>" in page.locator(f"#c-{kitten} blockquote.parent").inner_text()

    screenshot(page, "queue", full_page=True)

    # j/k move the cursor; ? opens the help.
    assert "current" in (card.get_attribute("class") or "")
    page.keyboard.press("j")
    assert "current" in (page.locator(f"#c-{kitten}").get_attribute("class") or "")
    page.keyboard.press("k")
    assert "current" in (card.get_attribute("class") or "")
    page.keyboard.press("?")
    assert page.locator("dialog#help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("dialog#help").is_visible()

    # a approves the current comment (the hostile one, oldest first), without a reload:
    # the card goes, the count follows.
    page.keyboard.press("a")
    page.locator(f"#c-{hostile}").wait_for(state="detached")
    assert "Approved comment" in page.inner_text("#live")
    assert "2 held comments" in page.inner_text("#count")

    # The cursor stays in place, now on the next comment: n to write a note, Esc, r to reject.
    assert "current" in (page.locator(f"#c-{kitten}").get_attribute("class") or "")
    page.keyboard.press("n")
    note = page.locator(f"#c-{kitten} textarea[name=note]")
    assert note.evaluate("element => element === document.activeElement")
    page.keyboard.type("Name-calling; see rule 3 <b>ok</b>")
    page.keyboard.press("Escape")
    page.select_option(f"#c-{kitten} select[name=reason_code]", "insult")
    page.keyboard.press("r")
    page.locator(f"#c-{kitten}").wait_for(state="detached")
    assert "Rejected comment" in page.inner_text("#live")
    assert "1 held comment awaiting review" in page.inner_text("#count")
    assert page.locator(f"#c-{later}").count() == 1

    # The audit log shows both decisions, by whom, with the note as text.
    page.goto(f"{server}/dashboard/audit")
    audit = page.inner_text("#audit")
    assert "comment.approve" in audit and "comment.reject" in audit
    assert "Name-calling; see rule 3 <b>ok</b>" in audit
    assert audit.count("mod") >= 2
    screenshot(page, "audit", full_page=True)

    # The site's API sees the human decisions at once.
    headers = {"Authorization": f"Bearer {hold_all}"}
    approved = page.request.get(f"{server}/api/v1/comments/{hostile}", headers=headers).json()
    assert (approved["status"], approved["human_decision"], approved["decided_by"]) == (
        "allow",
        "approve",
        "mod",
    )
    rejected = page.request.get(f"{server}/api/v1/comments/{kitten}", headers=headers).json()
    assert (rejected["status"], rejected["human_decision"]) == ("reject", "reject")
    assert rejected["note"] == "Name-calling; see rule 3 <b>ok</b>"
    assert rejected["reason_code"] == "insult"

    # Stats render (inline SVG, no external requests needed).
    page.goto(f"{server}/dashboard/stats")
    assert page.locator("svg").count() >= 2
    screenshot(page, "stats", full_page=True)

    assert dialogs == []
    assert problems == []


def test_corals_queue_keys_f_and_d_work_too(server, browser_page, accounts, hold_all, send_comment):
    # Coral's moderation queue approves with f and rejects with d; moderators moving from
    # Coral keep their habits.
    page = browser_page
    first = send_comment(hold_all, "first held comment")["id"]
    second = send_comment(hold_all, "second held comment")["id"]
    page.goto(f"{server}/dashboard/login")
    page.fill("input[name=username]", "mod")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "2 held comments awaiting review" in page.inner_text("#count")
    # Decisions are sent without a reload: the card leaves, the live region says what happened.
    page.keyboard.press("f")
    page.locator(f"#c-{first}").wait_for(state="detached")
    assert "Approved comment" in page.inner_text("#live")
    page.keyboard.press("d")
    page.locator(f"#c-{second}").wait_for(state="detached")
    assert "Rejected comment" in page.inner_text("#live")
    headers = {"Authorization": f"Bearer {hold_all}"}
    approved = page.request.get(f"{server}/api/v1/comments/{first}", headers=headers).json()
    rejected = page.request.get(f"{server}/api/v1/comments/{second}", headers=headers).json()
    assert (approved["human_decision"], rejected["human_decision"]) == ("approve", "reject")
    page.keyboard.press("?")
    help_text = page.inner_text("dialog#help")
    assert "as in Coral" in help_text
