"""A Perspective-compatible door: `/v1alpha1/comments:analyze`, `comments:suggestscore` and
the discovery document Google's clients build from.

Clients written for Google's Perspective API (commentanalyzer.googleapis.com), including
`googleapiclient.discovery.build("commentanalyzer", "v1alpha1", ...)` and Coral Talk, only
change the host. Requests and responses follow Perspective's messages; errors follow
Google's JSON error shape. The scores come from the same decision path as
`/api/v1/moderate`, so a comment is decided, stored and counted the same whichever door it
came in by.

    errors.py    Google's error shape, Perspective's messages
    requests.py  checking AnalyzeComment and SuggestCommentScore bodies
    scores.py    decision -> attribute scores; suggested scores -> a human label
    views.py     the routes and their authentication
"""

from __future__ import annotations

from moderator.perspective.errors import GoogleError
from moderator.perspective.errors import invalid
from moderator.perspective.requests import _TOP_LEVEL
from moderator.perspective.requests import SUPPORTED_LANGUAGES
from moderator.perspective.requests import AnalyzeRequest
from moderator.perspective.requests import RequestedAttribute
from moderator.perspective.requests import parse_request
from moderator.perspective.requests import parse_suggest
from moderator.perspective.scores import ATTRIBUTES
from moderator.perspective.scores import SEVERE_FACTORS
from moderator.perspective.scores import SEVERE_TOXICITY
from moderator.perspective.scores import SUPPORTED_ATTRIBUTES
from moderator.perspective.scores import attribute_scores
from moderator.perspective.scores import render_response
from moderator.perspective.scores import severe_toxicity
from moderator.perspective.scores import span_scores
from moderator.perspective.scores import summary_scores
from moderator.perspective.views import bp
from moderator.perspective.views import discovery_bp
from moderator.perspective.views import presented_key

__all__ = [
    "ATTRIBUTES",
    "SEVERE_FACTORS",
    "SEVERE_TOXICITY",
    "SUPPORTED_ATTRIBUTES",
    "SUPPORTED_LANGUAGES",
    "_TOP_LEVEL",
    "AnalyzeRequest",
    "GoogleError",
    "RequestedAttribute",
    "attribute_scores",
    "bp",
    "discovery_bp",
    "invalid",
    "parse_request",
    "parse_suggest",
    "presented_key",
    "render_response",
    "severe_toxicity",
    "span_scores",
    "summary_scores",
]
