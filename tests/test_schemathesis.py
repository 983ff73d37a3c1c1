"""Property-based fuzzing of every documented operation, through the WSGI app.

Schemathesis generates requests from moderator/openapi.json (valid and invalid bodies,
odd Unicode, huge numbers, wrong types) and sends them with a valid site key. Checks:
no 5xx, and every response's status, content type, headers and body match the document,
so the document and the code can't drift apart. The 5xx check is the assertion in the
test rather than schemathesis' `not_a_server_error`, so that it can allow the documented
503 of a server without a model. Bounded: at most MAX_EXAMPLES per operation, no
deadline (the 2 cores are shared).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.checks import content_type_conformance
from schemathesis.checks import response_headers_conformance
from schemathesis.checks import response_schema_conformance
from schemathesis.checks import status_code_conformance

from moderator import openapi

MAX_EXAMPLES = 50
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


# Loaded from the packaged document at import; each operation's test gets a fresh app and
# database through the fixtures (schemathesis.pytest.from_fixture fails on pytest 9).
schema = schemathesis.openapi.from_dict(openapi.document())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_server_errors_and_responses_match_the_document(case, app, site_key):
    response = case.call(headers={"Authorization": f"Bearer {site_key}"}, app=app)
    case.validate_response(response, checks=CONFORMANCE)
    # Without a model the documented degraded mode answers 503 on /readyz and
    # comments:analyze (the comment is held, never lost); anything else 5xx is a bug.
    degraded = app.extensions["moderator"].moderation.model_label is None
    allowed = {503} if degraded else set()
    assert response.status_code < 500 or response.status_code in allowed, (
        response.status_code,
        response.text[:500],
    )
