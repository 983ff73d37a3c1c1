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
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
