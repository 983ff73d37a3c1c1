"""The rest of Perspective's surface, through the app: Google's key header and error shape
for every status, clientToken and context kept, languages answered truthfully, the
decision-reflecting TOXICITY setting, and comments:suggestscore as Coral sends it.

Coral's requests are built as coralproject/talk 9.11.8 builds them
(server/src/core/server/services/perspective/perspective.ts, formatBody):

    comments:analyze      {comment: {text}, doNotStore, requestedAttributes: {[model]: {}},
                           languages: [language]}
    comments:suggestscore {comment: {text}, context: {entries: [{text: JSON.stringify({url,
                           reply_to_id_Coral_comment_id, Coral_comment_id})}]},
                           attributeScores: {[model]: {summaryScore: {value: APPROVED ? 0 : 1}}},
                           languages: [language], communityId: `Coral:${tenantURL}`,
                           clientToken: `comment:${commentID}`}

and posted to `${endpoint}/comments:analyze?key=...` with Content-Type application/json.
"""

from __future__ import annotations

import json

import pytest

from moderator import storage
from moderator.storage import sites
from moderator.storage.tables import comments

pytestmark = pytest.mark.all_databases

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
FRENCH = "Je ne suis pas du tout d'accord avec cet article, c'est n'importe quoi."
LANGUAGE_SAMPLES = {
    "fr": FRENCH,
    "es": "No estoy de acuerdo con nada de lo que dice este artículo, es una vergüenza.",
    "de": "Ich bin mit diesem Artikel überhaupt nicht einverstanden, das ist Unsinn.",
    "pt": "Não concordo com nada do que foi escrito nesta matéria, que vergonha.",
}


def coral_analyze(text: str, language: str = "en", model: str = "TOXICITY") -> dict:
    return {
        "comment": {"text": text},
        "doNotStore": True,
        "requestedAttributes": {model: {}},
        "languages": [language],
    }


def coral_suggest(text: str, comment_id: str, approved: bool, language: str = "en") -> dict:
    entry = json.dumps(
        {
            "url": f"https://news.example/story?commentID={comment_id}",
            "reply_to_id_Coral_comment_id": None,
            "Coral_comment_id": comment_id,
        }
    )
    return {
        "comment": {"text": text},
        "context": {"entries": [{"text": entry}]},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0 if approved else 1}}},
        "languages": [language],
        "communityId": "Coral:https://talk.news.example/",
        "clientToken": f"comment:{comment_id}",
    }


def post(client, path, key, payload, **kwargs):
    return client.post(
        f"{path}?key={key}", data=json.dumps(payload), content_type="application/json", **kwargs
    )


def rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(comments.select().order_by(comments.c.created_at)))


def assert_google_error(response, code: int, status: str) -> dict:
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert set(error) == {"code", "message", "status", "details"}
    assert (error["code"], error["status"]) == (code, status)
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


@pytest.fixture
def scoring(app):
    if app.extensions["moderator"].moderation.model_label is None:
        pytest.skip("no test model: tests/fixtures/train_*.csv not present")


# -- keys -----------------------------------------------------------------------------------


def test_x_goog_api_key_header_is_a_key(client, site_key, scoring):
    response = client.post(
        ANALYZE,
        data=json.dumps(coral_analyze("hello")),
        headers={"X-Goog-Api-Key": site_key},
    )
    assert response.status_code == 200


def test_a_wrong_x_goog_api_key_is_googles_400(client):
    response = client.post(
        ANALYZE, data=json.dumps(coral_analyze("hello")), headers={"X-Goog-Api-Key": "mod_nope"}
    )
    error = assert_google_error(response, 400, "INVALID_ARGUMENT")
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_no_key_is_403(client):
    assert_google_error(client.post(ANALYZE, data="{}"), 403, "PERMISSION_DENIED")


