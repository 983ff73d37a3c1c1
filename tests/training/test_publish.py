"""Training publishes a model whole or not at all: no partial directory a server could load."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from training import artifacts
from training.cli import cli


def _entries(folder):
    return sorted(p.name for p in folder.iterdir())


def test_staging_publishes_a_new_model_in_one_rename(tmp_path):
    out = tmp_path / "models" / "new"
    with artifacts.staging(out) as work:
        (work / "model.json").write_text("{}")
        assert not out.exists()
    assert _entries(out) == ["model.json"]
    assert _entries(out.parent) == ["new"]


def test_staging_replaces_an_existing_model_whole(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / "model.json").write_text('{"v": 1}')
    (out / "stale.txt").write_text("from the old model")
    with artifacts.staging(out) as work:
        (work / "model.json").write_text('{"v": 2}')
    assert _entries(out) == ["model.json"]
    assert json.loads((out / "model.json").read_text()) == {"v": 2}
    assert _entries(tmp_path) == ["old"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_staging_removes_everything_on_failure_and_keeps_the_old_model(tmp_path, error):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "model.json").write_text('{"v": 1}')
    with pytest.raises(type(error)):
        with artifacts.staging(out) as work:
            (work / "model.joblib").write_bytes(b"half")
            raise error
    assert _entries(tmp_path) == ["kept"]
    assert json.loads((out / "model.json").read_text()) == {"v": 1}


@pytest.mark.parametrize(
    "setup, needle",
    [
        (lambda out: out.write_text("a file"), "not a directory"),
        (lambda out: (out.mkdir(), (out / "notes.txt").write_text("x")), "not a model directory"),
    ],
    ids=["a-file", "a-folder-of-other-things"],
)
def test_check_writable_refuses_to_replace_what_is_not_a_model(tmp_path, setup, needle):
    out = tmp_path / "out"
    setup(out)
    with pytest.raises(OSError, match=needle):
        artifacts.check_writable(out)


def test_check_writable_leaves_no_folder_behind(tmp_path):
    artifacts.check_writable(tmp_path / "a" / "b" / "model")
    assert _entries(tmp_path) == []


def test_a_failure_while_writing_the_report_leaves_no_model(data_dir, tmp_path, monkeypatch):
    def broken_plots(curves, folder):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(artifacts, "write_plots", broken_plots)
    out = tmp_path / "models" / "tiny"
    result = CliRunner().invoke(cli, ["train", "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "cannot write" in result.output and "No space left" in result.output
    assert "Traceback" not in result.output
    assert _entries(out.parent) == []


def test_train_without_matplotlib_fails_at_once_with_the_install_command(
    data_dir, tmp_path, monkeypatch
):
    # None in sys.modules makes `import matplotlib` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "models" / "tiny"
    result = CliRunner().invoke(cli, ["train", "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 1
    assert "pip install -e '.[training]'" in result.output
    # Refused before loading any data, so before the fit.
    assert "normalising" not in result.output and "fitting" not in result.output
    assert not out.exists() and not out.parent.exists()
