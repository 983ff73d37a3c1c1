"""Group commit: concurrent writes share one COMMIT, each answered only once it is stored."""

import threading
import uuid

import pytest
from sqlalchemy import event
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import select

from moderator import storage
from moderator.storage import StorageUnavailable
from moderator.storage import sites
from moderator.storage.groupcommit import GroupCommit
from moderator.storage.tables import sites as sites_table

pytestmark = pytest.mark.all_databases


@pytest.fixture
def db(database_url):
    engine = storage.make_engine(database_url, 5.0)
    storage.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def commits(db):
    counted = []
    event.listen(db, "commit", lambda conn: counted.append(1))
    return counted


def add_site(name):
    """A job that stores a site called `name` and returns its id."""

    def job(conn):
        return sites.create_site(conn, name, uuid.uuid4().hex * 2, "mod_x").id

    return job


def stored_names(engine):
    with storage.reading(engine) as conn:
        return set(conn.execute(select(sites_table.c.name)).scalars())


def run_all(committer, jobs):
    """Each job from its own thread, as concurrent requests; their outcomes."""
    outcomes = [None] * len(jobs)

    def run(i):
        try:
            outcomes[i] = ("ok", committer.run(jobs[i]))
        except Exception as error:
            outcomes[i] = ("error", error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    return threads, outcomes


def test_writes_queued_behind_a_commit_share_the_next_one(db, commits):
    committer = GroupCommit(db)
    release = threading.Event()
    entered = threading.Event()

    def first(conn):
        entered.set()
        release.wait(10)
        return add_site("first")(conn)

    threads, outcomes = run_all(committer, [first])
    assert entered.wait(10)
    more, later = run_all(committer, [add_site(f"s{i}") for i in range(8)])
    while len(committer._pending) < 8:  # all eight are queued behind the first group
        threading.Event().wait(0.01)
    release.set()
    for t in threads + more:
        t.join(20)
    assert outcomes[0][0] == "ok" and all(o[0] == "ok" for o in later)
    assert len({o[1] for o in outcomes + later}) == 9  # each got its own row's id
    assert stored_names(db) == {"first"} | {f"s{i}" for i in range(8)}
    assert len(commits) == 2


def test_one_failing_write_fails_alone(db):
    committer = GroupCommit(db)
    release = threading.Event()

    def blocker(conn):
        release.wait(10)
        return add_site("blocker")(conn)

    def broken(conn):
        add_site("half-written")(conn)
        raise ValueError("bad data")

    threads, first = run_all(committer, [blocker])
    while not committer._busy:
        threading.Event().wait(0.01)
    more, rest = run_all(committer, [add_site("a"), broken, add_site("b")])
    while len(committer._pending) < 3:
        threading.Event().wait(0.01)
    release.set()
    for t in threads + more:
        t.join(20)
    assert first[0][0] == "ok"
    assert rest[0][0] == "ok" and rest[2][0] == "ok"
    assert rest[1][0] == "error" and isinstance(rest[1][1], ValueError)
    assert stored_names(db) == {"blocker", "a", "b"}


def test_an_unavailable_database_fails_the_whole_group_and_stores_nothing(db):
    committer = GroupCommit(db)
    release = threading.Event()

    def blocker(conn):
        release.wait(10)
        return add_site("blocker")(conn)

    def lost_connection(conn):
        raise exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    threads, first = run_all(committer, [blocker])
    while not committer._busy:
        threading.Event().wait(0.01)
    more, rest = run_all(committer, [add_site("a"), lost_connection])
    while len(committer._pending) < 2:
        threading.Event().wait(0.01)
    release.set()
    for t in threads + more:
        t.join(20)
    assert first[0][0] == "ok"
    assert [kind for kind, _ in rest] == ["error", "error"]
    assert all(isinstance(error, StorageUnavailable) for _, error in rest)
    assert stored_names(db) == {"blocker"}


def test_a_lone_write_is_committed_before_run_returns(db, commits):
    committer = GroupCommit(db)
    site_id = committer.run(add_site("alone"))
    with storage.reading(db) as conn:
        assert conn.execute(select(func.count()).where(sites_table.c.id == site_id)).scalar() == 1
    assert len(commits) == 1


def test_many_concurrent_writers_are_all_stored(db):
    threads, outcomes = run_all(GroupCommit(db), [add_site(f"many-{i}") for i in range(40)])
    for t in threads:
        t.join(60)
    assert all(kind == "ok" for kind, _ in outcomes)
    assert stored_names(db) == {f"many-{i}" for i in range(40)}


def test_consecutive_groups_write_on_one_kept_connection(db):
    checkouts = []
    event.listen(db, "checkout", lambda *args: checkouts.append(1))
    committer = GroupCommit(db)
    ids = [committer.run(add_site(f"kept-{i}")) for i in range(5)]
    assert len(checkouts) == 1
    assert len(set(ids)) == 5
    assert stored_names(db) == {f"kept-{i}" for i in range(5)}
    db.dispose()
    assert committer._conn is None


def test_a_connection_gone_stale_between_groups_is_replaced_and_nothing_is_lost(db):
    committer = GroupCommit(db)
    committer.run(add_site("before"))
    kept = committer._conn
    if db.dialect.name == "postgresql":
        # What a restart of the server does to an idle connection.
        pid = kept.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        kept.rollback()
        with db.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
            other.commit()
    else:
        kept.connection.dbapi_connection.close()
    committer.run(add_site("after"))
    assert committer._conn is not kept
    assert stored_names(db) == {"before", "after"}


def test_a_failed_write_hands_its_connection_back(db):
    committer = GroupCommit(db)

    def broken(conn):
        add_site("rolled-back")(conn)
        raise ValueError("bad data")

    with pytest.raises(ValueError):
        committer.run(broken)
    assert committer._conn is None
    assert db.pool.checkedout() == 0
    committer.run(add_site("next"))
    assert stored_names(db) == {"next"}


def test_a_forked_committer_never_uses_its_parents_connection(db, monkeypatch):
    from moderator.storage import groupcommit

    committer = GroupCommit(db)
    committer.run(add_site("parent"))
    parents = committer._conn
    monkeypatch.setattr(groupcommit.os, "getpid", lambda: committer._pid + 1)
    monkeypatch.setattr(groupcommit, "_INHERITED", [])
    committer.run(add_site("child"))
    assert committer._conn is not parents
    assert groupcommit._INHERITED == [parents]
    assert stored_names(db) == {"parent", "child"}
