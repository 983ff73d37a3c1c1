"""The OpenAPI document: valid OpenAPI 3.1, served, and in step with the app's routes."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from moderator import openapi

#: The dashboard is HTML for people, not an API: its routes are documented in the README.
HTML_BLUEPRINTS = ("dashboard.", "accounts.")
HTML_ENDPOINTS = {"static", "index"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def app_operations(app) -> set[tuple[str, str]]:
    """(path in OpenAPI form, method) for every API route of the app."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in HTML_ENDPOINTS or rule.endpoint.startswith(HTML_BLUEPRINTS):
            continue
        # Werkzeug's <converter:name> becomes OpenAPI's {name}.
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - IGNORED_METHODS:
            found.add((path, method.lower()))
    return found


def document_operations(doc) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in methods}


def test_document_is_valid_openapi_3_1():
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_route_is_documented_and_nothing_else(app):
    in_app = app_operations(app)
    in_doc = document_operations(openapi.document())
    assert in_app - in_doc == set(), "routes missing from moderator/openapi.json"
    assert in_doc - in_app == set(), "moderator/openapi.json lists routes the app doesn't have"
    assert {
        ("/api/v1/moderate", "post"),
        ("/api/v1/moderate/batch", "post"),
        ("/api/v1/comments/{comment_id}", "get"),
        ("/v1alpha1/comments:analyze", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
    } <= in_app


def test_path_parameters_match_the_routes():
    doc = openapi.document()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_every_operation_has_an_id_a_summary_and_a_success_response():
    doc = openapi.document()
    ids = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            ids.append(operation["operationId"])
            assert operation.get("summary"), (path, method)
            assert any(code.startswith("2") for code in operation["responses"]), (path, method)
    assert len(ids) == len(set(ids))


def test_served_document_is_the_packaged_one(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == openapi.document()


def test_documented_request_fields_are_the_ones_the_code_accepts():
    from moderator import perspective
    from moderator import schemas

    schemas_doc = openapi.document()["components"]["schemas"]
    assert set(schemas_doc["CommentIn"]["properties"]) == set(schemas.COMMENT_FIELDS)
    author = schemas_doc["CommentIn"]["properties"]["author"]["properties"]
    assert set(author) == set(schemas.AUTHOR_FIELDS)
    analyze = schemas_doc["AnalyzeCommentRequest"]["properties"]
    assert set(analyze) == perspective._TOP_LEVEL
    from moderator.perspective.requests import _SUGGEST_TOP_LEVEL

    assert set(schemas_doc["SuggestCommentScoreRequest"]["properties"]) == _SUGGEST_TOP_LEVEL


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v1/moderate", "post", "401"),
        ("/api/v1/moderate", "post", "413"),
        ("/api/v1/moderate", "post", "429"),
        ("/v1alpha1/comments:analyze", "post", "403"),
        ("/readyz", "get", "503"),
    ],
)
def test_error_responses_are_documented(path, method, status):
    assert status in openapi.document()["paths"][path][method]["responses"]


