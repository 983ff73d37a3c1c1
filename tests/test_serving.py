"""Reload without downtime: a promoted model serves after the next poll, a failed load keeps
the old one (and /readyz says why), requests never fail during a swap, and every decision
keeps the model that made it."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

from moderator import promotion
from moderator import storage
from moderator.storage import audit
from moderator.storage import models


def promote(engine, path: Path, reason: str = "test", **kwargs):
    return promotion.promote(engine, path, actor="cli:test", reason=reason, **kwargs)


@pytest.fixture
def serving(app):
    """The app's ServingModel, polling on every request."""
    s = app.extensions["moderator"].serving
    s.poll_seconds = 0
    return s


def labels(engine) -> list[str]:
    with storage.reading(engine) as conn:
        rows = conn.exec_driver_sql("SELECT model FROM comments ORDER BY created_at").all()
    return [r[0] for r in rows]


def test_a_promoted_model_serves_after_the_next_poll_and_decisions_keep_their_model(
    app, client, headers, engine, serving, model_path, variant
):
    first = client.post("/api/v1/moderate", json={"text": "hello"}, headers=headers).json
    b = variant("b")
    promoted = promote(engine, b, skip_gate=True, default_model=model_path)
    assert promoted.label == "b@2"
    # The request that notices the promotion is still decided by the old model...
    noticed = client.post("/api/v1/moderate", json={"text": "hi"}, headers=headers).json
    serving.wait(30)
    after = client.post("/api/v1/moderate", json={"text": "hey"}, headers=headers).json
    assert first["model"] == noticed["model"] != "b@2"
    assert after["model"] == "b@2"
    # ...and every stored decision keeps the model that made it.
    assert labels(engine) == [first["model"], first["model"], "b@2"]
    assert client.get("/readyz").json["model"] == "b@2"


def test_the_promotion_is_audited_with_who_what_why_and_what_served_before(
    engine, model_path, variant
):
    b = variant("b")
    promote(engine, b, reason="learnt the site's words", skip_gate=True, default_model=model_path)
    with storage.reading(engine) as conn:
        [entry] = audit.entries(conn, limit=1)
    assert entry["actor"] == "cli:test" and entry["action"] == "model.promote"
    assert entry["note"] == "learnt the site's words"
    assert entry["before"]["path"] == str(model_path)
    assert entry["after"]["model"] == "b@2" and entry["after"]["gate"] == "skipped"


def test_a_model_changed_after_promotion_is_not_loaded_and_the_old_one_keeps_serving(
    app, client, headers, engine, serving, model_path, variant
):
    b = variant("b")
    promote(engine, b, skip_gate=True, default_model=model_path)
    # Someone overwrites the promoted model in place: its files are not what was promoted.
    meta = json.loads((b / "model.json").read_text())
    meta["thresholds"]["toxicity"]["hold"] = 0.01
    (b / "model.json").write_text(json.dumps(meta))
    before = client.post("/api/v1/moderate", json={"text": "hello"}, headers=headers).json
    serving.wait(30)
    after = client.post("/api/v1/moderate", json={"text": "hello"}, headers=headers).json
    assert after["model"] == before["model"] != "b@2"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["model_error"]["model"] == "b@2"
    assert "not the one that was promoted" in ready.json["model_error"]["error"]


def test_a_promoted_model_gone_from_disk_keeps_the_old_one_and_a_later_promotion_loads(
    app, client, headers, engine, serving, model_path, variant
):
    b = variant("b")
    c = variant("c")
    promote(engine, b, skip_gate=True, default_model=model_path)
    shutil.rmtree(b)
    client.get("/readyz")
    serving.wait(30)
    ready = client.get("/readyz").json
    assert ready["model"] != "b@2" and "cannot read the model" in ready["model_error"]["error"]
    promote(engine, c, skip_gate=True, default_model=model_path)
    client.get("/readyz")
    serving.wait(30)
    ready = client.get("/readyz").json
    assert ready["model"] == "c@2" and "model_error" not in ready


def test_requests_never_fail_while_models_are_swapped(
    app, headers, engine, serving, model_path, variant
):
    models_seen: set[str] = set()
    failures: list[str] = []
    stop = threading.Event()

    def hammer():
        client = app.test_client()
        while not stop.is_set():
            r = client.post("/api/v1/moderate", json={"text": "you muppet"}, headers=headers)
            if r.status_code != 200:
                failures.append(f"{r.status_code} {r.get_data(as_text=True)[:200]}")
            else:
                models_seen.add(r.json["model"])

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for name in ("b", "c", "d"):
            promote(engine, variant(name), skip_gate=True)
            for _ in range(200):
                serving.wait(30)
                if serving.current.model_label == f"{name}@2":
                    break
                threading.Event().wait(0.02)
            assert serving.current.model_label == f"{name}@2"
            for _ in range(500):
                if f"{name}@2" in models_seen:
                    break
                threading.Event().wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert failures == []
    assert {"b@2", "c@2", "d@2"} <= models_seen


def test_a_worker_looks_at_the_database_at_most_once_a_second(app, monkeypatch):
    s = app.extensions["moderator"].serving
    calls = []
    monkeypatch.setattr(s, "_newest", lambda: calls.append(1))
    s._checked = float("-inf")
    for _ in range(1000):
        s.moderation  # noqa: B018
    assert len(calls) == 1


def test_serving_goes_on_when_the_promotions_table_is_missing(config, tmp_path):
    import dataclasses

    from moderator import create_app

    db = tmp_path / "unmigrated.sqlite3"
    app = create_app(dataclasses.replace(config, database_url=f"sqlite:///{db}"))
    s = app.extensions["moderator"].serving
    label = s.current.model_label
    assert s.moderation.model_label == label
    assert s.error is None
    app.extensions["moderator"].engine.dispose()


def test_the_newest_promotion_wins(engine, variant):
    for name in ("b", "c"):
        promote(engine, variant(name), skip_gate=True)
    with storage.reading(engine) as conn:
        assert models.active(conn).label == "c@2"
        assert [p.label for p in models.history(conn)] == ["c@2", "b@2"]