# -- Google's error shape for every status ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "code", "status"),
    [
        ("get", "/v1alpha1/nothing-here", 404, "NOT_FOUND"),
        ("post", "/v1alpha1/comments:list", 404, "NOT_FOUND"),
        ("get", "/v1alpha1", 404, "NOT_FOUND"),
        ("get", ANALYZE, 405, "UNIMPLEMENTED"),
        ("put", SUGGEST, 405, "UNIMPLEMENTED"),
        ("delete", ANALYZE, 405, "UNIMPLEMENTED"),
    ],
)
def test_unknown_routes_and_methods_answer_in_googles_shape(client, method, path, code, status):
    response = getattr(client, method)(path)
    assert_google_error(response, code, status)
    if code == 405:
        assert "POST" in response.headers["Allow"]


def test_oversized_body_is_googles_413(client, site_key):
    response = post(client, ANALYZE, site_key, {"comment": {"text": "x" * 5_000_000}})
    assert_google_error(response, 413, "INVALID_ARGUMENT")


def test_rate_limit_is_googles_429_with_retry_after(config, make_site):
    import dataclasses

    from moderator import create_app

    app = create_app(dataclasses.replace(config, rate_limit="2/minute"))
    storage.upgrade(app.extensions["moderator"].engine)
    client = app.test_client()
    key = "mod_" + "x" * 43
    statuses = [post(client, ANALYZE, key, coral_analyze("hi")).status_code for _ in range(4)]
    response = post(client, ANALYZE, key, coral_analyze("hi"))
    assert statuses[-1] == 429
    assert_google_error(response, 429, "RESOURCE_EXHAUSTED")
    assert int(response.headers["Retry-After"]) >= 1
    app.extensions["moderator"].engine.dispose()


def test_unexpected_failure_is_googles_500(app, client, site_key, monkeypatch):
    from moderator import service

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "moderate", explode)
    assert_google_error(post(client, ANALYZE, site_key, coral_analyze("hi")), 500, "INTERNAL")
    assert_google_error(
        post(client, SUGGEST, site_key, coral_suggest("hi", "c1", True)), 500, "INTERNAL"
    )


def test_classifier_down_is_googles_503_and_the_comment_still_held(app, client, site_key, engine):
    app.extensions["moderator"].moderation.classifier = None
    payload = {**coral_analyze("a fine day"), "doNotStore": False}
    assert_google_error(post(client, ANALYZE, site_key, payload), 503, "UNAVAILABLE")
    [row] = rows(engine)
    assert row.status == "hold"


def test_database_down_is_googles_503(config):
    import dataclasses

    from moderator import create_app

    unreachable = "postgresql+psycopg://nobody:nothing@127.0.0.1:1/none?connect_timeout=2"
    app = create_app(dataclasses.replace(config, database_url=unreachable))
    client = app.test_client()
    for path, payload in (
        (ANALYZE, coral_analyze("hi")),
        (SUGGEST, coral_suggest("hi", "c", True)),
    ):
        response = post(client, path, "mod_" + "y" * 43, payload)
        assert_google_error(response, 503, "UNAVAILABLE")
        assert response.headers["Retry-After"] == "5"


# -- what is kept -----------------------------------------------------------------------------


def test_client_token_is_the_external_id_and_a_retry_is_idempotent(
    client, site_key, headers, engine, scoring
):
    payload = {
        "comment": {"text": "what kind of idiot name is foo?"},
        "requestedAttributes": {"TOXICITY": {}},
        "clientToken": "c-777",
    }
    first = post(client, ANALYZE, site_key, payload)
    again = post(client, ANALYZE, site_key, payload)
    assert first.status_code == again.status_code == 200
    # The replay answers from the stored row, whose scores are kept to 4 decimals.
    value = first.json["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    replayed = again.json["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert replayed == pytest.approx(value, abs=1e-4)
    assert again.json["clientToken"] == "c-777"
    [row] = rows(engine)
    assert (row.external_id, row.door, row.context) == (
        "c-777",
        "perspective",
        {"clientToken": "c-777"},
    )
    found = client.get("/api/v1/comments/c-777", headers=headers)
    assert found.status_code == 200 and found.json["door"] == "perspective"


def test_one_client_token_for_two_texts_does_not_replay_the_first(
    client, site_key, engine, scoring
):
    for text in ("first text here", "second, different text"):
        payload = {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}}}
        assert (
            post(client, ANALYZE, site_key, {**payload, "clientToken": "same"}).status_code == 200
        )
    first, second = rows(engine)
    assert (first.external_id, second.external_id) == ("same", None)
    assert second.context["clientToken"] == "same"