def conforms(instance, schema_name: str) -> None:
    """Validate `instance` against components/schemas/NAME of the document (JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator

    doc = openapi.document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    Draft202012Validator(schema).validate(instance)


def test_real_responses_match_their_documented_schemas(client, headers, site_key):
    body = {
        "text": "You absolute idiot, <b>nobody</b> wants you here 💩",
        "id": "ext-1",
        "author": {"id": 5, "name": "Ann"},
        "url": "https://news.example/a",
        "parent_text": "What do you think?",
    }
    moderated = client.post("/api/v1/moderate", json=body, headers=headers)
    assert moderated.status_code == 200
    conforms(moderated.json, "ModerationResult")

    batch = client.post(
        "/api/v1/moderate/batch",
        json={"comments": [{"text": "fine"}, {"text": ""}, {"text": "go away", "store": False}]},
        headers=headers,
    )
    assert batch.status_code == 200
    conforms(batch.json, "BatchResult")
    assert batch.json["results"][1]["index"] == 1

    for comment_id in (moderated.json["id"], "ext-1"):
        stored = client.get(f"/api/v1/comments/{comment_id}", headers=headers)
        assert stored.status_code == 200
        conforms(stored.json, "Comment")

    analyze = client.post(
        f"/v1alpha1/comments:analyze?key={site_key}",
        json={
            "comment": {"text": body["text"]},
            "requestedAttributes": {"TOXICITY": {}, "SEVERE_TOXICITY": {}, "INSULT": {}},
            "spanAnnotations": True,
            "clientToken": "t",
        },
    )
    if analyze.status_code == 200:
        conforms(analyze.json, "AnalyzeCommentResponse")
    else:
        assert analyze.status_code == 503  # no test model
        conforms(analyze.json, "GoogleError")

    ready = client.get("/readyz")
    conforms(ready.json, "Ready" if ready.status_code == 200 else "NotReady")
    conforms(client.post("/api/v1/moderate", json={}, headers=headers).json, "Problem")


def test_text_patterns_agree_with_the_server_for_every_character():
    """The document's "not blank, no NUL" patterns accept exactly what moderator.schemas accepts."""
    from moderator import schemas

    doc = openapi.document()["components"]["schemas"]
    text = re.compile(doc["CommentIn"]["properties"]["text"]["pattern"])
    analyzed = doc["AnalyzeCommentRequest"]["properties"]["comment"]["properties"]["text"]
    assert analyzed["pattern"] == text.pattern
    string_id = next(s for s in doc["Identifier"]["anyOf"] if s.get("type") == "string")
    identifier = re.compile(string_id["pattern"])
    disagree = []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        server_text = ch != "\x00" and not schemas.blank(ch)
        server_id = ch != "\x00" and bool(ch.strip())
        if bool(text.search(ch)) != server_text or bool(identifier.search(ch)) != server_id:
            disagree.append(hex(code))
    assert disagree == []
    assert text.search("\x00a") is None and text.search(" \u200b a ")


@pytest.mark.parametrize("schema", ["CommentIn", "StoryPatch", "ReportIn", "AppealIn"])
def test_every_free_text_field_of_a_request_refuses_nul_as_the_server_does(schema):
    """The server answers 400 to NUL in any of these fields, so the document must not call
    such a body valid (schemathesis found PATCH /stories with NUL in `url`)."""
    doc = openapi.document()["components"]["schemas"][schema]
    for name, field in doc["properties"].items():
        kinds = field.get("type")
        if "string" not in (kinds if isinstance(kinds, list) else [kinds]) or "enum" in field:
            continue
        pattern = field.get("pattern")
        assert pattern is not None, f"{schema}.{name} has no pattern"
        assert re.search(pattern, "a\x00b") is None, f"{schema}.{name} lets NUL through"
        assert re.search(pattern, "https://news.example/a story")


def test_a_required_reason_is_refused_when_blank_as_the_server_refuses_it():
    """premoderated: true needs a reason the server calls not blank (moderator.schemas.blank:
    whitespace, including U+001C-U+001F, and format characters). The document once said
    `\\S`, which JSON Schema's whitespace class doesn't read that way, so schemathesis sent
    "\\u001e" and got a 400 for a body the document called valid."""
    doc = openapi.document()["components"]["schemas"]
    visible = doc["CommentIn"]["properties"]["text"]["pattern"]
    reason = doc["StoryPatch"]["then"]["properties"]["reason"]
    assert reason["pattern"] == visible
    for blank in ["\x1e", " \u200b\t", "\u2028"]:
        assert re.search(reason["pattern"], blank) is None
    assert re.search(reason["pattern"], " why ")

    def patterns(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node["pattern"]
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    assert "\\S" not in list(patterns(openapi.document()))
