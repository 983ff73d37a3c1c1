"""create_app: builds everything once from a Config, refuses a broken model, answers problems."""

from __future__ import annotations

import dataclasses

import pytest

from moderator import Services
from moderator import create_app
from moderator.classifier import ModelLoadError


def test_factory_keeps_long_lived_objects_in_extensions(app, config):
    services = app.extensions["moderator"]
    assert isinstance(services, Services)
    assert services.config is config
    assert services.engine.url.render_as_string(hide_password=False) == config.database_url
    assert app.config["MAX_CONTENT_LENGTH"] == config.max_content_length
    assert app.config["SECRET_KEY"] == config.resolved_secret_key()
    assert app.instance_path == str(config.instance_path.resolve())


def test_blueprints_are_registered(app):
    assert {"api", "health", "perspective", "metrics"} <= set(app.blueprints)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {
        "/api/v1/moderate",
        "/api/v1/moderate/batch",
        "/api/v1/comments/<any_id:comment_id>",
        "/healthz",
        "/readyz",
    } <= rules


def test_refuses_to_start_on_a_missing_model(config, tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist.*MODERATOR_WITHOUT_MODEL=true"):
        create_app(dataclasses.replace(config, model_path=tmp_path / "missing"))


def test_refuses_to_start_on_a_corrupt_model(config, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.joblib").write_bytes(b"not a pickle")
    (broken / "model.json").write_text("{")
    with pytest.raises(ModelLoadError, match="cannot read"):
        create_app(dataclasses.replace(config, model_path=broken))


def test_starts_without_a_model_when_told_and_holds_everything(config, tmp_path):
    told = dataclasses.replace(config, model_path=tmp_path / "missing", without_model=True)
    app = create_app(told)
    assert app.extensions["moderator"].moderation.classifier is None
    assert app.test_client().get("/healthz").status_code == 200
    app.extensions["moderator"].engine.dispose()


def test_a_corrupt_model_is_logged_when_running_without_one(config, tmp_path, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.joblib").write_bytes(b"not a pickle")
    (broken / "model.json").write_text("{")
    app = create_app(dataclasses.replace(config, model_path=broken, without_model=True))
    assert app.extensions["moderator"].moderation.classifier is None
    assert "no model loaded" in caplog.text
    app.extensions["moderator"].engine.dispose()


def test_creating_the_app_touches_no_database(config, tmp_path):
    db = tmp_path / "untouched.sqlite3"
    app = create_app(dataclasses.replace(config, database_url=f"sqlite:///{db}"))
    assert not db.exists()
    app.extensions["moderator"].engine.dispose()


def test_unexpected_errors_are_a_bare_500_problem_and_logged(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "internal error",
    }
    assert "secret internals" in caplog.text  # the traceback goes to the log, not the client


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        (None, "application/problem+json"),
        ("*/*", "application/problem+json"),
        ("application/json", "application/problem+json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "text/html"),
    ],
)
def test_errors_outside_the_api_follow_the_accept_header(client, accept, mimetype):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == mimetype


def test_api_errors_are_json_even_for_browsers(client):
    response = client.get("/api/v1/nothing", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_ensure_sync_is_flasks_answer_remembered_per_function(app):
    from flask import Flask

    from moderator import _SyncViews

    asked = []

    def flasks(func):
        asked.append(func)
        return Flask.ensure_sync(app, func)

    remembered = _SyncViews(flasks)

    def view():
        return "ok"

    assert remembered(view) is view
    assert remembered(view) is view
    assert asked == [view]

    # A coroutine function gets Flask's own answer (its sync wrapper, or its error).
    async def coroutine():
        return "ok"

    try:
        expected = type(Flask.ensure_sync(app, coroutine))
    except RuntimeError as error:  # asgiref not installed
        with pytest.raises(RuntimeError, match=str(error)[:20]):
            remembered(coroutine)
    else:
        assert type(remembered(coroutine)) is expected
    # Bounded: functions made on the fly don't pile up.
    for _ in range(_SyncViews.LIMIT + 10):
        remembered(lambda: None)
    assert len(remembered._known) <= _SyncViews.LIMIT


def test_the_app_serves_through_the_remembered_ensure_sync(app, client):
    from moderator import _SyncViews

    assert isinstance(app.ensure_sync, _SyncViews)
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/healthz").json == {"status": "ok"}
