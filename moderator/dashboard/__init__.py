"""The moderators' dashboard (blueprint "dashboard", /dashboard): HTML pages only.

`views` holds the review pages (queue, lists, decisions, bulk, audit log, stats), `admin` the
admins' site pages, `forms` the input parsing, `display` what templates show (highlighting,
safe links, chart geometry). Login, roles, CSRF and session expiry come from `accounts`.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for

from moderator import accounts
from moderator import standing
from moderator.policy import CATEGORIES
from moderator.policy import CLASSIFIER_UNAVAILABLE
from moderator.policy import LANGUAGE_UNSUPPORTED
from moderator.storage import review

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)

PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 100
MAX_NOTE = 2000
MAX_SEARCH = 200
MAX_BULK = 200
MAX_WORDS = 5000
MAX_WORD = 100
FILTER_CATEGORIES = (
    *(str(c) for c in CATEGORIES),
    CLASSIFIER_UNAVAILABLE,
    LANGUAGE_UNSUPPORTED,
    *standing.REASONS,
)

#: The list views: title, status shown (None: all) and default order (storage ORDERS).
VIEWS = {
    "queue": ("Queue", "hold", "oldest"),
    "reported": ("Reported", None, "reports"),
    "approved": ("Approved", "allow", "newest"),
    "rejected": ("Rejected", "reject", "newest"),
    "all": ("All comments", None, "newest"),
}
#: How long a page waits between refreshing its counts (milliseconds; dashboard.js).
COUNT_REFRESH_MS = 20_000
#: The densities a moderator can choose; the cookie that keeps the choice.
DENSITIES = ("comfortable", "compact")
DENSITY_COOKIE = "moderator_density"


def init_app(app: Flask) -> None:
    """Register the dashboard and send `/` to it."""
    app.register_blueprint(bp)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "index", lambda: redirect(url_for("dashboard.queue")))


def _guard():
    if request.endpoint == "dashboard.static":
        return None
    return accounts.require_login()


bp.before_request(accounts.protect_forms)
bp.before_request(accounts.enforce_session)
bp.before_request(_guard)
bp.after_request(accounts.security_headers)
bp.register_error_handler(Exception, accounts.render_error)


def engine():
    """The app's database engine."""
    return current_app.extensions["moderator.engine"]


@bp.record_once
def _template_globals(state) -> None:
    from moderator.dashboard import display

    # Globals rather than a context processor, so imported macros see them too.
    state.app.jinja_env.globals.update(
        reason_codes=review.REASON_CODES,
        filter_categories=FILTER_CATEGORIES,
        categories=[str(c) for c in CATEGORIES],
        max_note=MAX_NOTE,
        highlight=display.highlight,
        safe_url=display.safe_url,
        default_reason=display.default_reason,
        past_tense=display.past_tense,
        excerpts=display.excerpts,
        count_refresh_ms=COUNT_REFRESH_MS,
    )
    state.app.jinja_env.filters.update(
        timestamp=display.timestamp,
        shown=display.shown,
        bdi=display.isolate,
        strip_bidi=display.strip_bidi,
    )


@bp.context_processor
def _nav_counts() -> dict:
    from flask_login import current_user

    from moderator import storage
    from moderator.dashboard.views import nav_counts

    if not current_user.is_authenticated:
        return {}
    try:
        with storage.reading(engine()) as conn:
            return {"nav_counts": nav_counts(conn)}
    except storage.StorageUnavailable:
        return {}


# The route modules attach their views to `bp`, so they are imported once it exists.
from moderator.dashboard import admin  # noqa: E402, F401
from moderator.dashboard import desk  # noqa: E402, F401
from moderator.dashboard import integrations  # noqa: E402, F401
from moderator.dashboard import passwords  # noqa: E402, F401
from moderator.dashboard import views  # noqa: E402, F401
from moderator.dashboard.display import highlight  # noqa: E402, F401
from moderator.dashboard.display import safe_url  # noqa: E402, F401
