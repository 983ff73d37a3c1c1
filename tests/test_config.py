"""Config: defaults that work, every variable parsed once, bad values named at startup."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

from moderator import config as config_module
from moderator.config import Config
from moderator.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_sqlite_in_the_instance_folder_and_the_shipped_model():
    config = Config.from_env({})
    assert config.instance_path == ROOT / "instance"
    assert config.database_url == f"sqlite:///{ROOT / 'instance' / 'moderator.sqlite3'}"
    assert config.model_path == ROOT / "models" / "default"
    assert config.secret_key is None
    assert (config.max_text_bytes, config.batch_max) == (20480, 100)
    assert config.rate_limit_storage_uri == "memory://"


def test_every_variable_is_read(tmp_path):
    env = {
        "MODERATOR_INSTANCE_PATH": str(tmp_path / "inst"),
        "DATABASE_URL": "postgresql://u:p@db/moderator",
        "MODERATOR_MODEL_PATH": str(tmp_path / "m"),
        "MODERATOR_SECRET_KEY": "s" * 40,
        "MODERATOR_RATE_LIMIT": "10/second;100/minute",
        "MODERATOR_RATE_LIMIT_STORAGE_URI": "memory://test",
        "MODERATOR_MAX_TEXT_BYTES": "1000",
        "MODERATOR_BATCH_MAX": "7",
        "MODERATOR_MAX_CONTENT_LENGTH": " 65536 ",
    }
    config = Config.from_env(env)
    assert config == dataclasses.replace(
        Config(),
        instance_path=tmp_path / "inst",
        database_url="postgresql://u:p@db/moderator",
        model_path=tmp_path / "m",
        secret_key="s" * 40,
        rate_limit="10/second;100/minute",
        rate_limit_storage_uri="memory://test",
        max_text_bytes=1000,
        batch_max=7,
        max_content_length=65536,
    )
    assert set(env) <= {f.metadata["env"] for f in config_module.settings()}


def test_instance_path_moves_the_default_database(tmp_path):
    config = Config.from_env({"MODERATOR_INSTANCE_PATH": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'moderator.sqlite3'}"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql://u:p@h:5432/db"),
        ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:////srv/m.db", "sqlite:////srv/m.db"),
    ],
)
def test_database_url_accepts_heroku_style_postgres(given, expected):
    assert Config.from_env({"DATABASE_URL": given}).database_url == expected


def test_empty_values_mean_the_default():
    assert Config.from_env({"MODERATOR_BATCH_MAX": "", "DATABASE_URL": "  "}) == Config.from_env({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MODERATOR_BATCH_MAX", "many"),
        ("MODERATOR_BATCH_MAX", "0"),
        ("MODERATOR_BATCH_MAX", "-3"),
        ("MODERATOR_BATCH_MAX", "1.5"),
        ("MODERATOR_MAX_TEXT_BYTES", "20k"),
        ("MODERATOR_MAX_CONTENT_LENGTH", "0"),
        ("MODERATOR_RATE_LIMIT", "lots"),
        ("MODERATOR_RATE_LIMIT", "10/fortnight"),
        ("DATABASE_URL", "moderator.sqlite3"),
        ("MODERATOR_SECRET_KEY", "short"),
        ("MODERATOR_RATE_LIMIT_STORAGE_URI", "bogus://somewhere"),
    ],
)
def test_bad_values_fail_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_content_length_must_fit_one_text():
    with pytest.raises(ConfigError, match="MODERATOR_MAX_CONTENT_LENGTH"):
        Config.from_env({"MODERATOR_MAX_TEXT_BYTES": "5000", "MODERATOR_MAX_CONTENT_LENGTH": "100"})


def test_secret_key_is_generated_once_with_0600_permissions(tmp_path):
    config = Config(instance_path=tmp_path / "instance")
    first = config.resolved_secret_key()
    assert len(first) >= 32
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Config(instance_path=tmp_path / "instance").resolved_secret_key() == first
    assert Config(instance_path=tmp_path / "other").resolved_secret_key() != first


def test_configured_secret_key_wins_and_writes_nothing(tmp_path):
    config = Config(instance_path=tmp_path, secret_key="k" * 32)
    assert config.resolved_secret_key() == "k" * 32
    assert not (tmp_path / "secret_key").exists()


def test_a_truncated_secret_file_is_an_error_not_a_weak_key(tmp_path):
    (tmp_path / "secret_key").write_text("abc")
    with pytest.raises(ConfigError, match="secret_key"):
        Config(instance_path=tmp_path).resolved_secret_key()


def test_repr_hides_the_secret_and_the_database_password():
    config = Config(database_url="postgresql://u:hunter2hunter2@h/db", secret_key="z" * 40)
    assert "hunter2" not in repr(config) and "z" * 40 not in repr(config)


def test_every_setting_has_a_variable_and_help():
    for f in config_module.settings():
        assert f.metadata["env"].isupper()
        assert len(f.metadata["help"]) > 20, f.name
    described = Config().describe()
    assert [row[0] for row in described] == [f.metadata["env"] for f in dataclasses.fields(Config)]


def test_no_other_module_reads_the_environment():
    package = ROOT / "moderator"
    readers = sorted(
        str(p.relative_to(ROOT))
        for p in package.rglob("*.py")
        if "os.environ" in p.read_text(encoding="utf-8")
        or "getenv(" in p.read_text(encoding="utf-8")
    )
    assert readers == ["moderator/config/__init__.py"]


def _start_together(instance_path, barrier, results):
    barrier.wait()
    try:
        results.put(Config(instance_path=instance_path).resolved_secret_key())
    except Exception as error:  # reported to the test, which fails on it
        results.put(f"error: {error}")


def test_instances_starting_together_agree_on_one_key_and_none_fails(tmp_path):
    """Two servers sharing an instance folder, started at once: neither may read the key file
    between its creation and its content (CI saw a server exit on exactly that)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    starters = 6
    for attempt in range(25):
        folder = tmp_path / f"instance-{attempt}"
        barrier, results = context.Barrier(starters), context.Queue()
        processes = [
            context.Process(target=_start_together, args=(folder, barrier, results))
            for _ in range(starters)
        ]
        for process in processes:
            process.start()
        keys = [results.get(timeout=30) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        assert not [key for key in keys if key.startswith("error")], keys
        assert len(set(keys)) == 1
        assert (folder / "secret_key").read_text().strip() == keys[0]
