"""Undo: a moderator takes back their own decision within the grace period; the comment
returns to the queue, the audit log keeps both, and the undone decision is never a label."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from moderator import storage
from moderator.storage import audit
from moderator.storage import review
from moderator.storage.tables import comments
from training.decisions import from_engine


@pytest.fixture
def decided(dashboard, hold_all, send_comment):
    """A comment held, then rejected by `mod` in the dashboard; its id."""
    comment_id = send_comment(hold_all, "a kitten comment")["id"]
    dashboard.login("mod")
    response = dashboard.post(
        f"/dashboard/comments/{comment_id}/decision",
        {"decision": "reject", "reason_code": "insult", "version": "1"},
    )
    assert response.status_code == 303
    return comment_id


def undo(dashboard, comment_id: str, version: str = "2"):
    return dashboard.post(f"/dashboard/comments/{comment_id}/undo", {"version": version})


def test_undo_returns_the_comment_to_the_queue_and_out_of_the_labels(dashboard, engine, decided):
    assert len(from_engine(engine)) == 1
    page = dashboard.client.get(f"/dashboard/comments/{decided}").get_data(as_text=True)
    assert "Undo my decision" in page
    response = undo(dashboard, decided)
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        item = review.get_comment(conn, decided)
        entries = audit.entries(conn, limit=2)
    assert item.status == "hold" and item.human_decision is None and item.reason_code is None
    assert [e["action"] for e in entries] == ["comment.undo", "comment.reject"]
    assert entries[0]["before"]["human_decision"] == "reject"
    assert from_engine(engine) == []
    queue = dashboard.client.get("/dashboard/").get_data(as_text=True)
    assert decided in queue


def test_only_the_moderator_who_decided_may_undo(dashboard, decided):
    dashboard.logout()
    dashboard.login("admin")
    page = dashboard.client.get(f"/dashboard/comments/{decided}").get_data(as_text=True)
    assert "Undo my decision" not in page
    response = undo(dashboard, decided)
    assert response.status_code == 409
    assert "Only the moderator who decided" in response.get_data(as_text=True)


def test_after_the_grace_period_the_decision_stands(dashboard, engine, decided):
    past = storage.now() - dt.timedelta(minutes=11)
    with storage.transaction(engine) as conn:
        conn.execute(update(comments).where(comments.c.id == decided).values(decided_at=past))
    page = dashboard.client.get(f"/dashboard/comments/{decided}").get_data(as_text=True)
    assert "Undo my decision" not in page
    response = undo(dashboard, decided)
    assert response.status_code == 409 and "has passed" in response.get_data(as_text=True)
    assert len(from_engine(engine)) == 1


def test_undoing_twice_or_an_undecided_comment_is_refused(dashboard, decided):
    assert undo(dashboard, decided).status_code == 303
    second = undo(dashboard, decided, "3")
    assert second.status_code == 409 and "nothing to undo" in second.get_data(as_text=True)


@pytest.mark.parametrize(
    "path, form, status",
    [
        ("/dashboard/comments/not-an-id!/undo", {"version": "2"}, 404),
        ("/dashboard/comments/" + "0" * 32 + "/undo", {"version": "2"}, 404),
        ("/dashboard/comments/ID/undo", {}, 400),
        ("/dashboard/comments/ID/undo", {"version": "two"}, 400),
        ("/dashboard/comments/ID/undo", {"version": "9" * 40}, 400),
    ],
    ids=["malformed-id", "unknown-id", "no-version", "text-version", "huge-version"],
)
def test_bad_undo_requests(dashboard, decided, path, form, status):
    response = dashboard.post(path.replace("ID", decided), form)
    assert response.status_code == status


def test_undo_needs_csrf_and_a_login(dashboard, client, decided):
    assert (
        client.post(f"/dashboard/comments/{decided}/undo", data={"version": "2"}).status_code == 400
    )
    dashboard.logout()
    response = client.post(f"/dashboard/comments/{decided}/undo", data={"version": "2"})
    assert response.status_code in (302, 303, 400)
    assert re.search(r"login", response.headers.get("Location", "login"))


def test_an_appealed_decision_is_left_to_the_appeal(dashboard, engine, decided):
    from moderator.storage import appeals

    with storage.transaction(engine) as conn:
        appeals.open_appeal(conn, review.get_comment(conn, decided), "I was quoting the insult")
    response = undo(dashboard, decided)
    assert response.status_code == 409 and "appealed" in response.get_data(as_text=True)
    with storage.reading(engine) as conn:
        assert review.get_comment(conn, decided).human_decision == "reject"
