"""The `moderator` command (also `python -m moderator`): one click group, one place."""

from __future__ import annotations

import contextlib
import json
import sys
import time

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="moderator")
def cli() -> None:
    """Moderator: self-hosted comment moderation."""


class InputProblem(click.ClickException):
    """Unreadable input or a missing column: one line on stderr, exit code 2."""

    exit_code = 2


@cli.command()
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--text-column",
    default="text",
    show_default=True,
    help="Column (CSV) or key (JSONL) holding the comment text.",
)
@click.option(
    "--output",
    "output_path",
    default="-",
    show_default=True,
    help="Where to write one JSON object per row; - for stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Input format. Default: jsonl for .jsonl/.ndjson names, else csv (and csv for -).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(file_okay=False),
    default=None,
    help="Model directory. Default: MODERATOR_MODEL_PATH or the shipped models/default.",
)
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Comments scored per classifier call.",
)
def score(input_path, text_column, output_path, fmt, model_path, batch_size) -> None:
    """Decide every comment in INPUT (CSV or JSONL; - for stdin).

    Writes one JSON line per input row, in input order: {"decision", "scores", "reasons",
    "language"}.
    A row that can't be scored gets {"line", "error"} in its place and a note on stderr;
    the run continues. Uses the same decision path as the HTTP API, with the model's
    default thresholds and better-profanity's word list.
    """
    from pathlib import Path

    from moderator import batch
    from moderator import language
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError
    from moderator.routing import LanguageModels
    from moderator.service import Moderation

    if model_path is None:
        from moderator.config import Config

        model_path = Config.from_env().model_path
    with contextlib.ExitStack() as stack:
        try:
            stream = stack.enter_context(batch.open_input(input_path))
            rows = batch.read_rows(stream, batch.detect_format(input_path, fmt), text_column)
        except batch.InputError as error:
            raise InputProblem(str(error)) from None
        try:
            moderation = Moderation(
                Classifier.load(model_path),
                identifier=language.shared_identifier(),
                others=LanguageModels.from_folder(Path(model_path).parent, Path(model_path)),
            )
        except ModelLoadError as error:
            raise click.ClickException(str(error)) from None
        if output_path == "-":
            out = sys.stdout
            stack.callback(out.flush)
        else:
            try:
                out = stack.enter_context(open(output_path, "w", encoding="utf-8"))
            except OSError as error:
                raise InputProblem(
                    f"cannot write {output_path}: {error.strerror or error}"
                ) from None

        started = time.perf_counter()
        counts = {"rows": 0, "errors": 0}
        pending: list = []

        def flush() -> None:
            texts = [row.text for row in pending if isinstance(row, batch.Row)]
            decisions = iter(moderation.decide_with_language(texts)) if texts else iter(())
            for row in pending:
                if isinstance(row, batch.RowError):
                    counts["errors"] += 1
                    click.echo(f"line {row.line}: {row.message}", err=True)
                    record = row.to_dict()
                else:
                    decision, found = next(decisions)
                    record = {**decision.to_dict(), "language": found.language}
                    if decision.model:
                        record["model"] = decision.model
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
            counts["rows"] += len(pending)
            pending.clear()
            if counts["rows"] % (batch_size * 50) < batch_size:
                click.echo(f"scored {counts['rows']:,} rows", err=True)

        for row in rows:
            pending.append(row)
            if len(pending) >= batch_size:
                flush()
        flush()
    elapsed = time.perf_counter() - started
    rate = counts["rows"] / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"done: {counts['rows']:,} rows, {counts['errors']:,} errors, "
        f"{elapsed:.2f}s ({rate:,.0f} rows/s)",
        err=True,
    )


# -- serving and the database (serve, init-db, sites ...) ------------------------------------


def _config():
    """Config.from_env(), with a bad variable reported as one line instead of a traceback."""
    from moderator.config import Config
    from moderator.config import ConfigError

    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _migrated_engine(config):
    """An engine on DATABASE_URL, migrated to the newest schema (safe to repeat)."""
    from moderator import storage

    engine = storage.make_engine(config.database_url)
    try:
        storage.upgrade(engine)
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"cannot migrate the database: {error}") from None
    return engine


#: gunicorn kills a worker that has not reported for this many seconds.
WORKER_TIMEOUT = 30


