"""The desk's storage: the 0005 migration links old comments, keys rotate with a grace period,
reports count once, appeals resolve once and never by the moderator who decided."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from moderator import auth
from moderator import storage
from moderator.storage import appeals as appeals_store
from moderator.storage import authors as authors_store
from moderator.storage import reports as reports_store
from moderator.storage import review
from moderator.storage import sites
from moderator.storage import stories as stories_store
from moderator.storage.tables import comments
from moderator.storage.tables import sites as sites_table

pytestmark = pytest.mark.all_databases


@pytest.fixture
def db(database_url):
    engine = storage.make_engine(database_url)
    storage.upgrade(engine)
    yield engine
    engine.dispose()


def insert(conn, site_id: int, comment_id: str, **values) -> None:
    row = {
        "id": comment_id,
        "site_id": site_id,
        "external_id": None,
        "text": "hello",
        "author_id": None,
        "author_name": None,
        "url": None,
        "parent_text": None,
        "decision": "allow",
        "status": "allow",
        "scores": {"toxicity": 0.1},
        "reasons": [],
        "model": "m@1",
        "created_at": storage.now(),
    }
    row.update(values)
    conn.execute(comments.insert().values(row))


def test_the_desk_migration_links_existing_comments(database_url):
    """From the first schema with comments stored: SQLite's table rebuilds (batch mode) of
    `sites`, which comments reference, must not trip over the foreign keys."""
    engine = storage.make_engine(database_url)
    try:
        storage.upgrade(engine, "0001")
        old = storage.now() - dt.timedelta(days=3)
        with engine.begin() as conn:
            site_id = conn.execute(
                text(
                    "INSERT INTO sites (name, key_hash, key_prefix, created_at, block_words,"
                    " suspect_words, allow_words)"
                    " VALUES ('old', :h, 'mod_o', :at, '[]', '[]', '[]') RETURNING id"
                ),
                {"h": "b" * 64, "at": old},
            ).scalar_one()
            old_comments = sa_comments()
            for n, (author, name, url, scores) in enumerate(
                [
                    ("u1", "Ann", "https://x.example/a", {"toxicity": 0.2, "insult": 0.7}),
                    ("u1", "Annie", "https://x.example/a", {"toxicity": 0.1}),
                    ("u2", None, "https://x.example/b", {}),
                    (None, None, None, {"toxicity": 0.3}),
                ]
            ):
                conn.execute(
                    old_comments.insert().values(
                        id=f"c{n}",
                        site_id=site_id,
                        text="t",
                        author_id=author,
                        author_name=name,
                        url=url,
                        decision="allow",
                        status="allow",
                        scores=scores,
                        reasons=[],
                        created_at=old + dt.timedelta(minutes=n),
                    )
                )
        storage.upgrade(engine)
        with engine.connect() as conn:
            site = sites.get_site_by_name(conn, "old")
            assert (site.report_threshold, site.appeal_days, site.new_author_premoderation) == (
                1,
                14,
                0,
            )
            ann = authors_store.get_author(conn, site.id, "u1")
            assert ann.name == "Annie"  # the newest name
            assert ann.first_seen_at == old
            assert authors_store.get_author(conn, site.id, "u2") is not None
            rows = {r.id: r for r in conn.execute(select(comments))}
            assert rows["c0"].story == rows["c1"].story != rows["c2"].story
            assert rows["c3"].story is None
            story = stories_store.find_story(conn, site.id, "https://x.example/a")
            assert story.id == rows["c0"].story
            assert rows["c0"].top_score == pytest.approx(0.7)
            assert rows["c2"].top_score is None
            assert rows["c0"].report_count == 0
        with engine.begin() as conn:
            command.downgrade(storage._alembic_config(conn), "0001")
        assert "authors" not in inspect(engine).get_table_names()
        assert "story" not in {c["name"] for c in inspect(engine).get_columns("comments")}
    finally:
        engine.dispose()


def sa_comments():
    import sqlalchemy as sa

    return sa.table(
        "comments",
        *(
            sa.column(name)
            for name in (
                "id", "site_id", "text", "author_id", "author_name", "url",
                "decision", "status", "reasons", "created_at",
            )
        ),
        sa.column("scores", sa.JSON),
        sa.column("reasons", sa.JSON),
    )  # fmt: skip


# -- key rotation --------------------------------------------------------------------------------


def new_site(db, name="example") -> str:
    key = auth.generate_key()
    with storage.transaction(db) as conn:
        sites.create_site(conn, name, auth.hash_key(key), auth.display_prefix(key))
    return key


def rotate(db, name, grace) -> str:
    key = auth.generate_key()
    with storage.transaction(db) as conn:
        sites.rotate_key(conn, name, auth.hash_key(key), auth.display_prefix(key), grace)
    return key


def active(db, key):
    with storage.reading(db) as conn:
        return sites.find_active_site(conn, auth.hash_key(key))


def test_a_rotated_key_keeps_working_for_its_grace_period(db):
    first = new_site(db)
    second = rotate(db, "example", dt.timedelta(hours=24))
    assert active(db, first).name == active(db, second).name == "example"
    # When the grace period ends, the old key stops.
    with storage.transaction(db) as conn:
        conn.execute(
            update(sites_table).values(
                previous_key_expires_at=storage.now() - dt.timedelta(seconds=1)
            )
        )
    assert active(db, first) is None and active(db, second) is not None
    # A second rotation ends the first key at once: two keys at most.
    third = rotate(db, "example", dt.timedelta(hours=1))
    assert active(db, second) is not None and active(db, third) is not None
    fourth = rotate(db, "example", dt.timedelta(hours=1))
    assert active(db, second) is None
    assert active(db, third) is not None and active(db, fourth) is not None


def test_a_rotation_without_grace_or_a_revocation_stops_old_keys_now(db):
    first = new_site(db)
    second = rotate(db, "example", dt.timedelta(0))
    assert active(db, first) is None and active(db, second) is not None
    third = rotate(db, "example", dt.timedelta(hours=5))
    with storage.transaction(db) as conn:
        sites.revoke_site(conn, "example")
    assert active(db, second) is None and active(db, third) is None


def test_rotations_are_audited_and_checked(db):
    new_site(db)
    rotate(db, "example", dt.timedelta(hours=2))
    with storage.reading(db) as conn:
        entries, _ = review.audit_entries(conn, review.AuditFilter(action="site.rotate_key"))
    [entry] = entries
    assert entry.actor == "cli"
    assert entry.before["key_prefix"] != entry.after["key_prefix"]
    assert entry.after["previous_key_expires_at"]
    with pytest.raises(sites.SiteError, match="grace period"):
        rotate(db, "example", dt.timedelta(days=31))
    with pytest.raises(sites.SiteError, match="no site named"):
        rotate(db, "ghost", dt.timedelta(0))
    with storage.transaction(db) as conn:
        sites.revoke_site(conn, "example")
    with pytest.raises(sites.SiteError, match="revoked"):
        rotate(db, "example", dt.timedelta(0))


def test_desk_settings_are_bounded_and_audited(db):
    new_site(db)
    with storage.transaction(db) as conn:
        site = sites.set_desk_setting(conn, "example", "report_threshold", 3)
        assert site.report_threshold == 3
        for setting, value in (
            ("report_threshold", 0),
            ("appeal_days", -1),
            ("appeal_days", True),
            ("nope", 1),
        ):
            with pytest.raises(sites.SiteError):
                sites.set_desk_setting(conn, "example", setting, value)
        entries, _ = review.audit_entries(conn, review.AuditFilter(action="site.report_threshold"))
    assert entries[0].before == {"report_threshold": 1} and entries[0].after == {
        "report_threshold": 3
    }


# -- reports and appeals -------------------------------------------------------------------------


@pytest.fixture
def site_id(db) -> int:
    new_site(db)
    with storage.reading(db) as conn:
        return sites.get_site_by_name(conn, "example").id


def test_reports_count_once_per_reporter_and_only_open_while_allowed(db, site_id):
    with storage.transaction(db) as conn:
        insert(conn, site_id, "shown")
        insert(conn, site_id, "held", status="hold", decision="hold")
        _, new = reports_store.add_report(conn, site_id, "shown", "r1", "spam", None)
        assert new
        _, new = reports_store.add_report(conn, site_id, "shown", "r1", "abuse", "again")
        assert not new
        reports_store.add_report(conn, site_id, "held", "r1", "abuse", None)
        with pytest.raises(ValueError):
            reports_store.add_report(conn, site_id, "shown", "r2", "ugly", None)
    with storage.reading(db) as conn:
        shown = review.get_comment(conn, "shown")
        held = review.get_comment(conn, "held")
    assert (shown.report_count, shown.open_reports, shown.reported) == (1, 1, True)
    assert (held.report_count, held.open_reports) == (1, 0)


def test_a_reported_comment_can_be_reviewed_again_which_closes_its_reports(db, site_id):
    with storage.transaction(db) as conn:
        insert(conn, site_id, "c1")
        assert review.decide_comment(conn, "c1", decision="approve", actor="ann").ok
        # Decided, and nothing new: not reviewable.
        assert (
            review.decide_comment(conn, "c1", decision="reject", actor="bob").problem
            == "already_decided"
        )
        reports_store.add_report(conn, site_id, "c1", "r1", "abuse", None)
        version = review.get_comment(conn, "c1").version
        outcome = review.decide_comment(
            conn,
            "c1",
            decision="reject",
            actor="bob",
            reason_code="insult",
            expected_version=version,
        )
        assert outcome.ok
        assert (outcome.comment.status, outcome.comment.open_reports) == ("reject", 0)
        assert outcome.comment.report_count == 1
    with storage.reading(db) as conn:
        labels = list(review.human_labels(conn))
    assert [(x.comment_id, x.human_decision) for x in labels] == [("c1", "reject")]


def open_appeal(db, comment_id, text="please"):
    with storage.transaction(db) as conn:
        return appeals_store.open_appeal(conn, review.get_comment(conn, comment_id), text)


def test_an_appeal_is_resolved_once_and_not_by_the_decider(db, site_id):
    with storage.transaction(db) as conn:
        insert(conn, site_id, "c1", decision="hold", status="hold")
        review.decide_comment(conn, "c1", decision="reject", actor="ann", reason_code="insult")
    appeal = open_appeal(db, "c1")
    assert appeal.decided_by == "ann"
    with pytest.raises(appeals_store.AlreadyAppealed):
        open_appeal(db, "c1")
    with storage.transaction(db) as conn:
        refused = appeals_store.resolve_appeal(conn, appeal.id, "reverse", actor="ann", note="n")
    assert refused.problem == "same_moderator"
    with storage.transaction(db) as conn:
        done = appeals_store.resolve_appeal(conn, appeal.id, "reverse", actor="bob", note="fair")
    assert done.ok and done.appeal.status == "reversed"
    assert (done.comment.status, done.comment.human_decision, done.comment.decided_by) == (
        "allow",
        "approve",
        "bob",
    )
    with storage.transaction(db) as conn:
        again = appeals_store.resolve_appeal(conn, appeal.id, "uphold", actor="cid", note="n")
    assert again.problem == "resolved"
    with storage.reading(db) as conn:
        trail, _ = review.audit_entries(conn, review.AuditFilter(subject=f"appeal:{appeal.id}"))
        labels = [(x.comment_id, x.human_decision, x.decided_by) for x in review.human_labels(conn)]
    assert [e.action for e in trail] == ["appeal.reverse", "appeal.open"]
    assert labels == [("c1", "approve", "bob")]


def test_upholding_an_automatic_rejection_records_a_person_and_is_final(db, site_id):
    from moderator.desk import statements

    with storage.transaction(db) as conn:
        insert(conn, site_id, "c1", decision="reject", status="reject")
    appeal = open_appeal(db, "c1")
    assert appeal.decided_by is None
    with storage.transaction(db) as conn:
        done = appeals_store.resolve_appeal(
            conn, appeal.id, "uphold", actor="ann", note="stands", reason_code="threat"
        )
    assert done.ok
    assert (done.comment.human_decision, done.comment.reason_code) == ("reject", "threat")
    with storage.reading(db) as conn:
        comment = review.get_comment(conn, "c1")
        history = appeals_store.appeals_of(conn, ["c1"])["c1"]
    window = statements.appeal_window(comment, 14, history, storage.now())
    assert window.refusal == "already_appealed"


def test_deciding_an_automatic_rejection_under_appeal_resolves_the_appeal(db, site_id):
    with storage.transaction(db) as conn:
        insert(conn, site_id, "c1", decision="reject", status="reject")
    appeal = open_appeal(db, "c1")
    with storage.transaction(db) as conn:
        assert review.decide_comment(conn, "c1", decision="approve", actor="ann", note="ok").ok
        resolved = appeals_store.get_appeal(conn, appeal.id)
    assert (resolved.status, resolved.resolved_by) == ("reversed", "ann")
