"""How fast a moderator gets through the queue: card sizes, cards per screen, time per decision.

    python bench/bench_queue.py [--data-dir ../shared/data] [--decisions 20]
                                [--model models/default]

Starts `moderator serve --workers 1` on 127.0.0.1 (a free port) with a fresh SQLite database
in a temporary instance folder and the shipped model, creates a site and a moderator with
the CLI, and posts real comments (OLID test tweets) until the queue holds enough of them,
plus one comment of about 9,500 characters (our own filler around one held OLID tweet). Then, in
Debian's chromium through Playwright, at 1280x720:

  (a) the long comment's card height, collapsed to its triggering sentence and expanded
      (the expanded card is what the queue showed before it collapsed);
  (b) how many cards are wholly on the first screen, comfortable and compact;
  (c) the time from clicking Approve to the next card being ready, with JavaScript (the
      decision is sent by fetch, the card removed) and without (the form posts, the queue
      reloads), --decisions each, alternating.

Writes bench/results/queue.json and queue.md. Figures, not assertions: the 2 cores are
shared with everything else on the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODERATOR = [sys.executable, "-m", "moderator"]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench password, not a secret"
#: Our own filler: a council report that nothing flags.
FILLER = (
    "The council met on Tuesday evening to discuss the budget for next year, and the "
    "library hours were extended again after a long debate about the reading room. "
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def olid_offensive(data_dir: Path) -> list[str]:
    """OLID test tweets annotated offensive, in file order (the model holds many of them)."""
    tweets = data_dir / "olid" / "olid_test.csv"
    if not tweets.exists():
        raise SystemExit(f"missing {tweets}: pass --data-dir or set MODERATOR_DATA_DIR")
    with tweets.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["tweet"] for r in rows if r["subtask_a"] == "OFF"]


def post(base: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1/moderate",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        MODERATOR + ["serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the server did not become ready")


def cards_on_screen(page) -> int:
    page.evaluate("document.querySelector('article.card').scrollIntoView({block: 'start'})")
    return page.evaluate(
        """() => [...document.querySelectorAll('article.card')].filter(card => {
            const box = card.getBoundingClientRect();
            return box.top >= 0 && box.bottom <= window.innerHeight;
        }).length"""
    )


def login(page, base: str) -> None:
    page.goto(f"{base}/dashboard/login")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def measure(base: str, long_id: str, decisions: int) -> dict:
    from playwright.sync_api import sync_playwright

    found: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        pages = {}
        for javascript in (True, False):
            context = browser.new_context(
                viewport={"width": 1280, "height": 720}, java_script_enabled=javascript
            )
            page = context.new_page()
            page.set_default_timeout(30_000)
            login(page, base)
            pages[javascript] = page
        page = pages[True]
        page.goto(f"{base}/dashboard/comments/{long_id}")
        card = page.locator(f"#c-{long_id}")
        found["long_comment_chars"] = len(card.locator("details.whole .text").text_content())
        found["collapsed_px"] = round(card.bounding_box()["height"])
        card.locator("details.whole > summary").click()
        found["expanded_px"] = round(card.bounding_box()["height"])
        page.goto(f"{base}/dashboard/?sort=newest")
        found["cards_on_screen_comfortable"] = cards_on_screen(page)
        page.click("#density button")
        page.wait_for_timeout(300)
        found["cards_on_screen_compact"] = cards_on_screen(page)
        page.click("#density button")  # back to comfortable for the timings
        page.wait_for_timeout(300)
        # The two pages work from opposite ends of the queue, so neither decides a comment
        # the other already has.
        page.goto(f"{base}/dashboard/?sort=oldest")
        pages[False].goto(f"{base}/dashboard/?sort=newest")
        timings: dict[str, list[float]] = {"with_js": [], "without_js": []}
        for n in range(decisions * 2):
            javascript = n % 2 == 0
            page = pages[javascript]
            first = page.locator("article.card").first
            comment = first.get_attribute("data-comment")
            button = first.locator("button[value=approve]")
            started = time.perf_counter()
            if javascript:
                button.click()
                page.locator(f"#c-{comment}").wait_for(state="detached")
            else:
                with page.expect_navigation(wait_until="load"):
                    button.click()
            elapsed = (time.perf_counter() - started) * 1000
            timings["with_js" if javascript else "without_js"].append(elapsed)
        for key, values in timings.items():
            values.sort()
            found[f"decision_ms_{key}_median"] = round(statistics.median(values), 1)
            found[f"decision_ms_{key}_p90"] = round(values[int(len(values) * 0.9) - 1], 1)
        browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("MODERATOR_DATA_DIR", str(ROOT.parent / "shared" / "data")),
    )
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs {CHROMIUM} (Debian's chromium)")
    tweets = olid_offensive(Path(args.data_dir))
    instance = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    env = {
        **os.environ,
        "MODERATOR_INSTANCE_PATH": str(instance),
        "MODERATOR_MODEL_PATH": args.model,
        "DATABASE_URL": f"sqlite:///{instance / 'bench.sqlite3'}",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    server = None
    try:
        run = {"env": env, "capture_output": True, "text": True, "timeout": 120, "check": True}
        subprocess.run(MODERATOR + ["init-db"], **run)
        key = subprocess.run(MODERATOR + ["sites", "create", "bench"], **run).stdout.strip()
        subprocess.run(
            MODERATOR + ["users", "create", "bench", "--password-stdin"],
            input=PASSWORD + "\n",
            **run,
        )
        server = start_server(env, port)
        base = f"http://127.0.0.1:{port}"
        held, used = 0, 0
        wanted = 2 * args.decisions + 12
        for tweet in tweets:
            used += 1
            if post(base, key, {"text": tweet})["decision"] == "hold":
                held += 1
            if held >= wanted:
                break
        log(f"{held} held of {used} offensive OLID test tweets posted")
        sentence = next(
            t
            for t in tweets
            if len(t) < 200 and post(base, key, {"text": t, "store": False})["decision"] == "hold"
        )
        long_text = FILLER * 40 + sentence + " " + FILLER * 20
        long = post(base, key, {"text": long_text, "id": "bench-long"})
        found = measure(base, long["id"], args.decisions)
        found.update(
            {
                "held_comments": held + (long["decision"] == "hold"),
                "long_comment_decision": long["decision"],
                "decisions_each": args.decisions,
                "viewport": "1280x720",
                "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
            }
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "queue.json").write_text(json.dumps(found, indent=2) + "\n")
    f = found
    rows = [
        (
            f"{f['long_comment_chars']:,}-character comment: card collapsed to its sentence",
            f"{f['collapsed_px']} px",
        ),
        ("the same card expanded (as the queue showed it before)", f"{f['expanded_px']} px"),
        ("cards wholly on the first screen, comfortable", f["cards_on_screen_comfortable"]),
        ("cards wholly on the first screen, compact", f["cards_on_screen_compact"]),
        (
            "Approve to the next card, with JavaScript (fetch), median / p90",
            f"{f['decision_ms_with_js_median']} / {f['decision_ms_with_js_p90']} ms",
        ),
        (
            "Approve to the next card, without JavaScript (post, reload), median / p90",
            f"{f['decision_ms_without_js_median']} / {f['decision_ms_without_js_p90']} ms",
        ),
    ]
    md = (
        "# Queue: card sizes, cards per screen, time per decision\n\n"
        f"`python bench/bench_queue.py --decisions {args.decisions}`, chromium at"
        f" {f['viewport']}, the shipped model, {f['held_comments']} held comments (OLID test"
        f" tweets), {f['machine']}.\n\n| measure | figure |\n|---|---:|\n"
        + "".join(f"| {label} | {value} |\n" for label, value in rows)
    )
    (out / "queue.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
