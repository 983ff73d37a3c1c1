"""The Perspective-compatible endpoint: request parsing, score mapping, errors, storage.

The request bodies marked "Perspective docs" are copied from Perspective's public
documentation (conversationai/perspectiveapi on GitHub, which developers.perspectiveapi.com
was built from):
  - 2-api/methods.md, "AnalyzeComment example" (TOXICITY + UNSUBSTANTIAL, languages en);
  - 1-get-started/sample.md, "Using Python" (the `data_dict` it posts, without a
    Content-Type header);
and the error messages marked "Perspective errors" are ones the real service returned,
quoted in public issue threads:
  - atom/biohazard-alert#11 and #20: `{"error": {"code": 400, "message": "Attribute PROFANITY
    does not support request languages: it", "status": "INVALID_ARGUMENT"}}`;
  - stanford-crfm/helm#1149: `Comment text was too many bytes. Value (23368) exceeded
    limit (20480).`
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from moderator import perspective
from moderator.perspective import GoogleError
from moderator.perspective import parse_request
from moderator.perspective import severe_toxicity
from moderator.policy import Action
from moderator.policy import Decision
from moderator.policy import Reason
from moderator.policy import Source

LIMIT = 20480

# Perspective docs, 2-api/methods.md, "AnalyzeComment example" request.
METHODS_EXAMPLE = {
    "comment": {"text": "What kind of idiot name is foo? Sorry, I like your name."},
    "languages": ["en"],
    "requestedAttributes": {"TOXICITY": {}, "UNSUBSTANTIAL": {}},
}

# Perspective docs, 1-get-started/sample.md, "Using Python": the data_dict it posts.
SAMPLE_PYTHON = {
    "comment": {"text": "what kind of idiot name is foo?"},
    "languages": ["en"],
    "requestedAttributes": {"TOXICITY": {}},
}

# The full request shape from Perspective's 2-api/methods.md field table, all six of our attributes.
FULL_REQUEST = {
    "comment": {
        "text": "What kind of idiot name is foo? Sorry, I like your name.",
        "type": "PLAIN_TEXT",
    },
    "requestedAttributes": {
        "TOXICITY": {},
        "SEVERE_TOXICITY": {},
        "INSULT": {},
        "PROFANITY": {},
        "THREAT": {},
        "IDENTITY_ATTACK": {},
    },
    "languages": ["en"],
    "doNotStore": True,
    "clientToken": "comment-53922",
    "spanAnnotations": True,
}


def body(obj) -> bytes:
    return json.dumps(obj).encode("utf-8")


def error_of(raw: bytes) -> dict:
    with pytest.raises(GoogleError) as caught:
        parse_request(raw, LIMIT)
    return caught.value.to_dict()["error"]


# --- parsing -------------------------------------------------------------------------------


def test_parse_the_sample_python_request():
    request = parse_request(body(SAMPLE_PYTHON), LIMIT)
    assert request.text == "what kind of idiot name is foo?"
    assert [a.key for a in request.attributes] == ["TOXICITY"]
    assert request.languages == ("en",)
    assert request.do_not_store is False
    assert request.span_annotations is False
    assert request.client_token is None


def test_parse_the_full_request_keeps_every_option():
    request = parse_request(body(FULL_REQUEST), LIMIT)
    assert [a.name for a in request.attributes] == list(FULL_REQUEST["requestedAttributes"])
    assert request.do_not_store is True
    assert request.span_annotations is True
    assert request.client_token == "comment-53922"


def test_methods_example_asks_for_an_attribute_we_do_not_have():
    # Perspective docs' own example requests UNSUBSTANTIAL, an NYT attribute we don't score.
    error = error_of(body(METHODS_EXAMPLE))
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == "Attribute UNSUBSTANTIAL does not support request languages: en"
    # Perspective's own detail for an attribute or language it can't score.
    assert error["details"] == [
        {
            "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            "languageNotSupportedByAttributeError": {
                "attribute": "UNSUBSTANTIAL",
                "requestedLanguages": ["en"],
            },
        }
    ]


def test_unsupported_language_gets_perspectives_message():
    # Perspective errors: "Attribute PROFANITY does not support request languages: it".
    request = {**SAMPLE_PYTHON, "languages": ["it"], "requestedAttributes": {"PROFANITY": {}}}
    error = error_of(body(request))
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "Attribute PROFANITY does not support request languages: it"


def test_flirtation_is_not_supported_in_english():
    request = {**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY": {}, "FLIRTATION": {}}}
    assert error_of(body(request))["message"] == (
        "Attribute FLIRTATION does not support request languages: en"
    )


@pytest.mark.parametrize("languages", [["en"], ["EN"], ["en-US"], ["en_GB"], ["fr", "en"], []])
def test_english_in_any_form_is_accepted(languages):
    request = parse_request(body({**SAMPLE_PYTHON, "languages": languages}), LIMIT)
    assert request.languages == tuple(languages)


@pytest.mark.parametrize("code", ["", "  ", "x" * 36, "en\x07", "e\x85n", "\x00"])
def test_language_codes_the_document_calls_invalid_are_refused(code):
    # The OpenAPI document states these rules as a pattern; the server keeps to the same ones.
    message = error_of(body({**SAMPLE_PYTHON, "languages": ["en", code]}))["message"]
    assert message.startswith("Unknown language code")


@pytest.mark.parametrize("code", ["de-CH", "\u03b5\u03bb", "x-klingon", "en\u200b"])
def test_other_printable_language_codes_beside_english_are_accepted(code):
    request = parse_request(body({**SAMPLE_PYTHON, "languages": ["en", code]}), LIMIT)
    assert request.languages == ("en", code)


def test_attribute_version_suffix_is_accepted_and_echoed():
    request = parse_request(
        body({**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY@6": {}}}), LIMIT
    )
    assert (request.attributes[0].key, request.attributes[0].name) == ("TOXICITY@6", "TOXICITY")


def test_text_over_the_limit_gets_perspectives_message():
    # Perspective errors: "Comment text was too many bytes. Value (23368) exceeded limit (20480)."
    text = "é" * 11684  # 23368 UTF-8 bytes, the size in the quoted error
    error = error_of(body({**SAMPLE_PYTHON, "comment": {"text": text}}))
    assert error["code"] == 400
    assert (
        error["message"] == "Comment text was too many bytes. Value (23368) exceeded limit (20480)."
    )


def test_text_at_the_limit_is_accepted():
    parse_request(body({**SAMPLE_PYTHON, "comment": {"text": "a" * LIMIT}}), LIMIT)


BAD_BODIES = [
    (b"", "Invalid JSON payload received. Unexpected token."),
    (b"{comment: ", "Invalid JSON payload received. Unexpected token."),
    (b"\xff\xfe{}", "Invalid JSON payload received. Unexpected token."),
    (b"[]", 'Invalid JSON payload received. Unknown name "": Root element must be a message.'),
    (b'"text"', 'Invalid JSON payload received. Unknown name "": Root element must be a message.'),
    (body({"requestedAttributes": {"TOXICITY": {}}}), "Comment must be non-empty."),
    (body({**SAMPLE_PYTHON, "comment": {}}), "Comment must be non-empty."),
    (body({**SAMPLE_PYTHON, "comment": {"text": ""}}), "Comment must be non-empty."),
    (body({**SAMPLE_PYTHON, "comment": {"text": " \n\t "}}), "Comment must be non-empty."),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "\u200b\u200d"}}),
        "Invalid value at 'comment.text': must not be blank",
    ),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": 5}}),
        "Invalid value at 'comment.text' (TYPE_STRING), 5",
    ),
    (body({**SAMPLE_PYTHON, "comment": "hi"}), "Invalid value at 'comment' (TYPE_MESSAGE), \"hi\""),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "hi", "type": "HTML"}}),
        "Text type HTML is not supported; send PLAIN_TEXT.",
    ),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "hi", "type": "XML"}}),
        "Invalid value at 'comment.type' (TYPE_ENUM), \"XML\"",
    ),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "0", "type": {}}}),
        "Invalid value at 'comment.type' (TYPE_ENUM), {}",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY": {"scoreType": ["RAW"]}}}),
        "Invalid value at 'requestedAttributes.TOXICITY.scoreType' (TYPE_ENUM), [\"RAW\"]",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": {"": None}}),
        "Attribute  does not support request languages: en",
    ),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "hi", "lang": "en"}}),
        "Invalid JSON payload received. Unknown name \"lang\" at 'comment': Cannot find field.",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttribute": {}}),
        'Invalid JSON payload received. Unknown name "requestedAttribute": Cannot find field.',
    ),
    (body({**SAMPLE_PYTHON, "requestedAttributes": {}}), "Requested attributes must be non-empty."),
    (
        body({"comment": {"text": "hi"}}),
        "Requested attributes must be non-empty.",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": ["TOXICITY"]}),
        "Invalid value at 'requestedAttributes' (TYPE_MESSAGE), [\"TOXICITY\"]",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}}),
        "Attribute TOXICITY does not support score type RAW.",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}),
        "Invalid value at 'requestedAttributes.TOXICITY.scoreThreshold' (TYPE_FLOAT), 2",
    ),
    (
        body({**SAMPLE_PYTHON, "requestedAttributes": {"TOXICITY": {"scoreThreshold": True}}}),
        "Invalid value at 'requestedAttributes.TOXICITY.scoreThreshold' (TYPE_FLOAT), true",
    ),
    (
        body({**SAMPLE_PYTHON, "doNotStore": "yes"}),
        "Invalid value at 'doNotStore' (TYPE_BOOL), \"yes\"",
    ),
    (
        body({**SAMPLE_PYTHON, "spanAnnotations": 1}),
        "Invalid value at 'spanAnnotations' (TYPE_BOOL), 1",
    ),
    (body({**SAMPLE_PYTHON, "clientToken": 7}), "Invalid value at 'clientToken' (TYPE_STRING), 7"),
    (
        body({**SAMPLE_PYTHON, "languages": "en"}),
        "Invalid value at 'languages' (TYPE_STRING), \"en\"",
    ),
    (
        body({**SAMPLE_PYTHON, "languages": [None]}),
        "Invalid value at 'languages' (TYPE_STRING), null",
    ),
    (
        b'{"comment": {"text": "\\ud800 lone"}, "requestedAttributes": {"TOXICITY": {}}}',
        "Invalid value at 'comment.text': contains an unpaired surrogate (invalid Unicode)",
    ),
    (
        body({**SAMPLE_PYTHON, "comment": {"text": "nul\x00byte"}}),
        "Invalid value at 'comment.text': must not contain NUL (\\u0000)",
    ),
]


def test_deeply_nested_json_is_a_400_not_a_crash():
    raw = b'{"comment": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert error_of(raw)["message"] == "Invalid JSON payload received. Unexpected token."


def test_huge_names_are_not_echoed_back():
    name = "A" * 100_000
    error = error_of(body({**SAMPLE_PYTHON, "requestedAttributes": {name: {}}}))
    assert len(error["message"]) < 200
    error = error_of(body({**SAMPLE_PYTHON, name: 1}))
    assert len(error["message"]) < 200


@pytest.mark.parametrize(("raw", "message"), BAD_BODIES)
def test_bad_bodies_get_invalid_argument(raw, message):
    error = error_of(raw)
    assert error == {
        "code": 400,
        "message": message,
        "status": "INVALID_ARGUMENT",
        "details": error["details"],
    }
    detail = error["details"][0]
    if detail.get("errorType") == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE":
        assert detail["@type"] == "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
    else:
        assert detail["fieldViolations"][0]["description"] == message


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('you idiot')</script>",
        "Ｆｕｌｌｗｉｄｔｈ and RTL \u202eevil\u202c text",
        "emoji 💩 and combining e\u0301",
        "zero\u200bwidth",
    ],
)
def test_hostile_and_odd_text_is_accepted_as_is(text):
    assert parse_request(body({**SAMPLE_PYTHON, "comment": {"text": text}}), LIMIT).text == text


# --- scores --------------------------------------------------------------------------------

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
CATS = ("toxicity", "obscene", "insult", "identity_attack", "threat")


@given(st.fixed_dictionaries({c: unit for c in CATS}), st.sampled_from(CATS), unit)
@settings(max_examples=300, deadline=None)
def test_severe_toxicity_never_decreases_when_a_score_rises(scores, category, bump):
    higher = {**scores, category: max(scores[category], bump)}
    assert severe_toxicity(higher) >= severe_toxicity(scores)


@given(st.fixed_dictionaries({c: unit for c in CATS}))
@settings(max_examples=300, deadline=None)
def test_severe_toxicity_is_a_probability_not_above_toxicity(scores):
    value = severe_toxicity(scores)
    assert 0.0 <= value <= scores["toxicity"]


def test_severe_toxicity_needs_toxicity_and_a_severe_category():
    assert severe_toxicity({"toxicity": 0.9, "insult": 0.9}) == 0.0
    assert severe_toxicity({"toxicity": 0.0, "threat": 1.0}) == 0.0
    assert severe_toxicity({"toxicity": 0.9, "threat": 0.8, "obscene": 0.5}) == pytest.approx(0.72)
    assert severe_toxicity({}) == 0.0


def decision_with(scores, reasons=()):
    return Decision(action=Action.HOLD, scores=scores, reasons=tuple(reasons))


def test_attribute_scores_map_our_categories():
    request = parse_request(body(FULL_REQUEST), LIMIT)
    scores = {
        "toxicity": 0.8,
        "obscene": 0.3,
        "insult": 0.7,
        "identity_attack": 0.1,
        "threat": 0.05,
    }
    out = perspective.attribute_scores(request, decision_with(scores))
    assert list(out) == list(FULL_REQUEST["requestedAttributes"])
    values = {k: v["summaryScore"]["value"] for k, v in out.items()}
    assert values == {
        "TOXICITY": 0.8,
        "SEVERE_TOXICITY": pytest.approx(0.24),
        "INSULT": 0.7,
        "PROFANITY": 0.3,
        "THREAT": 0.05,
        "IDENTITY_ATTACK": 0.1,
    }
    assert {v["summaryScore"]["type"] for v in out.values()} == {"PROBABILITY"}


def test_span_scores_come_from_reasons_in_utf16_offsets():
    text = "💩 you idiot"  # the emoji is two UTF-16 code units
    request = parse_request(
        body(
            {
                "comment": {"text": text},
                "requestedAttributes": {"INSULT": {}},
                "spanAnnotations": True,
            }
        ),
        LIMIT,
    )
    reason = Reason("insult", 0.93, Source.CLASSIFIER, words=("idiot",), spans=((6, 11),))
    out = perspective.attribute_scores(request, decision_with({"insult": 0.93}, [reason]))
    assert out["INSULT"]["spanScores"] == [
        {"begin": 7, "end": 12, "score": {"value": 0.93, "type": "PROBABILITY"}}
    ]


def test_without_reasons_the_span_is_the_whole_text():
    request = parse_request(
        body(
            {
                "comment": {"text": "fine 💐"},
                "requestedAttributes": {"THREAT": {}},
                "spanAnnotations": True,
            }
        ),
        LIMIT,
    )
    out = perspective.attribute_scores(request, decision_with({"threat": 0.01}))
    assert out["THREAT"]["spanScores"] == [
        {"begin": 0, "end": 7, "score": {"value": 0.01, "type": "PROBABILITY"}}
    ]


def test_no_span_scores_unless_asked():
    request = parse_request(body(SAMPLE_PYTHON), LIMIT)
    out = perspective.attribute_scores(request, decision_with({"toxicity": 0.9}))
    assert out == {"TOXICITY": {"summaryScore": {"value": 0.9, "type": "PROBABILITY"}}}


def test_a_block_word_raises_its_attribute_to_one():
    request = parse_request(
        body({**SAMPLE_PYTHON, "requestedAttributes": {"PROFANITY": {}}}), LIMIT
    )
    reason = Reason("obscene", 1.0, Source.WORDLIST, words=("crap",), spans=((0, 4),))
    out = perspective.attribute_scores(request, decision_with({"obscene": 0.2}, [reason]))
    assert out["PROFANITY"]["summaryScore"]["value"] == 1.0


def test_scores_below_a_requested_threshold_are_left_out():
    request = parse_request(
        body(
            {
                **SAMPLE_PYTHON,
                "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.5}, "INSULT": {}},
            }
        ),
        LIMIT,
    )
    out = perspective.attribute_scores(request, decision_with({"toxicity": 0.4, "insult": 0.1}))
    assert list(out) == ["INSULT"]


def test_response_echoes_languages_and_client_token():
    request = parse_request(body(FULL_REQUEST), LIMIT)
    out = perspective.render_response(request, decision_with({"toxicity": 0.5}))
    assert out["languages"] == ["en"]
    assert out["detectedLanguages"] == ["en"]
    assert out["clientToken"] == "comment-53922"
    without = perspective.render_response(
        parse_request(body({**SAMPLE_PYTHON, "languages": []}), LIMIT), decision_with({})
    )
    assert without["languages"] == ["en"]
    assert "clientToken" not in without


# --- the endpoint, through the app ---------------------------------------------------------

URL = "/v1alpha1/comments:analyze"


def stored(engine) -> list:
    from sqlalchemy import select

    from moderator.storage.tables import comments

    with engine.connect() as conn:
        return list(conn.execute(select(comments)))


@pytest.fixture
def scoring(app):
    """Skip when the test model isn't available (the 503 path is tested separately)."""
    if app.extensions["moderator"].moderation.model_label is None:
        pytest.skip("no test model: tests/fixtures/train_*.csv not present")


