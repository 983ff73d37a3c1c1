"""Google's own client, pointed at a live Moderator: the discovery document is good enough for
`googleapiclient.discovery.build("commentanalyzer", "v1alpha1", ...)`, exactly as Perspective's
Python sample calls it, and analyze, suggestscore and errors work through it.
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from moderator import storage
from moderator.storage.tables import comments

googleapiclient = pytest.importorskip("googleapiclient")

from googleapiclient import discovery  # noqa: E402
from googleapiclient.errors import HttpError  # noqa: E402


@pytest.fixture
def live(app):
    """The test app served over HTTP on a free loopback port, for the duration of a test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def perspective(live, site_key):
    # Perspective's sample (1-get-started/sample.md), with our host in discoveryServiceUrl.
    client = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=site_key,
        discoveryServiceUrl=f"{live}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )
    yield client
    client.close()


def test_discovery_document_is_served_without_a_key(client):
    response = client.get("/$discovery/rest?version=v1alpha1")
    assert response.status_code == 200
    doc = response.json
    assert (doc["name"], doc["version"], doc["rootUrl"]) == (
        "commentanalyzer",
        "v1alpha1",
        "http://localhost/",
    )
    methods = doc["resources"]["comments"]["methods"]
    assert methods["analyze"]["path"] == "v1alpha1/comments:analyze"
    assert methods["suggestscore"]["request"] == {"$ref": "SuggestCommentScoreRequest"}


def test_other_discovery_versions_are_googles_404(client):
    response = client.get("/$discovery/rest?version=v1")
    assert response.status_code == 404
    assert response.json["error"]["status"] == "NOT_FOUND"


def test_googleapiclient_analyzes_a_comment(perspective, app, engine):
    if app.extensions["moderator"].moderation.model_label is None:
        pytest.skip("no test model")
    analyze_request = {
        "comment": {"text": "friendly greetings from python"},
        "requestedAttributes": {"TOXICITY": {}},
    }
    response = perspective.comments().analyze(body=analyze_request).execute()
    score = response["attributeScores"]["TOXICITY"]["summaryScore"]
    assert score["type"] == "PROBABILITY" and 0.0 <= score["value"] <= 1.0
    assert response["detectedLanguages"] == ["en"]
    with engine.connect() as conn:
        [row] = conn.execute(comments.select()).all()
    assert row.door == "perspective"


def test_googleapiclient_suggests_a_score(perspective, engine):
    body = {
        "comment": {"text": "you absolute wombat"},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
        "clientToken": "gc-1",
    }
    response = perspective.comments().suggestscore(body=body).execute()
    assert response["clientToken"] == "gc-1"
    with storage.reading(engine) as conn:
        [row] = conn.execute(comments.select()).all()
    assert row.human_decision == "reject"


def test_googleapiclient_sees_googles_errors(perspective):
    bad = {"comment": {"text": "hi"}, "requestedAttributes": {"FLIRTATION": {}}}
    with pytest.raises(HttpError) as caught:
        perspective.comments().analyze(body=bad).execute()
    assert caught.value.status_code == 400
    assert "does not support request languages" in caught.value.reason
    assert caught.value.error_details[0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"


def test_googleapiclient_with_a_wrong_key_is_refused(live):
    client = discovery.build(
        "commentanalyzer",
        "v1alpha1",
        developerKey="mod_wrong",
        discoveryServiceUrl=f"{live}/$discovery/rest?version=v1alpha1",
        static_discovery=False,
        cache_discovery=False,
    )
    with pytest.raises(HttpError) as caught:
        client.comments().analyze(
            body={"comment": {"text": "hi"}, "requestedAttributes": {"TOXICITY": {}}}
        ).execute()
    assert caught.value.status_code == 400
    assert "API key not valid" in caught.value.reason
    client.close()
