"""`moderator users ...`: dashboard accounts, their passwords and sessions."""

from __future__ import annotations

import sys

import click

from moderator.cli import cli
from moderator.cli.common import _config
from moderator.cli.common import _migrated_engine


@cli.group()
def users() -> None:
    """Manage dashboard accounts (moderators and admins)."""


@users.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make an admin (sites, keys, users), not a moderator.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting.",
)
def users_create(username: str, admin: bool, password_stdin: bool) -> None:
    """Create dashboard account USERNAME; the password is prompted for twice, never an argument."""
    from moderator import accounts
    from moderator import storage

    try:
        accounts.validate_username(username)
    except accounts.AccountError as error:
        raise click.UsageError(str(error)) from None
    password = _password(password_stdin)
    engine = _migrated_engine(_config())
    try:
        with storage.transaction(engine) as conn:
            user = accounts.create_account(conn, username, password, admin=admin)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()
    click.echo(f"created {user.role} {user.username}")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _user_command(username: str, change):
    """Run `change(conn, user)` in one transaction for dashboard account USERNAME."""
    from moderator import accounts
    from moderator import storage
    from moderator.storage import users as user_store

    engine = _migrated_engine(_config())
    try:
        with storage.transaction(engine) as conn:
            user = user_store.get_user_by_username(conn, username)
            if user is None:
                raise click.ClickException(f"no user named {username!r}")
            return change(conn, user)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()


@users.command("set-password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of prompting.",
)
def users_set_password(username: str, password_stdin: bool) -> None:
    """Set USERNAME's dashboard password; every session of theirs ends."""
    from moderator import accounts

    password = _password(password_stdin)
    ended = _user_command(
        username, lambda conn, user: accounts.change_password(conn, user, password, actor="cli")
    )
    click.echo(f"changed the password of {username}; {ended} session(s) ended")


@users.command("reset-password")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of stdin instead of prompting.",
)
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password, different from the current one; their sessions end."""
    from moderator import passwords

    password = _password(password_stdin)
    _user_command(
        username,
        lambda conn, user: passwords.set_password(
            conn, user, password, password, actor="cli", action="user.password_reset"
        ),
    )
    click.echo(f"new password set for {username}; their sessions have ended")


@users.command("end-sessions")
@click.argument("username")
def users_end_sessions(username: str) -> None:
    """Log USERNAME out of the dashboard everywhere (every session of theirs ends)."""
    from moderator.storage import audit
    from moderator.storage import sessions as session_store

    def end(conn, user) -> int:
        ended = session_store.end_user_sessions(conn, user.id)
        audit.record(
            conn,
            "cli",
            "user.logout_everywhere",
            after={"username": user.username, "sessions_ended": ended},
        )
        return ended

    ended = _user_command(username, end)
    click.echo(f"{username}: {ended} session(s) ended")
