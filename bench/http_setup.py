"""bench_http.py's setup and measurements around a server: request bodies from real comments,
sites and keys through the CLI, waiting for /healthz and /readyz, rows stored, server CPU and
memory, a baseline commit exported with git archive, a fresh PostgreSQL schema."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline import export  # noqa: E402
from processes import group_stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODERATOR = [sys.executable, "-m", "moderator"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_bodies(data_dir: Path, limit: int, seed: int, desk: bool = False) -> list[bytes]:
    """Request bodies from real comments (OLID test, HASOC 2019 test), shuffled.

    With `desk`, each also names an author (one of 300) and a story (one of 30, with its URL
    and title), as a news site sends them: the server then reads their standing and keeps
    their rows current on every request.
    """
    sources = [
        (data_dir / "olid" / "olid_test.csv", ",", "tweet"),
        (data_dir / "hasoc2019" / "hasoc2019_en_test-2919.tsv", "\t", "text"),
    ]
    texts: list[str] = []
    for path, delimiter, column in sources:
        if not path.exists():
            raise SystemExit(f"missing {path}: pass --data-dir or set MODERATOR_DATA_DIR")
        with path.open(encoding="utf-8", newline="") as f:
            texts.extend(row[column] for row in csv.DictReader(f, delimiter=delimiter))
    texts = [t for t in texts if t.strip()]
    random.Random(seed).shuffle(texts)
    bodies = []
    for i, text in enumerate(texts[:limit]):
        body: dict = {"text": text}
        if desk:
            body["author"] = {"id": f"reader-{i % 300}", "name": f"Reader {i % 300}"}
            body["story_id"] = f"story-{i % 30}"
            body["url"] = f"https://news.example/stories/{i % 30}"
            body["title"] = f"Story number {i % 30}"
        bodies.append(json.dumps(body).encode("utf-8"))
    return bodies


def run_cli(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    result = subprocess.run(
        MODERATOR + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise SystemExit(f"moderator {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def create_site_key(env: dict[str, str], name: str, cwd: Path = ROOT) -> str:
    """The API key `moderator sites create` prints (alone on stdout)."""
    key = run_cli(["sites", "create", name], env, cwd).strip()
    if not key.startswith("mod_"):
        raise SystemExit(f"no API key in `moderator sites create` output: {key!r}")
    return key


def wait_up(base: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not up in time")


def loaded_model(base: str) -> str | None:
    """The model /readyz reports (None: every comment would be held unscored)."""
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
            return json.loads(r.read())["model"]
    except urllib.error.HTTPError as error:
        return json.loads(error.read()).get("model")


def count_rows(database_url: str, site_name: str) -> int:
    """Rows stored for the benchmark site, read directly from the database."""
    from sqlalchemy import create_engine
    from sqlalchemy import text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM comments c JOIN sites s ON s.id = c.site_id"
                    " WHERE s.name = :name"
                ),
                {"name": site_name},
            ).scalar_one()
    finally:
        engine.dispose()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in a process group (the server)."""
    ticks = sum(int(f[11]) + int(f[12]) for _, f in group_stats(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


def scrape_decisions(base: str) -> float:
    """moderator_decisions_total summed over actions, from GET /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        text = r.read().decode("utf-8")
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("moderator_decisions_total{")
    )


def checkout(ref: str, into: Path) -> tuple[Path, str]:
    """`ref` exported with `git archive` (code and shipped models) into a folder of `into`."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = into / f"ref-{sha[:12]}"
    dest.mkdir()
    # Its C extension built in place, as pip install built the working tree's.
    return export(sha, dest), sha


def current_ref() -> str:
    """The working tree's commit (with `+changes` when it differs from it)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return sha[:12] + ("+changes" if dirty else "")


def fresh_postgres(admin_url: str) -> tuple[str, callable]:
    """A fresh schema on the PostgreSQL server: (URL that uses it, function that drops it)."""
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def process_memory(pid: int) -> dict | None:
    """RSS and PSS (proportional set size: shared pages split between their sharers) in MB,
    from /proc/PID/smaps_rollup."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Dirty"):
            fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss_mb": round(fields.get("Rss", 0), 1),
        "pss_mb": round(fields.get("Pss", 0), 1),
        "shared_mb": round(fields.get("Shared_Clean", 0) + fields.get("Shared_Dirty", 0), 1),
        "private_dirty_mb": round(fields.get("Private_Dirty", 0), 1),
    }


def server_memory(master: int) -> dict:
    """The gunicorn master's and each worker's memory (the webhook worker left out)."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == master and "webhooks" not in cmdline:
            memory = process_memory(int(entry.name))
            if memory is not None:
                workers.append(memory)
    return {"master": process_memory(master), "workers": workers}


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 120.0) -> float:
    """Seconds until /readyz first answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("server not ready in time")


APP_TIMING = """
import json, sys, time
t0 = time.perf_counter()
from moderator import create_app
from moderator.config import Config
config = Config.from_env()
t1 = time.perf_counter()
app = create_app(config)
t2 = time.perf_counter()
again = create_app(config)
t3 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "first_app_s": t2 - t1, "app_after_imports_s": t3 - t2}))
"""


def app_timing(env: dict, cwd: Path) -> dict:
    """create_app in a fresh interpreter: the first time (its imports included) and again in
    the same process (everything imported: what a worker needs once its imports are done)."""
    out = subprocess.run(
        [sys.executable, "-c", APP_TIMING],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1:]}
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    return {k: round(v, 3) for k, v in json.loads(line).items()}
