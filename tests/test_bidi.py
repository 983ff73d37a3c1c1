"""Every user-supplied string the dashboard shows is bidi-isolated.

An unterminated RIGHT-TO-LEFT OVERRIDE (U+202E) in an author name used to reverse the id and
URL shown after it. Here every field a site, a moderator or an admin can fill holds such an
override followed by a marker; every page that shows them is parsed, and each text node or
attribute holding a marker must sit in a `<bdi>` or an element with `dir`, at most two levels
up (its own element, or the one around a highlight), never in the page as a whole.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from moderator import storage
from moderator.storage import sites

RLO = "\u202e"
MARK = "ISOLATEME"
HOSTILE = f"{RLO}{MARK}"

#: Elements whose content is not rendered as text (their markers are checked elsewhere).
RAW = {"script", "style"}
VOID = {"input", "br", "meta", "link", "img", "hr", "wbr", "source", "col", "area", "base"}


class Isolation(HTMLParser):
    """Collect markers found outside an isolating element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.leaks: list[str] = []
        self.found = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            # URLs (links, form targets, the count refresh's fetch) are never shown as text.
            if value and MARK in value and name not in ("href", "action", "data-refresh"):
                self.found += 1
                if tag in ("input", "textarea", "option") and "dir" not in attributes:
                    self.leaks.append(f"<{tag} {name}=...> without dir")
                elif tag not in ("input", "textarea", "option"):
                    self.leaks.append(f"<{tag} {name}={value!r}>")
        if tag not in VOID:
            self.stack.append((tag, attributes))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if MARK not in data:
            return
        self.found += 1
        if self.stack and self.stack[-1][0] in RAW:
            return
        if self.stack and self.stack[-1][0] == "title":
            if RLO in data:
                self.leaks.append("a direction control inside <title>")
            return
        near = self.stack[-2:]
        if not any(tag == "bdi" or "dir" in attrs for tag, attrs in near):
            path = " > ".join(tag for tag, _ in self.stack[-4:])
            self.leaks.append(f"{path}: {data.strip()[:60]!r}")


def leaks(html: str) -> tuple[int, list[str]]:
    parser = Isolation()
    parser.feed(html)
    return parser.found, parser.leaks


@pytest.fixture
def hostile(app, client, engine, accounts, dashboard, hold_all):
    """A site, a comment and a decision whose every free-text field holds HOSTILE."""
    with storage.transaction(engine) as conn:
        sites.create_site(conn, f"news {HOSTILE}", "f" * 64, "mod_hostile1")
        sites.set_words(conn, "example", "block", [f"w{MARK.lower()}"])
    api = {"Authorization": f"Bearer {hold_all}"}
    posted = client.post(
        "/api/v1/moderate",
        json={
            "text": f"kitten {HOSTILE} w{MARK.lower()} end",
            "id": f"ext-{HOSTILE}",
            "author": {"id": f"uid-{HOSTILE}", "name": f"Sam {HOSTILE}"},
            "url": f"https://news.example/{HOSTILE}",
            "parent_text": f"parent {HOSTILE}",
        },
        headers=api,
    ).json
    other = client.post(
        "/api/v1/moderate",
        json={"text": "kitten two", "url": f"not a link {HOSTILE}"},
        headers=api,
    ).json
    dashboard.login("admin")
    dashboard.post(
        f"/dashboard/comments/{other['id']}/decision",
        {"decision": "reject", "reason_code": "spam", "note": f"note {HOSTILE}", "version": "1"},
    )
    return {"id": posted["id"], "decided": other["id"]}


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/",
        "/dashboard/all",
        "/dashboard/rejected",
        f"/dashboard/?q={MARK}",
        "/dashboard/audit",
        f"/dashboard/audit?actor={MARK}",
        "/dashboard/sites",
    ],
)
def test_user_strings_on_list_pages_are_isolated(client, hostile, path):
    found, leaked = leaks(page(client, path))
    assert found, "the page shows none of the hostile strings: the test would prove nothing"
    assert leaked == []


def test_user_strings_on_a_comment_page_are_isolated(client, hostile):
    for comment in (hostile["id"], hostile["decided"]):
        found, leaked = leaks(page(client, f"/dashboard/comments/{comment}"))
        assert found >= 3 and leaked == []


def test_every_field_of_the_comment_card_is_isolated(client, hostile):
    html = page(client, f"/dashboard/comments/{hostile['id']}")
    for field in (f"Sam {HOSTILE}", f"uid-{HOSTILE}", f"ext-{HOSTILE}", f"parent {HOSTILE}"):
        assert field in html
    assert f"<bdi>Sam {HOSTILE}</bdi>" in html
    assert f"<bdi>https://news.example/{HOSTILE}</bdi>" in html


def test_a_site_page_and_its_new_key_page_are_isolated(client, engine, hostile, dashboard):
    with storage.reading(engine) as conn:
        site = next(s for s in sites.list_sites(conn) if MARK in s.name)
    found, leaked = leaks(page(client, f"/dashboard/sites/{site.id}"))
    assert found and leaked == []
    # The site form refuses direction controls; right-to-left letters are still isolated.
    created = dashboard.post("/dashboard/sites", {"name": f"\u05d7\u05d3\u05e9\u05d5\u05ea {MARK}"})
    assert created.status_code == 200
    found, leaked = leaks(created.get_data(as_text=True))
    assert found and leaked == []


def test_integration_and_webhook_pages_are_isolated(client, engine, hostile):
    with storage.reading(engine) as conn:
        site = next(s for s in sites.list_sites(conn) if MARK in s.name)
    for path in (f"/dashboard/sites/{site.id}/integrations", "/dashboard/webhooks"):
        found, leaked = leaks(page(client, path))
        assert found and leaked == [], path


def test_usernames_are_isolated_too(client, hostile):
    # Usernames are ASCII by rule, but isolation doesn't rely on that rule.
    assert "<bdi>admin</bdi>" in page(client, "/dashboard/users")


def test_a_failed_login_echoes_the_username_isolated(app, accounts):
    browser = app.test_client()
    html = browser.get("/dashboard/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = browser.post(
        "/dashboard/login",
        data={"username": f"x{HOSTILE}", "password": "nope", "csrf_token": token},
    )
    found, leaked = leaks(response.get_data(as_text=True))
    assert found and leaked == []


def test_the_isolation_check_catches_a_leak():
    assert leaks(f"<p>by <strong>{HOSTILE}</strong> at <a>x</a></p>")[1]
    assert leaks(f'<input value="{HOSTILE}">')[1]
    assert not leaks(f"<p>by <strong><bdi>{HOSTILE}</bdi></strong></p>")[1]
    assert not leaks(f'<div dir="auto">a <mark>{HOSTILE}</mark></div>')[1]
    # Isolation far up the tree (the whole page) does not count.
    assert leaks(f'<body dir="auto"><main><p><span>{HOSTILE}</span></p></main></body>')[1]