def _fresh_connections(_server, worker) -> None:
    """gunicorn post_fork: a worker never uses a database connection its parent opened."""
    app = worker.app.wsgi()  # preloaded: the app the master built
    app.extensions["moderator"].engine.dispose(close=False)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (each loads the model).",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (gunicorn's gthread worker): a slow request never blocks /healthz.",
)
@click.option("--dev", is_flag=True, help="Use Flask's development server instead of gunicorn.")
@click.option(
    "--webhook-worker/--no-webhook-worker",
    default=True,
    show_default=True,
    help="Also run `moderator webhooks run`, which delivers webhooks, beside the server.",
)
@click.option(
    "--without-model",
    is_flag=True,
    help="Start even if the model can't be loaded, holding every comment for a person "
    "(as MODERATOR_WITHOUT_MODEL=true; /readyz reports it).",
)
def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    dev: bool,
    webhook_worker: bool,
    without_model: bool,
) -> None:
    """Migrate the database, then serve the API and dashboard.

    gunicorn with threaded workers, meant to sit behind a buffering proxy (deploy/ has nginx's
    configuration): the proxy holds slow clients, gunicorn only ever sees whole requests.
    Serves the newest promoted model (`moderator models promote`), else MODERATOR_MODEL_PATH;
    refuses to start when it can't be loaded, unless told to run without one.
    Reads every setting from the environment (see the README's Configuration section).
    """
    import dataclasses

    config = _config()
    # Resolved once here so every worker signs sessions with the same key.
    config = dataclasses.replace(config, secret_key=config.resolved_secret_key())
    if without_model:
        config = dataclasses.replace(config, without_model=True)
    engine = _migrated_engine(config)
    try:
        config, promoted = _serving_model(engine, config)
    finally:
        engine.dispose()
    click.echo(f"database {_safe_url(config.database_url)} is up to date", err=True)
    if webhook_worker:
        # After the migration: the worker would otherwise migrate the same fresh database.
        _start_webhook_worker()
    if workers > 1 and not dev:
        from moderator.config import share_metrics_across_workers

        # Before create_app imports prometheus-client.
        share_metrics_across_workers()
    # Built once, here, before the port is bound (gunicorn's preload_app): a starting or
    # restarting instance refuses connections (the proxy tries another) instead of accepting
    # requests it can't answer for seconds, and its workers share the model's memory.
    app = _serving_app(config, promoted)
    if dev:
        app.run(host=host, port=port, debug=False, use_reloader=False)
        return
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            self.cfg.set("bind", [bind])
            self.cfg.set("workers", workers)
            # Threads, so /healthz and short requests are answered while another thread of
            # the same worker runs a long batch (the GIL switches every 5 ms).
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("proc_name", "moderator")
            # Above MODERATOR_DATABASE_TIMEOUT (at most 20 s): a worker is only killed when
            # it is stuck for real, never for a slow database, which is answered with 503.
            self.cfg.set("timeout", WORKER_TIMEOUT)
            self.cfg.set("graceful_timeout", 20)
            # Proxies hold kept-alive connections open; keep them a little longer than
            # nginx's upstream keepalive_timeout (60 s) would close them.
            self.cfg.set("keepalive", 75)
            # The app is built before gunicorn starts (above); workers are forked from it and
            # share the model's memory until they write to it.
            self.cfg.set("preload_app", True)
            self.cfg.set("post_fork", _fresh_connections)

        def load(self):
            import gc

            # The model is ~100,000 long-lived objects: a full garbage collection walks them
            # all, holding the GIL for 100-250 ms, so /healthz would wait behind any request
            # that allocates a lot. Frozen, collections only see what requests create (and
            # forked workers keep sharing the model's pages).
            gc.collect()
            gc.freeze()
            # Hand the GIL over every 1 ms (Python's default is 5 ms): a short request
            # beside a long batch in the same worker waits less for its turns.
            sys.setswitchinterval(0.001)
            return app

    Server().run()


def _serving_model(engine, config):
    """(`config` with the promoted model's path, that promotion or None)."""
    import dataclasses
    from pathlib import Path

    from moderator import storage
    from moderator.storage import models

    with storage.reading(engine) as conn:
        promoted = models.active(conn)
    if promoted is not None:
        config = dataclasses.replace(config, model_path=Path(promoted.path))
    return config, promoted


