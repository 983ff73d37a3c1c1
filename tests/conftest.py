"""Shared fixtures: a Config on a temp database, the app, its clients, and a site's key.

`config` uses a temp SQLite file and a small model trained once per session from
tests/fixtures/train_*.csv (when those fixtures and the training CLI exist; otherwise a
missing model directory, which the app serves through the classifier_unavailable path).

Tests marked `all_databases` (e.g. `pytestmark = pytest.mark.all_databases`) run again on
PostgreSQL when MODERATOR_TEST_DATABASE_URL is set: each test gets its own schema there,
dropped afterwards, so parallel runs never share tables.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text
from sqlalchemy.engine import make_url

from moderator import auth
from moderator import create_app
from moderator import storage
from moderator.config import Config
from moderator.storage import sites

FIXTURES = Path(__file__).parent / "fixtures"

#: The PostgreSQL server CI provides; tests never read any other environment variable.
POSTGRES_URL = os.environ.get("MODERATOR_TEST_DATABASE_URL") or None

#: The databases a storage/API test runs on: SQLite always, PostgreSQL when configured.
DATABASES = ["sqlite"]
if POSTGRES_URL:
    DATABASES.append(pytest.param("postgresql", marks=pytest.mark.postgres))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "all_databases: run on SQLite and, when configured, on PostgreSQL too"
    )


def pytest_generate_tests(metafunc):
    if "database_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "all_databases"
    ):
        metafunc.parametrize("database_url", DATABASES, indirect=True)


#: Where each tests/fixtures/train_*.csv goes in a data directory laid out like the shared data.
FIXTURE_LAYOUT = {
    "train_olid_train.csv": "olid/olid_train.csv",
    "train_olid_test.csv": "olid/olid_test.csv",
    "train_davidson.csv": "davidson/labeled_data.csv",
    "train_hasoc_train.csv": "hasoc2019/english_dataset.tsv",
    "train_hasoc_test.csv": "hasoc2019/hasoc2019_en_test-2919.tsv",
    "train_ghc_train.csv": "gab_hate_corpus/ghc_train.tsv",
    "train_ghc_test.csv": "gab_hate_corpus/ghc_test.tsv",
    "train_edos.csv": "edos/edos_labelled_aggregated.csv",
    "train_tsd_train.csv": "toxic_spans/tsd_train.csv",
    "train_tsd_trial.csv": "toxic_spans/tsd_trial.csv",
    "train_ts_comments.csv": "toxic_spans/subtypes/ts_comments.csv",
    "train_ts_annotations.csv": "toxic_spans/subtypes/ts_annotations.csv",
    "train_ts_spans.csv": "toxic_spans/subtypes/ts_spans.csv",
    "train_fox.jsonl": "fox_news_comments/fox-news-comments.json",
    "train_mlma.csv": "mlma/en_dataset_with_stop_words.csv",
    "train_convabuse_train.csv": "convabuse/ConvAbuseEMNLPtrain.csv",
    "train_convabuse_valid.csv": "convabuse/ConvAbuseEMNLPvalid.csv",
    "train_convabuse_test.csv": "convabuse/ConvAbuseEMNLPtest.csv",
}


@pytest.fixture(scope="session")
def fixture_data_dir(tmp_path_factory) -> Path | None:
    """tests/fixtures/train_*.csv laid out like the shared data, or None without them."""
    if not all((FIXTURES / name).is_file() for name in FIXTURE_LAYOUT):
        return None
    data = tmp_path_factory.mktemp("data")
    for name, target in FIXTURE_LAYOUT.items():
        (data / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, data / target)
    return data


@pytest.fixture(scope="session")
def model_path(tmp_path_factory, fixture_data_dir) -> Path:
    """A small model trained once from tests/fixtures, or a missing directory without them."""
    root = tmp_path_factory.mktemp("model")
    out = root / "test-model"
    if fixture_data_dir is None:
        return out
    from training.cli import cli as training_cli

    data = fixture_data_dir
    args = ["train", "--data-dir", str(data), "--out", str(out)]
    if (FIXTURES / "train_extra.csv").is_file():
        args += ["--extra", str(FIXTURES / "train_extra.csv")]
    result = CliRunner().invoke(training_cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The shared datasets; tests using it are marked `data` and skip without them."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    path = Path(os.environ.get("MODERATOR_DATA_DIR", default))
    if not (path / "olid" / "olid_train.csv").is_file():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL server's URL; skips without MODERATOR_TEST_DATABASE_URL."""
    if POSTGRES_URL is None:
        pytest.skip("needs MODERATOR_TEST_DATABASE_URL (a PostgreSQL server)")
    return POSTGRES_URL