@pytest.mark.parametrize(
    "context",
    [
        {"entries": [{"text": "The parent comment."}, {"text": "an older one"}]},
        {
            "articleAndParentComment": {
                "article": {"text": "News."},
                "parentComment": {"text": "The parent comment."},
            }
        },
    ],
)
def test_context_parent_is_kept_as_parent_text(client, site_key, engine, scoring, context):
    payload = {
        "comment": {"text": "I agree"},
        "requestedAttributes": {"TOXICITY": {}},
        "context": context,
    }
    assert post(client, ANALYZE, site_key, payload).status_code == 200
    assert rows(engine)[0].parent_text == "The parent comment."


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("text", "Invalid value at 'context' (TYPE_MESSAGE)"),
        ({"entries": "x"}, "Invalid value at 'context.entries'"),
        ({"entries": [5]}, "Invalid value at 'context.entries[0]'"),
        ({"entries": [{"text": 5}]}, "Invalid value at 'context.entries[0].text'"),
        ({"entries": [{"text": "a", "type": "HTML"}]}, "Text type HTML"),
        ({"entries": [], "articleAndParentComment": {}}, "Only one of"),
        ({"other": 1}, 'Unknown name "other"'),
        ({"entries": [{"text": "x" * 20481}]}, "Context text was too many bytes"),
        ({"entries": [{"text": "a\x00b"}]}, "context.entries[0].text"),
    ],
)
def test_bad_context_is_invalid_argument_and_stores_nothing(
    client, site_key, engine, context, message
):
    payload = {
        "comment": {"text": "hi"},
        "requestedAttributes": {"TOXICITY": {}},
        "context": context,
    }
    error = assert_google_error(post(client, ANALYZE, site_key, payload), 400, "INVALID_ARGUMENT")
    assert message in error["message"]
    assert rows(engine) == []


def test_drop_unsupported_attributes_leaves_them_out(client, site_key, scoring):
    payload = {
        "comment": {"text": "hello"},
        "requestedAttributes": {"TOXICITY": {}, "FLIRTATION": {}},
        "dropUnsupportedAttributes": True,
        "doNotStore": True,
    }
    response = post(client, ANALYZE, site_key, payload)
    assert list(response.json["attributeScores"]) == ["TOXICITY"]


# -- languages --------------------------------------------------------------------------------


def test_coral_english_analyze_is_scored_and_stores_nothing(client, site_key, engine, scoring):
    response = post(client, ANALYZE, site_key, coral_analyze("what kind of idiot name is foo?"))
    assert response.status_code == 200
    # toxic.ts: result.data.attributeScores[model].summaryScore.value
    score = response.json["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    assert 0.0 <= score <= 1.0
    assert response.json["detectedLanguages"] == ["en"]
    assert rows(engine) == []  # Coral sends doNotStore: true


@pytest.mark.parametrize("language", ["fr", "es", "de", "pt"])
def test_coral_non_english_analyze_is_perspectives_language_error(
    client, site_key, engine, language
):
    # convertLanguage(locale): fr-FR -> fr, es -> es, de -> de, pt-BR -> pt.
    payload = {**coral_analyze(LANGUAGE_SAMPLES[language], language), "doNotStore": False}
    response = post(client, ANALYZE, site_key, payload)
    error = assert_google_error(response, 400, "INVALID_ARGUMENT")
    assert error["message"] == f"Attribute TOXICITY does not support request languages: {language}"
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            "languageNotSupportedByAttributeError": {
                "attribute": "TOXICITY",
                "requestedLanguages": [language],
                "detectedLanguages": [language],
            },
        }
    ]
    assert rows(engine) == []