def _serving_app(config, promoted):
    """The app, its model loaded once (or refused with what to do about it)."""
    from moderator import create_app
    from moderator.classifier import ModelLoadError

    try:
        app = create_app(config)
    except ModelLoadError as error:
        which = f"the promoted model {promoted.label}" if promoted else "the model"
        advice = (
            "promote one that loads (moderator models promote NAME --skip-gate --reason ...)"
            if promoted
            else "set MODERATOR_MODEL_PATH"
        )
        cause = str(error).split("; to run anyway", 1)[0]
        raise click.ClickException(
            f"{which} does not load: {cause}; {advice}, or start with --without-model to hold "
            "every comment for a person"
        ) from None
    moderation = app.extensions["moderator"].serving.current
    if moderation.classifier is None:
        click.echo("no model, holding every comment for a person", err=True)
    else:
        click.echo(f"serving {moderation.model_label} from {config.model_path}", err=True)
    return app


def _start_webhook_worker() -> None:
    """`moderator webhooks run` as a child process that ends with this one."""
    import atexit
    import os
    import subprocess

    parent = os.getpid()
    child = subprocess.Popen(
        [sys.executable, "-m", "moderator", "webhooks", "run", "--parent-pid", str(parent)]
    )

    def stop() -> None:
        # gunicorn's forked workers inherit this hook; only the process that started it acts.
        if os.getpid() == parent and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)


@cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic upgrade head)."""
    from moderator import storage

    config = _config()
    engine = _migrated_engine(config)
    with engine.connect() as conn:
        revision = storage.current_revision(conn)
    engine.dispose()
    click.echo(f"database {_safe_url(config.database_url)} at revision {revision}")


@cli.group()
def sites() -> None:
    """Manage the websites allowed to call the API, and their policy settings."""


def _site_command(change):
    """Run `change(conn)` in one transaction on the migrated database; errors as one line."""
    from moderator import storage
    from moderator.storage.sites import SiteError

    engine = _migrated_engine(_config())
    try:
        with storage.transaction(engine) as conn:
            return change(conn)
    except SiteError as error:
        raise click.ClickException(str(error)) from None
    except storage.StorageUnavailable as error:
        raise click.ClickException(f"database unavailable: {error}") from None
    finally:
        engine.dispose()


@sites.command("create")
@click.argument("name")
def sites_create(name: str) -> None:
    """Create site NAME and print its API key (shown only this once)."""
    from moderator import auth
    from moderator.storage import sites as site_store

    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise click.UsageError("NAME must be 1-200 printable characters")
    key = auth.generate_key()
    site = _site_command(
        lambda conn: site_store.create_site(
            conn, name, auth.hash_key(key), auth.display_prefix(key)
        )
    )
    click.echo(f"created site {site.name!r} (id {site.id}); its API key, shown only now:", err=True)
    click.echo(key)


@sites.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per site.")
def sites_list(as_json: bool) -> None:
    """List sites: id, name, key prefix, created, status and settings (wordlist_action too)."""
    from moderator.storage import isoformat
    from moderator.storage import sites as site_store

    rows = _site_command(site_store.list_sites)
    for site in rows:
        record = {
            "id": site.id,
            "name": site.name,
            "key_prefix": site.key_prefix,
            "created_at": isoformat(site.created_at),
            "revoked_at": isoformat(site.revoked_at),
            **site.settings(),
        }
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        status = "revoked" if site.revoked_at else "active"
        lists = ", ".join(f"{k} {len(site.words(k))}" for k in site_store.WORD_LISTS)
        click.echo(
            f"{site.id}\t{site.name}\t{site.key_prefix}...\t{record['created_at']}\t{status}"
            f"\tthresholds {json.dumps(site.thresholds or {})}\twords: {lists}"
            f"\twordlist_action {site.wordlist_action}"
            f"\treport_threshold {site.report_threshold}\tappeal_days {site.appeal_days}"
            f"\tnew_author_premoderation {site.new_author_premoderation}"
        )
    if not rows and not as_json:
        click.echo("no sites yet: moderator sites create NAME", err=True)


@sites.command("revoke")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
def sites_revoke(name: str, yes: bool) -> None:
    """Revoke site NAME's API key for good (its comments are kept)."""
    from moderator.storage import sites as site_store

    if not yes:
        click.confirm(f"Revoke the API key of site {name!r}? This can't be undone", abort=True)
    _site_command(lambda conn: site_store.revoke_site(conn, name))
    click.echo(f"revoked site {name!r}")