@pytest.mark.all_databases
def test_sample_python_request_with_key_param_and_no_content_type(
    client, site_key, engine, scoring
):
    # Perspective's Python sample posts data=json.dumps(data_dict), with no Content-Type.
    response = client.post(f"{URL}?key={site_key}", data=json.dumps(SAMPLE_PYTHON))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    data = response.json
    assert set(data) == {"attributeScores", "languages", "detectedLanguages"}
    summary = data["attributeScores"]["TOXICITY"]["summaryScore"]
    assert summary["type"] == "PROBABILITY" and 0.0 <= summary["value"] <= 1.0
    assert "spanScores" not in data["attributeScores"]["TOXICITY"]
    assert data["languages"] == ["en"]
    [row] = stored(engine)  # doNotStore defaults to false: stored like /api/v1/moderate
    assert row.text == SAMPLE_PYTHON["comment"]["text"]
    assert row.scores["toxicity"] == pytest.approx(summary["value"], abs=1e-4)


@pytest.mark.all_databases
def test_full_request_with_bearer_and_do_not_store(client, headers, engine, scoring):
    # Raw JSON: the test client's json= would sort the keys, and the order is under test.
    response = client.post(URL, data=json.dumps(FULL_REQUEST), headers=headers)
    assert response.status_code == 200, response.json
    data = response.json
    assert list(data["attributeScores"]) == list(FULL_REQUEST["requestedAttributes"])
    assert data["clientToken"] == "comment-53922"
    text = FULL_REQUEST["comment"]["text"]
    for name, entry in data["attributeScores"].items():
        assert 0.0 <= entry["summaryScore"]["value"] <= 1.0, name
        assert entry["spanScores"], name
        for span in entry["spanScores"]:
            assert 0 <= span["begin"] < span["end"] <= len(text)
            assert span["score"]["type"] == "PROBABILITY"
    assert stored(engine) == []  # doNotStore honoured


