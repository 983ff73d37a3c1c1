"""The browser tests' shared parts: the app on a localhost port, Debian's chromium, logins and
screenshots.

Playwright never downloads a browser here: it launches /usr/bin/chromium, and the tests are
skipped only when that binary is missing (CI installs it). Screenshots go to
build/screenshots/; `pytest tests/browser --update-screenshots` also writes the README's
copies to docs/screenshots/, reduced to a small palette so they stay small in git.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def pytest_addoption(parser):
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="also write the README's screenshots to docs/screenshots/",
    )


@pytest.fixture
def server(app):
    """The app served by werkzeug on a free localhost port, in a thread."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-gpu",
            ],
        )
        yield launched
        launched.close()


class Watched:
    """A page with its dialogs and script errors collected (both must stay empty)."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.problems: list[str] = []
        page.set_default_timeout(10_000)
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on(
            "console",
            lambda message: self.problems.append(message.text) if message.type == "error" else None,
        )

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def new_page(browser):
    """new_page(javascript=True, width=1200, height=1000) -> a Watched page in its own context."""
    contexts = []

    def make(javascript: bool = True, width: int = 1200, height: int = 1000) -> Watched:
        context = browser.new_context(
            viewport={"width": width, "height": height}, java_script_enabled=javascript
        )
        contexts.append(context)
        return Watched(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browser_page(new_page):
    """A page with JavaScript, 1200x1000."""
    return new_page().page


@pytest.fixture
def screenshot(request):
    """screenshot(page, name, **options): build/screenshots/<name>.png (and docs/ on request)."""
    update = request.config.getoption("--update-screenshots")

    def take(page, name: str, **options) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **options)
        if update:
            from PIL import Image

            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as image:
                small = image.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
                small.save(DOCS_SCREENSHOTS / f"{name}.png", optimize=True)
        return path

    return take
