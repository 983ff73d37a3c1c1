"""Alembic environment: migrate the connection Moderator hands over, or DATABASE_URL's engine."""

from __future__ import annotations

from alembic import context

from moderator.storage.tables import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        # Plain `alembic -c moderator/migrations/alembic.ini ...`: use the configured database.
        from moderator.config import Config
        from moderator.storage import make_engine

        with make_engine(Config.from_env().database_url).begin() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _migrate(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table (copy, DROP, rename); with foreign keys on, dropping
        # `sites` while comments point at it fails. storage.upgrade turns them off before
        # its transaction (SQLite ignores the pragma inside one) and on after the commit;
        # this is for a plain `alembic` run. The check below proves nothing was left dangling.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")


run()