def test_scores_match_the_moderate_endpoint(client, headers, scoring):
    text = "Shut up, you worthless idiot, or I will hurt you."
    ours = client.post(
        "/api/v1/moderate", json={"text": text, "store": False}, headers=headers
    ).json["scores"]
    request = {**FULL_REQUEST, "comment": {"text": text}}
    theirs = client.post(URL, json=request, headers=headers).json["attributeScores"]
    value = {k: v["summaryScore"]["value"] for k, v in theirs.items()}
    for attribute, category in perspective.ATTRIBUTES.items():
        assert value[attribute] == pytest.approx(ours[category], abs=1e-4), attribute
    assert value["SEVERE_TOXICITY"] == pytest.approx(severe_toxicity(ours), abs=1e-3)


def test_missing_key_is_permission_denied(client, engine):
    response = client.post(URL, json=SAMPLE_PYTHON)
    assert response.status_code == 403
    assert response.json["error"]["status"] == "PERMISSION_DENIED"
    assert response.json["error"]["message"] == "The request is missing a valid API key."
    assert stored(engine) == []


@pytest.mark.parametrize("key", ["mod_not-a-real-key", "AIzaSyFakeGoogleKey", "x" * 500])
def test_bad_key_is_api_key_invalid(client, key):
    response = client.post(f"{URL}?key={key}", json=SAMPLE_PYTHON)
    assert response.status_code == 400
    error = response.json["error"]
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


