"""The Models page in a real browser: an admin promotes a candidate the gate passed, and
every request after the next poll is decided by it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from moderator.serving import model_digest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (Debian package)"),
]


@pytest.fixture
def config(config, tmp_path, model_path):
    folder = tmp_path / "models"
    shutil.copytree(model_path, folder / "current")
    better = folder / "better"
    shutil.copytree(model_path, better)
    meta = json.loads((better / "model.json").read_text())
    meta.update(name="better", version="2")
    (better / "model.json").write_text(json.dumps(meta))
    report = {
        "verdict": "promote",
        "reasons": [],
        "candidate": {"label": "better@2", "model_sha256": model_digest(better)},
        "current": {"label": "x", "model_sha256": model_digest(folder / "current")},
        "flipped": [],
    }
    (better / "compare.json").write_text(json.dumps(report))
    return dataclasses.replace(config, model_path=folder / "current")


def test_an_admin_promotes_from_the_models_page(
    server, new_page, accounts, app, send_comment, site_key, screenshot
):
    watched = new_page()
    page = watched.page
    page.goto(f"{server}/dashboard/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "correct horse battery staple")
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.click("nav >> text=Models")
    expect(page.locator("#candidates")).to_contain_text("better@2")
    expect(page.locator("#promotions")).to_contain_text("No promotion yet")
    row = page.locator("#candidates tr", has_text="better@2")
    row.locator("input[name=reason]").fill("learnt the site's insults")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    expect(page.locator("#promotions")).to_contain_text("learnt the site's insults")
    expect(page.locator("#promotions")).to_contain_text("admin")
    screenshot(page, "models")
    serving = app.extensions["moderator"].serving
    serving.poll_seconds = 0
    send_comment(site_key, "hello")
    serving.wait(30)
    assert send_comment(site_key, "hello again")["model"] == "better@2"
    assert watched.problems == [] and watched.dialogs == []
