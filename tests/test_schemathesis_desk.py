"""The desk's operations fuzzed against resources that exist.

tests/test_schemathesis.py fuzzes every operation with generated path parameters, so the
desk's routes mostly answer 404 there. Here each generated request is sent to a comment,
an author and a story of the key's site that exist (a rejected comment with an author and a
story), so the bodies schemathesis generates reach validation, storage and the success
paths. Same checks: no 5xx, and responses match the document.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.checks import content_type_conformance
from schemathesis.checks import response_headers_conformance
from schemathesis.checks import response_schema_conformance
from schemathesis.checks import status_code_conformance

from moderator import openapi
from moderator import storage
from moderator.storage import sites

MAX_EXAMPLES = 40
#: CI replays one fixed set of examples (see test_schemathesis.DERANDOMIZE).
DERANDOMIZE = bool(os.environ.get("CI"))
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: The existing resources each path parameter is pinned to.
PINNED = {"comment_id": "c-1", "author_id": "u-1", "story": "s-1"}

schema = schemathesis.openapi.from_dict(openapi.document()).include(tag="desk")


@pytest.fixture
def seeded(client, engine, site_key) -> str:
    """A rejected comment c-1 by author u-1 on story s-1; the site's key."""
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", "block", ["walnut"])
    response = client.post(
        "/api/v1/moderate",
        json={"text": "you walnut", "id": "c-1", "author": {"id": "u-1"}, "story_id": "s-1"},
        headers={"Authorization": f"Bearer {site_key}"},
    )
    assert response.json["decision"] == "reject"
    return site_key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_desk_operations_on_existing_resources(case, app, seeded):
    for name in case.path_parameters or {}:
        case.path_parameters[name] = PINNED[name]
    response = case.call(headers={"Authorization": f"Bearer {seeded}"}, app=app)
    case.validate_response(response, checks=CONFORMANCE)
    assert response.status_code < 500, (response.status_code, response.text[:500])