def test_undeclared_foreign_text_is_reported_truthfully_and_held(client, site_key, engine, scoring):
    payload = {"comment": {"text": FRENCH}, "requestedAttributes": {"TOXICITY": {}}}
    response = post(client, ANALYZE, site_key, payload)
    assert response.status_code == 200
    assert response.json["detectedLanguages"] == ["fr"]
    assert response.json["languages"] == ["fr"]
    [row] = rows(engine)
    assert (row.status, row.language) == ("hold", "fr")
    assert row.reasons[-1]["category"] == "language_unsupported"


def test_foreign_text_sent_as_en_is_detected_anyway(client, site_key, engine, scoring):
    # Coral sends "en" for every locale it can't map (e.g. it-IT).
    text = "Non sono per niente d'accordo con questo articolo, è una vergogna."
    payload = {**coral_analyze(text, "en"), "doNotStore": False}
    response = post(client, ANALYZE, site_key, payload)
    assert response.status_code == 200
    assert response.json["languages"] == ["en"]
    assert response.json["detectedLanguages"] == ["it"]
    assert rows(engine)[0].status == "hold"


def test_too_short_to_tell_is_und(client, site_key, scoring):
    payload = {
        "comment": {"text": "!!! 123"},
        "requestedAttributes": {"TOXICITY": {}},
        "doNotStore": True,
    }
    response = post(client, ANALYZE, site_key, payload)
    assert response.json["detectedLanguages"] == ["und"]
    assert response.json["languages"] == ["en"]


# -- TOXICITY reflecting the site's decision ----------------------------------------------------


def reflecting(engine, on: bool = True):
    with storage.transaction(engine) as conn:
        sites.set_options(conn, "example", perspective_reflects_decision=on)
        sites.set_thresholds(conn, "example", {"toxicity": {"hold": 0.6, "reject": 0.9}})


def toxicity(client, key, text) -> float:
    response = post(client, ANALYZE, key, coral_analyze(text))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["attributeScores"]["TOXICITY"]["summaryScore"]["value"]


def test_off_by_default_a_suspect_word_does_not_lift_toxicity(client, site_key, engine, scoring):
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "suspect", ["bananas:obscene"])
    # The case: held by the API, yet a low TOXICITY through the Perspective door.
    assert toxicity(client, site_key, "I like bananas a lot") < 0.6


def test_reflecting_makes_corals_threshold_hold_what_we_hold(client, site_key, engine, scoring):
    reflecting(engine)
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "suspect", ["bananas:obscene"])
        sites.set_words(conn, "example", "block", ["wombat"])
    coral_threshold = 0.6 - 0.005  # toxic.ts: const isToxic = score > threshold;
    held = toxicity(client, site_key, "I like bananas a lot")
    rejected = toxicity(client, site_key, "you wombat")
    allowed = toxicity(client, site_key, "What a lovely day for a walk in the park")
    assert held >= 0.6 and held > coral_threshold
    assert rejected >= 0.9
    assert allowed <= 0.59 and not allowed > coral_threshold


def test_reflecting_holds_an_undeclared_foreign_comment_in_coral(client, site_key, engine, scoring):
    reflecting(engine)
    text = "Non sono per niente d'accordo con questo articolo, è una vergogna."
    assert toxicity(client, site_key, text) >= 0.6


# -- comments:suggestscore ---------------------------------------------------------------------


