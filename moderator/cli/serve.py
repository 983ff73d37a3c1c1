"""`moderator serve` (gunicorn, or Flask's server with --dev) and `moderator init-db`."""

from __future__ import annotations

import sys

import click

from moderator.cli import cli
from moderator.cli.common import _config
from moderator.cli.common import _migrated_engine

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