@sites.command("set-threshold")
@click.argument("name")
@click.argument("category")
@click.argument("hold", type=float, required=False)
@click.argument("reject", type=float, required=False)
@click.option("--reset", is_flag=True, help="Drop the override: use the model's default.")
def sites_set_threshold(name, category, hold, reject, reset) -> None:
    """Set site NAME's HOLD and REJECT thresholds (0-1) for CATEGORY.

    Scores at or above HOLD are held for review, at or above REJECT rejected. Categories:
    toxicity, obscene, insult, identity_attack, threat.
    """
    from moderator import policy
    from moderator.storage import sites as site_store

    try:
        category = policy.Category(category)
    except ValueError:
        known = ", ".join(policy.CATEGORIES)
        raise click.UsageError(f"unknown category {category!r} (one of {known})") from None
    given = hold is not None and reject is not None
    if reset == given or (not reset and (hold is None) != (reject is None)):
        raise click.UsageError("give HOLD and REJECT, or --reset")
    if not reset:
        try:
            policy.Threshold(hold=hold, reject=reject)
        except ValueError as error:
            raise click.UsageError(str(error)) from None

    def change(conn):
        current = dict(site_store.require_site(conn, name).thresholds or {})
        if reset:
            current.pop(str(category), None)
        else:
            current[str(category)] = {"hold": hold, "reject": reject}
        return site_store.set_thresholds(conn, name, current)

    site = _site_command(change)
    click.echo(f"{site.name}: thresholds {json.dumps(site.thresholds or {})}")


@sites.command("wordlist")
@click.argument("name")
@click.argument("kind", type=click.Choice(["block", "suspect", "allow"]))
@click.option("--add", "added", multiple=True, help="Add a word (word or word:category).")
@click.option("--remove", "removed", multiple=True, help="Remove a word.")
@click.option(
    "--file",
    "from_file",
    type=click.File("r", encoding="utf-8"),
    help="Replace the list with the words in this file, one a line (- for stdin).",
)
@click.option("--clear", is_flag=True, help="Empty the list.")
def sites_wordlist(name, kind, added, removed, from_file, clear) -> None:
    """Show or change site NAME's KIND word list (block rejects, suspect holds, allow never hits).

    A site's block words are added to better-profanity's list; allow words never trigger a
    hit and are hidden from the classifier. With no option, prints the list.
    """
    from moderator.rules import WordList
    from moderator.storage import sites as site_store

    if not (added or removed or from_file or clear):
        site = _site_command(lambda conn: site_store.require_site(conn, name))
        for word in site.words(kind):
            click.echo(word)
        return

    def change(conn):
        site = site_store.require_site(conn, name)
        if from_file is not None:
            words = [line.strip() for line in from_file if line.strip()]
        else:
            words = [] if clear else list(site.words(kind))
        drop = {w.strip().casefold() for w in removed}
        words = [w for w in words if w.casefold() not in drop] + [a.strip() for a in added]
        lists = {k: [] for k in site_store.WORD_LISTS}
        lists[kind] = words
        try:
            WordList.compile(**lists)
        except ValueError as error:
            raise site_store.SiteError(str(error)) from None
        return site_store.set_words(conn, name, kind, words)

    site = _site_command(change)
    click.echo(f"{site.name}: {len(site.words(kind))} {kind} words")


@sites.command("wordlist-action")
@click.argument("name")
@click.argument("action", required=False, type=click.Choice(["reject", "hold"]))
def sites_wordlist_action(name: str, action: str | None) -> None:
    """Show or set what the default word list's reject-tier words do for site NAME.

    reject (the default): words abusive in every sense (fuck, cunt, slurs) reject the
    comment. hold: they hold it for a moderator instead. Words with innocent senses
    (dick, bitch, ...) hold at most either way; the site's own block list always rejects.
    """
    from moderator.storage import sites as site_store

    if action is None:
        site = _site_command(lambda conn: site_store.require_site(conn, name))
    else:
        site = _site_command(lambda conn: site_store.set_wordlist_action(conn, name, action))
    click.echo(f"{site.name}: wordlist_action {site.wordlist_action}")


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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="moderator")


# Coral, Perspective, webhook, desk and model commands add themselves to the groups above.
from moderator import desk_commands  # noqa: E402, F401
from moderator import integration_commands  # noqa: E402, F401
from moderator import model_commands  # noqa: E402, F401
