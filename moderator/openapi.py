"""The OpenAPI 3.1 description of every HTTP route, served at `GET /api/v1/openapi.json`.

The document is `moderator/openapi.json`, written by hand next to the code it describes.
tests/test_openapi.py validates it and fails when a route in `app.url_map` is missing from
it (or it lists a route the app doesn't have); tests/test_schemathesis.py fuzzes the app
with it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from flask import Blueprint
from flask import Response

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def document_text() -> str:
    """The OpenAPI document as JSON text, read once from the package."""
    return resources.files("moderator").joinpath("openapi.json").read_text(encoding="utf-8")


def document() -> dict:
    """The OpenAPI document as a fresh dict (callers may change it)."""
    return json.loads(document_text())


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document."""
    return Response(document_text(), content_type="application/json")
