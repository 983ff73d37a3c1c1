"""Per-site adaptation: a site with enough decisions gets its own layer only when the gate
passes; a site with too few, or whose layer the gate refuses, and every other site keep the
shared model. Thresholds are suggested, never applied by the command."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from moderator import auth
from moderator import storage
from moderator.sitelayer import MIN_DECISIONS
from moderator.sitelayer import SiteLayer
from moderator.sitelayer import best_threshold
from moderator.sitelayer import enough
from moderator.storage import models
from moderator.storage import review
from moderator.storage import sites
from training.cli import cli as training_cli
from training.evalsets import contrast_sets
from training.evalsets import innocent_words
from training.evalsets import neutral_identity


def texts(n: int, seed: int) -> list[str]:
    """`n` of our own held-out sentences: contrast sets, innocent words, neutral sentences."""
    pool = [r.text for rows in contrast_sets().values() for r in rows]
    pool += innocent_words() + neutral_identity()[:300]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def decide_site(app, engine, name: str, rows, rule) -> None:
    """Create site `name`, send `rows` and let its moderators decide each by `rule(score)`."""
    key = auth.generate_key()
    with storage.transaction(engine) as conn:
        sites.create_site(conn, name, auth.hash_key(key), auth.display_prefix(key))
    client = app.test_client()
    for text in rows:
        body = client.post(
            "/api/v1/moderate", json={"text": text}, headers={"Authorization": f"Bearer {key}"}
        ).json
        reject = rule(body["scores"]["toxicity"])
        with storage.transaction(engine) as conn:
            outcome = review.decide_comment(
                conn,
                body["id"],
                decision="reject" if reject else "approve",
                actor="mod",
                note=None,
                reason_code="toxicity" if reject else None,
                expected_version=1,
            )
            assert outcome.ok
    return key


@pytest.fixture
def env(config) -> dict[str, str]:
    return {
        "DATABASE_URL": config.database_url,
        "MODERATOR_INSTANCE_PATH": str(config.instance_path),
        "MODERATOR_MODEL_PATH": str(config.model_path),
    }


def quantile(app, rows, q: float) -> float:
    moderation = app.extensions["moderator"].moderation
    scores = sorted(s["toxicity"] for s in moderation.scores(rows))
    return scores[int(q * (len(scores) - 1))]


def test_a_looser_site_gets_its_layer_and_other_sites_keep_the_shared_model(
    app, engine, env, make_site
):
    rows = texts(500, seed=1)
    # This site's moderators let more through than the model holds (13% of these): they
    # reject only the top 7%.
    cutoff = quantile(app, rows, 0.93)
    key = decide_site(app, engine, "loose", rows, lambda s: s >= cutoff)
    other = make_site("other")
    result = CliRunner(env=env).invoke(
        training_cli, ["site", "loose", "--promote", "--reason", "our readers are adults"]
    )
    assert result.exit_code == 0, result.output
    assert "verdict: PROMOTE" in result.output and "promoted loose-layer@" in result.output
    assert "suggested" in result.output
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "loose")
        layer = models.active(conn, site.id)
    assert layer.layer["kind"] == "logistic" and layer.gate["verdict"] == "promote"
    serving = app.extensions["moderator"].serving
    serving.poll_seconds = 0
    client = app.test_client()
    text = {"text": "a perfectly ordinary remark about the weather"}
    client.post("/api/v1/moderate", json=text, headers={"Authorization": f"Bearer {key}"})
    loose = client.post("/api/v1/moderate", json=text, headers={"Authorization": f"Bearer {key}"})
    shared = client.post(
        "/api/v1/moderate", json=text, headers={"Authorization": f"Bearer {other}"}
    )
    assert loose.json["model"].endswith(f"+{layer.label}")
    assert "+" not in shared.json["model"]


def test_a_site_whose_layer_the_gate_refuses_keeps_the_shared_model(app, engine, env):
    rows = texts(320, seed=2)
    # Moderators who reject what the model finds harmless: a layer learnt from them would
    # flag the neutral identity sentences, so the gate refuses it.
    cutoff = quantile(app, rows, 0.5)
    decide_site(app, engine, "contrary", rows, lambda s: s < cutoff)
    result = CliRunner(env=env).invoke(
        training_cli, ["site", "contrary", "--promote", "--reason", "x", "--json"]
    )
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "refuse" and report["reasons"]
    assert "promoted" not in report
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, "contrary")
        assert models.active(conn, site.id) is None


def test_a_site_with_too_few_decisions_keeps_the_shared_model(app, engine, env):
    decide_site(app, engine, "small", texts(40, seed=3), lambda s: s > 0.5)
    result = CliRunner(env=env).invoke(
        training_cli, ["site", "small", "--promote", "--reason", "x"]
    )
    assert result.exit_code == 3
    assert f"at least {MIN_DECISIONS} are needed" in result.output


@pytest.mark.parametrize(
    "args, needle, code",
    [
        (["nosuch"], "no site nosuch", 1),
        (["x", "--promote"], "--promote needs --reason", 2),
        (["x", "--test-share", "2"], "--test-share", 2),
    ],
)
def test_site_command_bad_input(app, env, args, needle, code):
    result = CliRunner(env=env).invoke(training_cli, ["site", *args])
    assert result.exit_code == code and needle in result.output
    assert "Traceback" not in result.output


def test_enough_decisions_needs_both_kinds():
    assert enough(150, 100) is None
    assert "at least 200" in enough(100, 50)
    assert "at least 30 of each" in enough(280, 20)


def test_best_threshold_agrees_most_and_prefers_holding_less():
    assert best_threshold([0.1, 0.2, 0.7, 0.8], [0, 0, 1, 1]) == 0.7
    assert best_threshold([0.5, 0.5], [0, 0]) == 0.95


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "forest"},
        {
            "kind": "logistic",
            "categories": ["toxicity"],
            "coef": [],
            "intercept": 0,
            "hold": 0.5,
            "base": "x",
        },
        {
            "kind": "logistic",
            "categories": ["toxicity"],
            "coef": [1],
            "intercept": 0,
            "hold": 1.5,
            "base": "x",
        },
        {
            "kind": "logistic",
            "categories": ["toxicity"],
            "coef": ["nan"],
            "intercept": 0,
            "hold": 0.5,
            "base": "x",
        },
    ],
    ids=["empty", "kind", "lengths", "hold", "nan"],
)
def test_a_stored_layer_that_is_not_one_is_refused(data):
    with pytest.raises(ValueError):
        SiteLayer.from_dict(1, "l", data)
