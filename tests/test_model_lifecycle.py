"""Issue 11's whole loop, on fixtures: decisions in the dashboard -> export -> train -> compare
(a candidate trained on deliberately wrong labels is refused, with its reasons) -> promote ->
both workers of a real gunicorn serve the new model without a failed request under load ->
a broken candidate is refused and the old model keeps serving."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from moderator import storage
from moderator.cli import cli as moderator_cli
from moderator.storage import sites
from training.cli import cli as training_cli

FIXTURES = Path(__file__).parent / "fixtures"
#: Consecutive answers from the new model that show every worker serves it (2 workers, 4
#: clients: a worker left on the old model would answer some of them).
CONSECUTIVE = 60


def site_rows() -> list[tuple[str, str]]:
    lines = (FIXTURES / "site_decisions.tsv").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t")) for line in lines if line and not line.startswith("#")]


def flip(source: Path, target: Path) -> None:
    """The export with every label inverted: what a run of slipped key presses would teach."""
    with open(source, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        rejected = row["toxicity"] == "1"
        row.update(toxicity="0" if rejected else "1", insult="0" if rejected else "1")
        for name in ("obscene", "identity_attack", "threat"):
            row[name] = "0" if rejected else ""
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, headers=headers, data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Load:
    """Clients posting comments until stopped; every answer's status and model, in order."""

    def __init__(self, url: str, key: str, clients: int = 4) -> None:
        self.url, self.key = url, key
        self.answers: list[tuple[int, str | None]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(clients)]

    def run(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                status, body = call(
                    self.url + "/api/v1/moderate", self.key, {"text": f"client {n} comment {i}"}
                )
            except OSError as error:  # a dropped connection is a failed request too
                self.errors.append(f"{type(error).__name__}: {error}")
                continue
            self.answers.append((status, body.get("model")))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def wait_for(self, label: str, timeout: float = 60) -> None:
        """Until CONSECUTIVE answers in a row come from `label`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tail = self.answers[-CONSECUTIVE:]
            if len(tail) == CONSECUTIVE and all(model == label for _, model in tail):
                return
            time.sleep(0.1)
        raise AssertionError(f"not every worker serves {label}: {Counter(self.answers[-200:])}")


def test_decisions_to_a_promoted_model_served_by_every_worker(
    app, engine, config, dashboard, hold_all, send_comment, fixture_data_dir, model_path, tmp_path
):
    # 1. A gardening forum's moderators decide 160 held comments in the dashboard.
    dashboard.login("mod")
    for decision, text in site_rows():
        comment = send_comment(hold_all, text)
        response = dashboard.post(
            f"/dashboard/comments/{comment['id']}/decision",
            {
                "decision": decision,
                "reason_code": "insult" if decision == "reject" else "",
                "version": "1",
            },
        )
        assert response.status_code == 303, response.get_data(as_text=True)
    with storage.transaction(engine) as conn:
        # The site goes back to the model's own thresholds and no word list of its own.
        sites.set_thresholds(conn, "example", {})
        sites.set_words(conn, "example", "suspect", [])
    env = {
        "DATABASE_URL": config.database_url,
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
        "MODERATOR_MODEL_PATH": str(model_path),
        # The load below is thousands of requests a minute from one key.
        "MODERATOR_RATE_LIMIT": "1000000/minute",
    }
    runner = CliRunner(env=env)

    # 2. Export all but the newest 20% (the test set), and a copy with every label wrong.
    labels, wrong = tmp_path / "labels.csv", tmp_path / "wrong.csv"
    result = runner.invoke(
        training_cli, ["export-labels", "--out", str(labels), "--test-share", "0.2"]
    )
    assert result.exit_code == 0, result.output
    assert "exported 128 decisions" in result.output and "left out the newest 32" in result.output
    flip(labels, wrong)

    # 3. Train a candidate on each.
    models = tmp_path / "models"
    for name, extra in (("good", labels), ("wrong", wrong)):
        result = runner.invoke(
            training_cli,
            ["train", "--data-dir", str(fixture_data_dir), "--out", str(models / name)]
            + ["--extra", str(extra)],
        )
        assert result.exit_code == 0, result.output

    # 4. The gate: the wrongly taught candidate is refused, with the reason and the comments.
    common = ["--current", str(model_path), "--data-dir", str(fixture_data_dir)]
    common += ["--decisions", "database"]
    refused = runner.invoke(
        training_cli, ["compare", "--candidate", str(models / "wrong"), *common, "--json"]
    )
    assert refused.exit_code == 3, refused.output
    report = json.loads(refused.stdout)
    assert report["verdict"] == "refuse"
    assert any(r.startswith("site decisions: agreement with moderators") for r in report["reasons"])
    assert report["flipped"] and {r["agrees"] for r in report["flipped"]} == {"current"}
    passed = runner.invoke(
        training_cli,
        [
            "compare",
            "--candidate",
            str(models / "good"),
            *common,
            "--out",
            str(tmp_path / "r.json"),
        ],
    )
    assert passed.exit_code == 0, passed.output
    assert "verdict: PROMOTE" in passed.stdout
    good_label = json.loads((tmp_path / "r.json").read_text())["candidate"]["label"]

    # 5. A real server, two workers, under load while the good model is promoted.
    port = free_port()
    # A file, not a pipe: the access log of thousands of requests would fill a pipe nobody
    # reads until the end, and block the workers.
    log = open(tmp_path / "server.log", "w", encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "moderator", "serve", "--port", str(port), "--workers", "2"]
        + ["--no-webhook-worker"],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if call(url + "/readyz")[0] == 200:
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.1)
        old_label = call(url + "/readyz")[1]["model"]
        with Load(url, hold_all) as load:
            load.wait_for(old_label)
            result = runner.invoke(
                moderator_cli,
                ["models", "promote", str(models / "good"), "--report", str(tmp_path / "r.json")]
                + ["--reason", "learnt the forum's insults", "--by", "ana"],
            )
            assert result.exit_code == 0, result.output
            load.wait_for(good_label)

            # 6. A broken candidate is refused at promotion...
            broken = models / "broken"
            broken.mkdir()
            (broken / "model.joblib").write_bytes(b"\x80not a pickle")
            shutil.copy(models / "good" / "model.json", broken / "model.json")
            result = runner.invoke(
                moderator_cli, ["models", "promote", str(broken), "--skip-gate", "--reason", "x"]
            )
            assert result.exit_code == 1 and "does not load" in result.output
            # ...and one that breaks after its promotion is never loaded: the workers keep
            # the good model and say why.
            later = models / "later"
            shutil.copytree(models / "good", later)
            meta = json.loads((later / "model.json").read_text())
            meta["name"] = "later"
            (later / "model.json").write_text(json.dumps(meta))
            result = runner.invoke(
                moderator_cli, ["models", "promote", str(later), "--skip-gate", "--reason", "y"]
            )
            assert result.exit_code == 0, result.output
            (later / "model.joblib").write_bytes(b"truncated")
            errors = []
            for _ in range(100):
                ready = call(url + "/readyz")[1]
                errors.append("model_error" in ready)
                assert ready["model"] == good_label
                time.sleep(0.05)
            assert errors[-20:] == [True] * 20
            load.wait_for(good_label)
        assert load.errors == []
        statuses = Counter(status for status, _ in load.answers)
        assert set(statuses) == {200}, statuses
        assert {model for _, model in load.answers} == {old_label, good_label}
        assert len(load.answers) > 2 * CONSECUTIVE
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    output = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "not loaded, " in output  # the failed load is logged
    # 7. Every stored decision names the model that made it.
    with storage.reading(engine) as conn:
        made_by = Counter(
            r[0] for r in conn.exec_driver_sql("SELECT model FROM comments WHERE model IS NOT NULL")
        )
    assert set(made_by) == {old_label, good_label}
