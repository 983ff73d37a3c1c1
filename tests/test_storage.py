"""Storage: the migration matches the tables, constraints hold, writes are all-or-nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from moderator import storage
from moderator.storage import audit
from moderator.storage import comments as comments_store
from moderator.storage import sites
from moderator.storage.tables import audit_log
from moderator.storage.tables import comments
from moderator.storage.tables import metadata
from moderator.storage.tables import sites as sites_table
from moderator.storage.tables import users

pytestmark = pytest.mark.all_databases


@pytest.fixture
def db(database_url):
    """A migrated engine on the test database, without the app."""
    engine = storage.make_engine(database_url)
    storage.upgrade(engine)
    yield engine
    engine.dispose()


def make_comment(site_id: int, external_id: str | None = None, **values) -> comments_store.Comment:
    fields = {
        "id": uuid.uuid4().hex,
        "site_id": site_id,
        "external_id": external_id,
        "text": "hello",
        "author_id": None,
        "author_name": None,
        "url": None,
        "parent_text": None,
        "decision": "allow",
        "status": "allow",
        "scores": {"toxicity": 0.01},
        "reasons": [],
        "model": "test@1",
        "created_at": storage.now(),
    }
    fields.update(values)
    return comments_store.Comment(**fields)


def new_site(engine, name: str = "example") -> sites.Site:
    with storage.transaction(engine) as conn:
        return sites.create_site(conn, name, name.encode().hex().ljust(64, "0"), "mod_test")


def test_migrations_create_exactly_the_declared_schema(db):
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    names = set(inspect(db).get_table_names())
    assert {
        "sites", "comments", "users", "audit_log", "sessions", "alembic_version", "site_secrets",
        "webhook_endpoints", "webhook_deliveries", "webhook_attempts",
        "stories", "authors", "reports", "appeals", "model_promotions", "generations",
    } == names  # fmt: skip


def test_schema_has_the_columns_the_dashboard_builds_on(db):
    inspector = inspect(db)
    columns = {t: {c["name"] for c in inspector.get_columns(t)} for t in metadata.tables}
    assert columns["sites"] == {
        "id", "name", "key_hash", "key_prefix", "created_at", "revoked_at",
        "thresholds", "block_words", "suspect_words", "allow_words", "wordlist_action",
        "report_threshold", "appeal_days", "new_author_premoderation",
        "previous_key_hash", "previous_key_prefix", "previous_key_expires_at",
        "unsupported_language", "perspective_reflects_decision", "languages",
    }  # fmt: skip
    assert columns["comments"] == {
        "id", "site_id", "external_id", "text", "author_id", "author_name", "url",
        "parent_text", "decision", "status", "scores", "reasons", "model", "created_at",
        "human_decision", "decided_by", "decided_at", "note", "reason_code", "version",
        "story", "top_score", "report_count", "open_reports",
        "language", "door", "context",
    }  # fmt: skip
    assert columns["users"] == {
        "id", "username", "password_hash", "role", "created_at", "disabled",
    }  # fmt: skip
    assert columns["audit_log"] == {
        "id", "at", "actor", "action", "comment_id", "site_id", "note", "before", "after",
        "subject",
    }  # fmt: skip
    indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("comments")}
    assert {("status", "created_at"), ("site_id", "created_at")} <= indexes


def test_upgrade_is_idempotent_and_downgrade_reverses_it(db):
    storage.upgrade(db)
    assert storage.ping(db)
    with db.begin() as conn:
        command.downgrade(storage._alembic_config(conn), "base")
    assert set(inspect(db).get_table_names()) <= {"alembic_version"}
    assert not storage.ping(db)
    storage.upgrade(db)
    assert storage.ping(db)


def test_instances_migrating_together_on_a_fresh_database_all_start(database_url, tmp_path):
    """Replicas started together each migrate at start: one migrates, the others wait for it
    and find the schema current. Before the migration lock, all but one failed with 'table
    sites already exists' (SQLite) or a duplicate key in PostgreSQL's catalog."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MODERATOR_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    starts = [
        subprocess.Popen(
            [sys.executable, "-m", "moderator", "init-db"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [start.communicate(timeout=120)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0, 0], outputs
    engine = storage.make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert storage.current_revision(conn) == storage.head_revision()
        assert storage.ping(engine)
    finally:
        engine.dispose()


def test_upgrading_a_current_sqlite_database_takes_no_write_lock(db):
    """A database already at head is only read: an instance starting while another process
    holds the write lock (a long batch, a migration elsewhere) neither waits for it nor fails."""
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    import sqlite3

    holder = sqlite3.connect(db.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    quick = storage.make_engine(str(db.url), timeout=0.5)
    try:
        storage.upgrade(quick)  # taking the lock would fail: database is locked
        with quick.connect() as conn:
            assert storage.current_revision(conn) == storage.head_revision()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        quick.dispose()


def test_sqlite_gets_wal_foreign_keys_and_busy_timeout(db):
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        # The busy timeout is the engine's timeout (MODERATOR_DATABASE_TIMEOUT in the app).
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == db.storage_timeout * 1000
    quick = storage.make_engine(str(db.url), timeout=2.5)
    with quick.connect() as conn:
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 2500
    quick.dispose()


def test_postgres_sessions_get_the_engine_timeout(db):
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL settings")
    quick = storage.make_engine(db.url.render_as_string(hide_password=False), timeout=2.5)
    with quick.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "2500ms"
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "2500ms"
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "1min"
    quick.dispose()


def test_comment_for_a_missing_site_violates_the_foreign_key(db):
    with pytest.raises(exc.IntegrityError), storage.transaction(db) as conn:
        comments_store.insert_comment(conn, make_comment(site_id=999))


def test_external_id_is_unique_per_site_and_null_ids_never_collide(db):
    one, two = new_site(db, "one"), new_site(db, "two")
    with storage.transaction(db) as conn:
        assert comments_store.insert_comment(conn, make_comment(one.id, "a"))
        assert not comments_store.insert_comment(conn, make_comment(one.id, "a", text="dup"))
        assert comments_store.insert_comment(conn, make_comment(two.id, "a"))
        assert comments_store.insert_comment(conn, make_comment(one.id, None))
        assert comments_store.insert_comment(conn, make_comment(one.id, None))
    with db.connect() as conn:
        assert comments_store.count_comments(conn, one.id) == 3
        found = comments_store.find_by_external_ids(conn, one.id, ["a", "b"])
        assert list(found) == ["a"] and found["a"].text == "hello"
    with pytest.raises(exc.IntegrityError), db.begin() as conn:
        conn.execute(comments.insert().values(make_comment(one.id, "a").values()))


def test_check_constraints_reject_unknown_states(db):
    site = new_site(db)
    for bad in ({"decision": "maybe"}, {"status": "deleted"}, {"human_decision": "allow"}):
        with pytest.raises(exc.IntegrityError), storage.transaction(db) as conn:
            comments_store.insert_comment(conn, make_comment(site.id, **bad))
    with pytest.raises(exc.IntegrityError), db.begin() as conn:
        conn.execute(
            users.insert().values(
                username="x", password_hash="h", role="root", created_at=storage.now()
            )
        )


def test_failed_transaction_leaves_nothing_behind(db):
    site = new_site(db)
    with pytest.raises(RuntimeError), storage.transaction(db) as conn:
        comments_store.insert_comment(conn, make_comment(site.id, "kept?"))
        raise RuntimeError("crash after the insert")
    with db.connect() as conn:
        assert comments_store.count_comments(conn) == 0


def test_comment_round_trips_with_json_and_aware_utc_timestamps(db):
    site = new_site(db)
    created = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    reasons = [
        {
            "category": "insult",
            "score": 0.9,
            "source": "classifier",
            "words": ["x"],
            "spans": [[0, 1]],
        }
    ]
    comment = make_comment(
        site.id,
        "r1",
        text="Zoë \u202e <b>",
        scores={"insult": 0.9, "toxicity": 0.95},
        reasons=reasons,
        created_at=created,
    )
    with storage.transaction(db) as conn:
        comments_store.insert_comment(conn, comment)
    with db.connect() as conn:
        loaded = comments_store.get_comment(conn, site.id, comment.id)
        assert comments_store.get_comment(conn, site.id + 1, comment.id) is None
    assert loaded == comment
    assert loaded.created_at.tzinfo is dt.UTC
    assert loaded.to_dict()["created_at"] == "2026-01-02T03:04:05.678901Z"


def test_site_lifecycle_is_audited(db):
    with storage.transaction(db) as conn:
        site = sites.create_site(conn, "news", "f" * 64, "mod_abcdefgh")
        with pytest.raises(sites.SiteError, match="already exists"):
            sites.create_site(conn, "news", "e" * 64, "mod_x")
    with storage.transaction(db) as conn:
        sites.set_thresholds(conn, "news", {"insult": {"hold": 0.3, "reject": 0.7}})
        sites.set_words(conn, "news", "block", ["b", " a ", "", "a"])
        revoked = sites.revoke_site(conn, "news")
    assert revoked.revoked_at is not None and not revoked.active
    assert revoked.block_words == ("a", "b")
    assert revoked.thresholds == {"insult": {"hold": 0.3, "reject": 0.7}}
    with db.connect() as conn:
        assert sites.find_active_site(conn, "f" * 64) is None
        entries = audit.entries(conn, site_id=site.id)
    assert [e["action"] for e in reversed(entries)] == [
        "site.create",
        "site.thresholds",
        "site.block_words",
        "site.revoke",
    ]
    assert all(e["actor"] == "cli" for e in entries)
    block = next(e for e in entries if e["action"] == "site.block_words")
    assert block["before"] == {"block_words": []}
    assert block["after"] == {"block_words": ["a", "b"]}


def test_wordlist_action_defaults_to_reject_is_set_and_audited(db):
    site = new_site(db)
    assert site.wordlist_action == "reject"
    with storage.transaction(db) as conn:
        updated = sites.set_wordlist_action(conn, "example", "hold", actor="maria")
    assert updated.wordlist_action == "hold"
    assert updated.settings()["wordlist_action"] == "hold"
    with db.connect() as conn:
        [entry] = [e for e in audit.entries(conn, site_id=site.id) if "wordlist" in e["action"]]
    assert entry["action"] == "site.wordlist_action" and entry["actor"] == "maria"
    assert (entry["before"], entry["after"]) == (
        {"wordlist_action": "reject"},
        {"wordlist_action": "hold"},
    )


@pytest.mark.parametrize("action", ["", "allow", "REJECT", "hold ", None, 1])
def test_wordlist_action_refuses_unknown_values(db, action):
    new_site(db)
    with pytest.raises(sites.SiteError, match="must be one of reject, hold"):
        with storage.transaction(db) as conn:
            sites.set_wordlist_action(conn, "example", action)
    with storage.transaction(db) as conn, pytest.raises(sites.SiteError, match="no site"):
        sites.set_wordlist_action(conn, "ghost", "hold")


def test_wordlist_action_check_constraint(db):
    site = new_site(db)
    with pytest.raises(exc.IntegrityError), db.begin() as conn:
        conn.execute(
            sites_table.update().where(sites_table.c.id == site.id).values(wordlist_action="x")
        )


def test_wordlist_action_migration_keeps_existing_sites_rejecting(database_url):
    engine = storage.make_engine(database_url)
    try:
        storage.upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO sites (name, key_hash, key_prefix, created_at, block_words,"
                    " suspect_words, allow_words)"
                    " VALUES ('old', :h, 'mod_o', :at, '[]', '[]', '[]')"
                ),
                {"h": "a" * 64, "at": storage.now()},
            )
        storage.upgrade(engine)
        with engine.connect() as conn:
            assert sites.get_site_by_name(conn, "old").wordlist_action == "reject"
        with engine.begin() as conn:
            command.downgrade(storage._alembic_config(conn), "0001")
        columns = {c["name"] for c in inspect(engine).get_columns("sites")}
        assert "wordlist_action" not in columns
    finally:
        engine.dispose()


def test_site_errors(db):
    with storage.transaction(db) as conn:
        with pytest.raises(sites.SiteError, match="no site named"):
            sites.revoke_site(conn, "ghost")
        sites.create_site(conn, "s", "d" * 64, "mod_s")
        with pytest.raises(sites.SiteError, match="must be one of"):
            sites.set_words(conn, "s", "maybe", ["x"])
        sites.revoke_site(conn, "s")
        with pytest.raises(sites.SiteError, match="already revoked"):
            sites.revoke_site(conn, "s")


def test_audit_rows_survive_in_their_table(db):
    with storage.transaction(db) as conn:
        audit.record(conn, "maria", "comment.reject", comment_id="gone", note="n")
    with db.connect() as conn:
        [row] = conn.execute(select(audit_log)).all()
        assert (row.actor, row.comment_id, row.note) == ("maria", "gone", "n")
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 1


def test_unreachable_database_raises_storage_unavailable():
    engine = storage.make_engine("postgresql+psycopg://x:y@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(storage.StorageUnavailable), storage.transaction(engine):
        pass
    with pytest.raises(storage.StorageUnavailable), storage.reading(engine):
        pass
    with pytest.raises(storage.StorageUnavailable):
        storage.upgrade(engine)
    assert storage.ping(engine) is False


def test_sqlite_file_goes_in_a_created_folder(tmp_path):
    engine = storage.make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'db.sqlite3'}")
    storage.upgrade(engine)
    assert (tmp_path / "deep" / "er" / "db.sqlite3").is_file()
    engine.dispose()


def test_database_errors_in_a_request_never_log_comment_text(app, engine, caplog):
    db = engine
    site = new_site(db)

    @app.get("/explode")
    def explode():
        with storage.transaction(db) as conn:
            values = make_comment(site.id, text="private words", status="x").values()
            conn.execute(comments.insert().values(values))

    response = app.test_client().get("/explode")
    assert response.status_code == 500
    assert "unhandled database error on GET /explode: IntegrityError" in caplog.text
    assert "private words" not in caplog.text