def test_revoked_key_is_rejected(client, engine, site_key):
    from moderator import storage
    from moderator.storage import sites

    with storage.transaction(engine) as conn:
        sites.revoke_site(conn, "example")
    response = client.post(f"{URL}?key={site_key}", json=SAMPLE_PYTHON)
    assert response.status_code == 400


@pytest.mark.all_databases
def test_unsupported_attribute_is_an_error_and_nothing_is_stored(client, headers, engine):
    response = client.post(URL, json=METHODS_EXAMPLE, headers=headers)
    assert response.status_code == 400
    assert response.json == {
        "error": {
            "code": 400,
            "message": "Attribute UNSUBSTANTIAL does not support request languages: en",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                    "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                    "languageNotSupportedByAttributeError": {
                        "attribute": "UNSUBSTANTIAL",
                        "requestedLanguages": ["en"],
                    },
                }
            ],
        }
    }
    assert stored(engine) == []


def test_text_over_the_limit_through_the_app(client, headers, engine):
    text = "x" * 20481
    response = client.post(URL, json={**SAMPLE_PYTHON, "comment": {"text": text}}, headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["message"] == (
        "Comment text was too many bytes. Value (20481) exceeded limit (20480)."
    )
    assert stored(engine) == []


def test_body_over_max_content_length_is_413_in_google_shape(config, site_key):
    import dataclasses

    from moderator import create_app

    small = create_app(dataclasses.replace(config, max_text_bytes=100, max_content_length=200))
    client = small.test_client()
    big = {**SAMPLE_PYTHON, "comment": {"text": "x" * 300}}
    response = client.post(f"{URL}?key={site_key}", json=big)
    assert response.status_code == 413
    assert response.json["error"]["code"] == 413
    assert response.json["error"]["message"] == "Request payload size exceeds the limit."
    small.extensions["moderator"].engine.dispose()


def test_rate_limit_answers_resource_exhausted(config, site_key):
    import dataclasses

    from moderator import create_app

    limited = create_app(dataclasses.replace(config, rate_limit="2/minute"))
    client = limited.test_client()
    statuses = [
        client.post(f"{URL}?key={site_key}", json=METHODS_EXAMPLE).status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]
    response = client.post(f"{URL}?key={site_key}", json=METHODS_EXAMPLE)
    assert response.json["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert int(response.headers["Retry-After"]) >= 1
    limited.extensions["moderator"].engine.dispose()


@pytest.mark.all_databases
def test_classifier_unavailable_is_503_but_the_comment_is_held(config, tmp_path):
    import dataclasses

    from moderator import auth
    from moderator import create_app
    from moderator import storage
    from moderator.storage import sites

    broken = create_app(dataclasses.replace(config, model_path=tmp_path / "no-model"))
    engine = broken.extensions["moderator"].engine
    storage.upgrade(engine)
    key = auth.generate_key()
    with storage.transaction(engine) as conn:
        sites.create_site(conn, "no-model", auth.hash_key(key), auth.display_prefix(key))
    client = broken.test_client()
    response = client.post(f"{URL}?key={key}", json=SAMPLE_PYTHON)
    assert response.status_code == 503
    assert response.json["error"]["status"] == "UNAVAILABLE"
    [row] = stored(engine)
    assert row.decision == "hold"
    assert row.reasons[0]["category"] == "classifier_unavailable"
    response = client.post(f"{URL}?key={key}", json={**SAMPLE_PYTHON, "doNotStore": True})
    assert response.status_code == 503
    assert len(stored(engine)) == 1
    engine.dispose()


def test_get_is_not_allowed(client, site_key):
    assert client.get(f"{URL}?key={site_key}").status_code == 405


@pytest.mark.all_databases
@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(document.cookie)</script> you idiot",
        "\u202egnp.exe\u202c RTL override",
        "💩💩💩 𝕗𝕦𝕔𝕜",
        "e\u0301\u0301\u0301 combining",
    ],
)
def test_hostile_text_round_trips_and_spans_stay_inside(client, headers, text, scoring):
    request = {
        "comment": {"text": text},
        "requestedAttributes": {a: {} for a in perspective.SUPPORTED_ATTRIBUTES},
        "spanAnnotations": True,
        "doNotStore": True,
    }
    response = client.post(URL, json=request, headers=headers)
    assert response.status_code == 200, response.json
    units = len(text.encode("utf-16-le")) // 2
    for entry in response.json["attributeScores"].values():
        for span in entry["spanScores"]:
            assert 0 <= span["begin"] < span["end"] <= units


def test_readme_curl_example_is_a_valid_request():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readme = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    )
    section = readme.split("### Perspective-compatible endpoint", 1)[1].split("\n### ", 1)[0]
    data = re.search(r"--data '([^']*)'", section).group(1)
    assert "comments:analyze?key=" in section
    request = parse_request(data.encode("utf-8"), LIMIT)
    assert request.client_token == "c-1" and request.span_annotations is True
