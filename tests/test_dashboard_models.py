"""The admins' Models page: the serving model, candidates with their gate report, promotion
with who and why (audited), and refusals of bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from moderator import storage
from moderator.serving import model_digest
from moderator.storage import audit
from moderator.storage import models


@pytest.fixture
def config(config, tmp_path, model_path):
    """The test model in a models folder of this test's own, so candidates sit beside it."""
    folder = tmp_path / "models"
    shutil.copytree(model_path, folder / "current")
    return dataclasses.replace(config, model_path=folder / "current")


@pytest.fixture
def candidate(config):
    """candidate(name, verdict=None, **model_json): a model folder beside the serving one,
    with a compare.json of that verdict (None: no report)."""

    def make(name: str, verdict: str | None = None, **changes):
        out = config.model_path.parent / name
        shutil.copytree(config.model_path, out)
        meta = json.loads((out / "model.json").read_text())
        meta.update({"name": name, "version": "2", **changes})
        (out / "model.json").write_text(json.dumps(meta))
        if verdict is not None:
            report = {
                "verdict": verdict,
                "reasons": [] if verdict == "promote" else ["site decisions: 90% -> 40%"],
                "candidate": {"label": f"{name}@2", "model_sha256": model_digest(out)},
                "current": {"label": "x", "model_sha256": model_digest(config.model_path)},
                "flipped": [{"text": "a"}, {"text": "b"}],
            }
            (out / "compare.json").write_text(json.dumps(report))
        return out

    return make


def page(dashboard) -> str:
    response = dashboard.client.get("/dashboard/models")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_admin_promotes_a_candidate_the_gate_passed(dashboard, engine, candidate):
    candidate("better", "promote")
    dashboard.login("admin")
    html = page(dashboard)
    assert "better@2" in html and "2 flipped comments" in html
    response = dashboard.post(
        "/dashboard/models/promote", {"name": "better", "reason": "learnt our insults"}
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        active = models.active(conn)
        [entry] = audit.entries(conn, limit=1)
    assert active.label == "better@2" and active.actor == "admin"
    assert active.reason == "learnt our insults" and active.gate["verdict"] == "promote"
    assert entry["action"] == "model.promote" and entry["actor"] == "admin"
    html = page(dashboard)
    assert "learnt our insults" in html and "Promoted better@2" in html


def test_a_refused_candidate_is_not_promoted_and_the_page_says_why(dashboard, engine, candidate):
    candidate("worse", "refuse")
    dashboard.login("admin")
    response = dashboard.post("/dashboard/models/promote", {"name": "worse", "reason": "try"})
    assert response.status_code == 409
    assert "the gate refused worse@2: site decisions: 90% -&gt; 40%" in response.get_data(
        as_text=True
    )
    with storage.reading(engine) as conn:
        assert models.active(conn) is None


def test_without_a_report_only_an_explicit_skip_of_the_gate_promotes(dashboard, engine, candidate):
    candidate("old")
    dashboard.login("admin")
    refused = dashboard.post("/dashboard/models/promote", {"name": "old", "reason": "roll back"})
    assert refused.status_code == 409 and "has no compare.json" in refused.get_data(as_text=True)
    done = dashboard.post(
        "/dashboard/models/promote", {"name": "old", "reason": "roll back", "skip_gate": "on"}
    )
    assert done.status_code == 303
    with storage.reading(engine) as conn:
        assert models.active(conn).gate is None


@pytest.mark.parametrize(
    "form, status, needle",
    [
        ({"name": "nowhere", "reason": "x"}, 400, "no model folder"),
        ({"name": "../current", "reason": "x"}, 400, "no model folder"),
        ({"name": "", "reason": "x"}, 400, ""),
        ({"name": "x" * 300, "reason": "x"}, 400, ""),
        ({"name": "better", "reason": ""}, 409, "say why"),
        ({"name": "better", "reason": " \t "}, 409, "say why"),
        ({"name": "better", "reason": "x" * 1001}, 409, "longer than 1000"),
        ({"name": "better", "reason": "a\x1bb"}, 409, "control characters"),
    ],
    ids=["unknown", "traversal", "empty", "long-name", "no-reason", "blank", "long", "ansi"],
)
def test_bad_promotions_are_refused(dashboard, engine, candidate, form, status, needle):
    candidate("better", "promote")
    dashboard.login("admin")
    response = dashboard.post("/dashboard/models/promote", form)
    assert response.status_code == status
    assert needle in response.get_data(as_text=True)
    with storage.reading(engine) as conn:
        assert models.active(conn) is None


def test_moderators_get_403_and_strangers_the_login(dashboard, client, candidate):
    candidate("better", "promote")
    assert client.get("/dashboard/models").status_code in (302, 303)
    dashboard.login("mod")
    assert client.get("/dashboard/models").status_code == 403
    response = dashboard.post("/dashboard/models/promote", {"name": "better", "reason": "x"})
    assert response.status_code == 403


def test_a_promotion_needs_the_csrf_token(dashboard, client, candidate):
    candidate("better", "promote")
    dashboard.login("admin")
    response = client.post("/dashboard/models/promote", data={"name": "better", "reason": "x"})
    assert response.status_code == 400


def test_hostile_model_names_and_reasons_are_escaped(dashboard, candidate):
    candidate("odd", "promote", version="<script>alert(1)</script>\u202e")
    dashboard.login("admin")
    html = page(dashboard)
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
