"""The README's Coral and Perspective shell examples, run as written against a live server.

Each ```sh block of the README that talks to /coral/ or /v1alpha1/ is run with bash, with
`moderator` on PATH, the test database in the environment and 127.0.0.1:8000 pointed at a
live test server: what the README shows is what a reader gets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from moderator import auth
from moderator import storage
from moderator.storage import sites

ROOT = Path(__file__).resolve().parents[1]
#: The README and the reference in docs/ (where the Coral and Perspective examples live).
README = "\n".join(
    path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)


def blocks(marker: str) -> list[str]:
    """The README's ```sh blocks that mention `marker`."""
    return [b for b in re.findall(r"```sh\n(.*?)```", README, re.S) if marker in b]


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def shell(config, engine, live):
    """Run a README block as a reader would, with the example site's key exported."""
    key = auth.generate_key()
    with storage.transaction(engine) as conn:
        site = sites.create_site(conn, "my-news-site", auth.hash_key(key), auth.display_prefix(key))
    assert site.id == 1  # the README's examples use site id 1
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": config.database_url,
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
        "MODERATOR_MODEL_PATH": str(config.model_path),
        "MODERATOR_KEY": key,
    }

    def run(block: str) -> str:
        script = "set -eu\n" + block.replace("127.0.0.1:8000", f"127.0.0.1:{live}")
        done = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_the_coral_phase_example_is_answered_in_corals_schema(shell, app):
    [block] = blocks("/coral/v1/sites/1/phase")
    out = shell(block)
    assert "HTTP/1.1 200" in out or "HTTP/1.1 204" in out
    if app.extensions["moderator"].moderation.model_label is not None:
        assert '"status":"REJECTED"' in out.replace(" ", "")


def test_the_coral_webhook_example_is_taken(shell):
    [block] = blocks("/coral/v1/sites/1/webhook")
    assert "HTTP/1.1 204" in shell(block)


def test_the_perspective_examples_work(shell, app):
    if app.extensions["moderator"].moderation.model_label is None:
        pytest.skip("no test model")
    analyze = shell(blocks("comments:analyze?key=")[0])
    assert '"clientToken": "c-1"' in analyze and '"detectedLanguages": ["en"]' in analyze
    suggest = shell(blocks("comments:suggestscore?key=")[0])
    assert '"clientToken": "comment:c-91"' in suggest
    assert '"detectedLanguages": ["en"]' in suggest
    discovery = shell(blocks("$discovery/rest")[0])
    assert '"kind": "discovery#restDescription"' in discovery