@pytest.fixture
def database_url(request, tmp_path):
    """SQLite in tmp_path, or (parametrized "postgresql") a fresh schema on the test server."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'moderator.sqlite3'}"
        return
    schema = "test_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def config(tmp_path, database_url, model_path) -> Config:
    """Settings for one test: its own instance folder and database, a generous rate limit."""
    return Config(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        model_path=model_path,
        rate_limit="10000/minute",
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite database migrated to head once, copied for each test that needs one
    (migrating costs ~0.1 s a test; the migrations themselves are tested from scratch in
    test_storage.py and test_cli_service.py)."""
    path = tmp_path_factory.mktemp("template") / "moderator.sqlite3"
    engine = storage.make_engine(f"sqlite:///{path}")
    storage.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(config, sqlite_template):
    """The app on a migrated, empty database."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        shutil.copyfile(sqlite_template, url.database)
    app = create_app(config)
    app.config["TESTING"] = True
    engine = app.extensions["moderator"].engine
    storage.upgrade(engine)
    yield app
    engine.dispose()


@pytest.fixture
def engine(app):
    """The app's engine."""
    return app.extensions["moderator"].engine


@pytest.fixture
def queries(engine):
    """Every SQL statement the app's engine runs from now on."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app, config):
    """A CliRunner whose commands see `config` through the environment, as in production."""
    env = {
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
        "DATABASE_URL": config.database_url,
        "MODERATOR_MODEL_PATH": str(config.model_path),
    }
    return CliRunner(env=env)


@pytest.fixture
def make_site(engine):
    """make_site(name) creates a site directly in the database and returns its API key."""

    def make(name: str) -> str:
        key = auth.generate_key()
        with storage.transaction(engine) as conn:
            sites.create_site(conn, name, auth.hash_key(key), auth.display_prefix(key))
        return key

    return make


@pytest.fixture
def site_key(make_site) -> str:
    """The API key of a fresh site named "example"."""
    return make_site("example")


@pytest.fixture
def headers(site_key) -> dict[str, str]:
    """Authorization headers for the "example" site."""
    return {"Authorization": f"Bearer {site_key}"}


# -- the dashboard: accounts, a logged-in client, held comments -------------------------------

#: The password of the `admin` and `mod` accounts the `accounts` fixture creates.
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Dashboard:
    """flaskr's AuthActions for the dashboard: log in and out, and post forms with CSRF."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf(self, path: str = "/dashboard/login") -> str:
        """The CSRF token of this client's session, read from a page's form."""
        html = self.client.get(path).get_data(as_text=True)
        found = _CSRF.search(html)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str = "mod", password: str = PASSWORD):
        return self.client.post(
            "/dashboard/login",
            data={"username": username, "password": password, "csrf_token": self.csrf()},
        )

    def logout(self):
        return self.post("/dashboard/logout", {})

    def post(self, path: str, data: dict, **kwargs):
        """POST a dashboard form with this session's CSRF token."""
        token = self.csrf("/dashboard/audit")
        return self.client.post(path, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def accounts(engine) -> dict[str, int]:
    """An admin `admin` and a moderator `mod`, both with PASSWORD; their ids by name."""
    from werkzeug.security import generate_password_hash

    from moderator.storage import users

    # A cheap hash keeps the suite fast; the login path still checks it with werkzeug.
    hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    with storage.transaction(engine) as conn:
        return {
            name: users.create_user(conn, name, hashed, role).id
            for name, role in (("admin", "admin"), ("mod", "moderator"))
        }


@pytest.fixture
def dashboard(client, accounts) -> Dashboard:
    """A Dashboard on the test client (not yet logged in)."""
    return Dashboard(client)


@pytest.fixture
def hold_all(engine, site_key) -> str:
    """Make the "example" site hold every comment (suspect word "kitten"); returns its key."""
    from moderator.policy import CATEGORIES

    thresholds = {str(c): {"hold": 0.0, "reject": 1.0} for c in CATEGORIES}
    with storage.transaction(engine) as conn:
        sites.set_thresholds(conn, "example", thresholds)
        sites.set_words(conn, "example", "suspect", ["kitten"])
    return site_key


@pytest.fixture
def send_comment(client):
    """send_comment(key, text, **fields): POST one comment to the API; the decision body."""

    def send(key: str, text: str, **fields) -> dict:
        response = client.post(
            "/api/v1/moderate",
            json={"text": text, **fields},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    return send


@pytest.fixture
def variant(model_path, tmp_path):
    """variant(name, folder=tmp_path, **model_json_changes): a copy of the test model under
    another name and version "2" (its model.json changed, so another model to promote)."""
    import json

    def make(name: str, folder: Path | None = None, **changes) -> Path:
        out = (folder or tmp_path) / name
        shutil.copytree(model_path, out)
        meta = json.loads((out / "model.json").read_text())
        meta.update(name=name, version="2", **changes)
        (out / "model.json").write_text(json.dumps(meta))
        return out

    return make


# -- servers the hardening tests start themselves ---------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server on a free loopback port (Debian's package); skips without one.

    Yields the `subprocess.Popen`, with `.url` set to its redis:// URL. Tests that stop it
    (SIGSTOP) must resume it before they end.
    """
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(folder), "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server.url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(server.url, socket_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    client.close()
    yield server
    server.terminate()
    server.wait(timeout=10)