def test_coral_feedback_becomes_a_label(client, site_key, engine, config, tmp_path):
    response = post(client, SUGGEST, site_key, coral_suggest("you utter wombat", "c-91", False))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {
        "clientToken": "comment:c-91",
        "requestedLanguages": ["en"],
        "detectedLanguages": ["en"],
    }
    [row] = rows(engine)
    assert (row.human_decision, row.reason_code, row.decided_by) == (
        "reject",
        "toxicity",
        "suggestscore",
    )
    assert (row.external_id, row.door) == ("comment:c-91", "suggestscore")
    assert row.url == "https://news.example/story?commentID=c-91"
    assert row.context["coral_comment_id"] == "c-91"
    assert row.parent_text is None

    from click.testing import CliRunner

    from training.cli import cli as training_cli

    out = tmp_path / "labels.csv"
    result = CliRunner(env={"DATABASE_URL": config.database_url}).invoke(
        training_cli, ["export-labels", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    exported = out.read_text(encoding="utf-8")
    assert "you utter wombat" in exported and "suggestscore" in exported


def test_an_approval_labels_the_comment_analyzed_with_the_same_token(
    client, site_key, engine, scoring
):
    payload = {
        "comment": {"text": "a perfectly fine remark"},
        "requestedAttributes": {"TOXICITY": {}},
        "clientToken": "comment:c-5",
    }
    assert post(client, ANALYZE, site_key, payload).status_code == 200
    response = post(
        client, SUGGEST, site_key, coral_suggest("a perfectly fine remark", "c-5", True)
    )
    assert response.status_code == 200
    [row] = rows(engine)
    assert (row.human_decision, row.status) == ("approve", "allow")


def test_a_second_suggestion_keeps_the_first_decision(client, site_key, engine):
    post(client, SUGGEST, site_key, coral_suggest("borderline words", "c-6", True))
    response = post(client, SUGGEST, site_key, coral_suggest("borderline words", "c-6", False))
    assert response.status_code == 200
    [row] = rows(engine)
    assert row.human_decision == "approve"


def test_insult_suggestion_is_an_insult_rejection(client, site_key, engine):
    payload = {
        "comment": {"text": "you absolute muppet"},
        "attributeScores": {
            "TOXICITY": {"summaryScore": {"value": 1}},
            "INSULT": {"summaryScore": {"value": 1, "type": "PROBABILITY"}},
        },
    }
    assert post(client, SUGGEST, site_key, payload).status_code == 200
    assert rows(engine)[0].reason_code == "insult"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"comment": {"text": "x"}}, "Attribute scores must be non-empty."),
        ({"comment": {"text": "x"}, "attributeScores": {}}, "Attribute scores must be non-empty."),
        ({"comment": {"text": "x"}, "attributeScores": {"TOXICITY": {}}}, "must not be empty"),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 2}}},
            },
            "TYPE_FLOAT",
        ),
        (
            {"comment": {"text": "x"}, "attributeScores": {"TOXICITY": {"summaryScore": {}}}},
            "explicitly set",
        ),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": True}}},
            },
            "TYPE_FLOAT",
        ),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"FLIRTATION": {"summaryScore": {"value": 1}}},
            },
            "does not support",
        ),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"TOXICITY": {"spanScores": [{"score": {"value": 1}}]}},
            },
            "begin and end",
        ),
        (
            {
                "comment": {"text": "x"},
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1, "type": "RAW"}}},
            },
            "Score type RAW",
        ),
        (
            {"attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}},
            "Comment must be non-empty.",
        ),
        ({"comment": {"text": "x"}, "attributeScores": [1]}, "TYPE_MESSAGE"),
        (
            {
                "comment": {"text": "x"},
                "doNotStore": True,
                "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
            },
            'Unknown name "doNotStore"',
        ),
    ],
)
def test_bad_suggestions_are_invalid_argument_and_store_nothing(
    client, site_key, engine, payload, message
):
    error = assert_google_error(post(client, SUGGEST, site_key, payload), 400, "INVALID_ARGUMENT")
    assert message in error["message"]
    assert rows(engine) == []


@pytest.mark.parametrize("raw", [b"", b"null", b"[]", b"\xff", b"{" * 10000, b'{"comment": 5}'])
def test_malformed_suggest_bodies_are_400(client, site_key, raw):
    response = client.post(f"{SUGGEST}?key={site_key}", data=raw)
    assert_google_error(response, 400, "INVALID_ARGUMENT")
