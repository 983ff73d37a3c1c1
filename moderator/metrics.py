"""Prometheus metrics: requests by endpoint and status, latency, decisions by action and category.

`GET /metrics` answers in the Prometheus text format. With several gunicorn workers each
worker counts on its own; with PROMETHEUS_MULTIPROC_DIR set (an empty folder, before the
server starts; `moderator serve` makes one) prometheus-client keeps the counts in files
there, which `/metrics` adds up across workers. Without it, `/metrics` shows only the
worker that happened to answer.
The endpoint carries no comment text, no API keys and no site ids: labels are the route
pattern (never the raw path), the method, the status, the action and the category.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import REGISTRY
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import multiprocess
from prometheus_client import values

from moderator.policy import Decision

bp = Blueprint("metrics", __name__)

#: The endpoint label of requests that matched no route (404s), so scanners can't add labels.
UNMATCHED = "<unmatched>"
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "moderator_http_requests_total",
    "HTTP requests answered, by route pattern, method and status code.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "moderator_http_request_duration_seconds",
    "Time from the request reaching Flask to the response leaving it, by route pattern.",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DECISIONS = Counter(
    "moderator_decisions_total",
    "Moderation decisions made, by action (allow, hold, reject).",
    ["action"],
)
REASONS = Counter(
    "moderator_decision_reasons_total",
    "Reasons given with decisions, by category and source (classifier, wordlist, system).",
    ["category", "source"],
)


#: Labelled children by (metric, label values), so a request skips prometheus-client's
#: per-call validation and locking of `labels(...)`; children are never removed, so holding
#: them here changes nothing of what they count.
_CHILDREN: dict[tuple, object] = {}


def _child(metric, *values: str):
    key = (metric, *values)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*values)
    return child


def init_app(app: Flask) -> None:
    """Time and count every request of `app` and serve `GET /metrics`."""
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(bp)


def observe_decisions(decisions: Iterable[Decision]) -> None:
    """Count decisions by action and their reasons by category; call once per decision made."""
    for decision in decisions:
        _child(DECISIONS, str(decision.action)).inc()
        for reason in decision.reasons:
            _child(REASONS, reason.category, str(reason.source)).inc()


def multiprocess_mode() -> bool:
    """True when prometheus-client was imported with PROMETHEUS_MULTIPROC_DIR set."""
    return values.ValueClass is not values.MutexValue


@bp.get("/metrics")
def metrics() -> Response:
    """The metrics in Prometheus' text exposition format."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


@functools.lru_cache(maxsize=512)
def _pattern(rule: str) -> str:
    """`/api/v1/comments/<comment_id>` for `/api/v1/comments/<any_id:comment_id>`: the label
    names the route's arguments, never Werkzeug's converters."""
    return _CONVERTER.sub(r"<\1>", rule)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    endpoint = _pattern(request.url_rule.rule) if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in _METHODS else "other"
    _child(REQUESTS, endpoint, method, str(response.status_code)).inc()
    if started is not None:
        _child(LATENCY, endpoint).observe(time.perf_counter() - started)
    return response
