"""Where the CPU of one HTTP moderation goes, layer by layer, in one process.

    python bench/bench_http.py ...            # the real server: CPU per moderation
    python bench/http_profile.py [--data-dir ../shared/data] [--requests 1500] [--rounds 3]

Builds the app with create_app on a fresh SQLite file (WAL, synchronous=FULL, as served),
creates a site key with `moderator sites create`, then sends real comments (OLID test,
HASOC 2019 test) to POST /api/v1/moderate straight through the WSGI app, one at a time on
one thread, and GET /healthz the same way. The CPU time (time.process_time) of each layer
is summed by wrapping its function:

- decision: Moderation.decide_with_language (language, word rules, classifier, explanations);
- store: storage.commit_together (the INSERT, the webhook outbox, the COMMIT and its fsync),
  and inside it the INSERT alone (comments.insert_comment);
- parse: schemas.parse_comment; answer: the JSON response (api.jsonify);
- access log: the `moderator.access` logger's line (written to a file, as a server's stderr);
- the rest: Flask's request context, routing, sessions, the key check, the rate limiter and
  metrics hooks (what /healthz costs is the part every request pays).

gunicorn is not in the loop: the real server's CPU per moderation (bench_http.py) less this
total is gunicorn's HTTP parsing, its threads and the GIL's hand-overs between them. Each
layer's figure is the median over --rounds rounds, each a mean over --requests requests.
The 2 cores are shared, so compare layers of one run. Writes bench/results/http-profile.json
and .md. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_setup import create_site_key  # noqa: E402
from http_setup import current_ref  # noqa: E402
from http_setup import load_bodies  # noqa: E402
from http_setup import log  # noqa: E402
from http_setup import run_cli  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

LAYERS = (
    ("decision", "the decision (language, word rules, classifier, explanations)"),
    ("store", "storing: INSERT, outbox, COMMIT (fsync), group commit"),
    ("insert", "  of which the INSERT statement"),
    ("parse", "parsing and checking the body"),
    ("answer", "the JSON answer"),
    ("access_log", "the access log line"),
    ("rest", "the rest: Flask, routing, session, key check, rate limiter, metrics"),
)


def environ(path: str, key: str, body: bytes | None) -> dict:
    """A WSGI environ as gunicorn builds it for a request on loopback."""
    env = {
        "REQUEST_METHOD": "GET" if body is None else "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if body is not None:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


class Layers:
    """CPU seconds per layer, summed by wrapping each layer's function."""

    def __init__(self) -> None:
        self.spent: Counter = Counter()

    def wrap(self, owner, name: str, layer: str) -> None:
        inner = getattr(owner, name)
        spent = self.spent

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[layer] += time.process_time() - started

        setattr(owner, name, timed)


def instrumented_app(layers: Layers):
    from moderator import accesslog
    from moderator import api
    from moderator import create_app
    from moderator import schemas
    from moderator import storage
    from moderator.config import Config
    from moderator.service import deciding
    from moderator.storage import comments

    # Before create_app, which registers the access log's after_request hook.
    layers.wrap(accesslog, "_log_request", "access_log")
    app = create_app(Config.from_env())
    layers.wrap(deciding.Moderation, "decide_with_language", "decision")
    layers.wrap(storage, "commit_together", "store")
    layers.wrap(comments, "insert_comment", "insert")
    layers.wrap(schemas, "parse_comment", "parse")
    layers.wrap(api, "jsonify", "answer")
    return app


def send(app, path: str, key: str, body: bytes | None) -> None:
    statuses = []
    out = app(environ(path, key, body), lambda status, headers, exc=None: statuses.append(status))
    b"".join(out)
    getattr(out, "close", lambda: None)()
    if not statuses or not statuses[0].startswith("200"):
        raise SystemExit(f"{path} answered {statuses}")


def measure(app, layers: Layers, key: str, bodies: list[bytes], n: int, offset: int) -> dict:
    """Mean CPU ms per request: the whole request and each layer, then /healthz."""
    layers.spent.clear()
    started = time.process_time()
    for i in range(n):
        send(app, "/api/v1/moderate", key, bodies[(offset + i) % len(bodies)])
    total = time.process_time() - started
    spent = dict(layers.spent)
    row = {"total": total * 1000 / n}
    for layer, _ in LAYERS:
        if layer != "rest":
            row[layer] = spent.get(layer, 0.0) * 1000 / n
    outside = sum(spent.get(k, 0.0) for k in ("decision", "store", "parse", "answer", "access_log"))
    row["rest"] = (total - outside) * 1000 / n
    started = time.process_time()
    for _ in range(n):
        send(app, "/healthz", key, None)
    row["healthz"] = (time.process_time() - started) * 1000 / n
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MODERATOR_DATA_DIR", ROOT.parent / "shared" / "data")),
    )
    parser.add_argument("--requests", type=int, default=1500, help="Requests per round.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    bodies = load_bodies(args.data_dir, 2000, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="http-profile-"))
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.update(
        {
            "MODERATOR_INSTANCE_PATH": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'moderator.db'}",
            "MODERATOR_RATE_LIMIT": "1000000/second",
        }
    )
    env = dict(os.environ)
    run_cli(["init-db"], env)
    key = create_site_key(env, "profile")
    # The access log goes to a file, as a server's stderr does (never to this terminal).
    log_file = (tmp / "access.log").open("w")
    real_stderr, sys.stderr = sys.stderr, log_file
    try:
        layers = Layers()
        app = instrumented_app(layers)
        gc.collect()
        gc.freeze()  # as `moderator serve` does before forking its workers
        for i in range(200):  # warm-up: caches, the first groups, SQLite's pages
            send(app, "/api/v1/moderate", key, bodies[i])
        rounds = []
        for r in range(args.rounds):
            rounds.append(measure(app, layers, key, bodies, args.requests, 200 + r * 977))
            print(f"round {r + 1}: {rounds[-1]['total']:.3f} ms", file=real_stderr, flush=True)
    finally:
        sys.stderr = real_stderr
        log_file.close()
    median = {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]}
    result = {
        "ref": current_ref(),
        "python": platform.python_version(),
        "requests_per_round": args.requests,
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rounds],
        "median_ms": median,
        "load_average": round(os.getloadavg()[0], 2),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "http-profile.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "http-profile.md").write_text(render(result, args))
    log(render(result, args))
    subprocess.run(["rm", "-rf", str(tmp)], check=False)


def render(result: dict, args: argparse.Namespace) -> str:
    m = result["median_ms"]
    lines = [
        "# Where the CPU of one HTTP moderation goes (one process, no gunicorn)",
        "",
        f"Command: `python bench/http_profile.py --requests {args.requests} --rounds "
        f"{args.rounds}`, at {result['ref']}, Python {result['python']}, 1-minute load "
        f"average {result['load_average']} at the end. POST /api/v1/moderate with real "
        "comments straight through the WSGI app on one thread, SQLite file (WAL, "
        "synchronous=FULL), each stored; median of the rounds' means.",
        "",
        "| layer | CPU ms per request | share |",
        "|---|---:|---:|",
    ]
    for layer, label in LAYERS:
        lines.append(f"| {label} | {m[layer]:.3f} | {m[layer] / m['total']:.0%} |")
    lines += [
        f"| **whole request in the app** | **{m['total']:.3f}** | 100% |",
        f"| GET /healthz, for comparison | {m['healthz']:.3f} | |",
        "",
        "Each round (ms): "
        + ", ".join(f"{r['total']:.3f}" for r in result["rounds"])
        + ". The real server's CPU per moderation (bench_http.py) less the whole request "
        "here is gunicorn's share.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
