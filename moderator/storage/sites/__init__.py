"""Sites: one row per website using the API, with its key hash and policy settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import and_
from sqlalchemy import exc
from sqlalchemy import or_

from moderator.storage import audit
from moderator.storage import generations
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import sites

WORD_LISTS = ("block", "suspect", "allow")
#: A site's `wordlist_action`: what the default list's reject-tier words do (first: default).
WORDLIST_ACTIONS = ("reject", "hold")
#: The desk settings a site can change, with their bounds (inclusive).
DESK_SETTINGS = {
    "report_threshold": (1, 1000),
    "appeal_days": (0, 3650),
    "new_author_premoderation": (0, 1000),
}
#: The longest grace period in which a rotated-out key keeps working.
MAX_KEY_GRACE = dt.timedelta(days=30)


class SiteError(ValueError):
    """A site operation that can't be done (unknown name, name taken, already revoked)."""


@dataclass(frozen=True)
class Site:
    """A site and its settings; `thresholds` overrides the model's defaults per category."""

    id: int
    name: str
    key_prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    thresholds: dict | None
    block_words: tuple[str, ...]
    suspect_words: tuple[str, ...]
    allow_words: tuple[str, ...]
    wordlist_action: str = WORDLIST_ACTIONS[0]
    report_threshold: int = 1
    appeal_days: int = 14
    new_author_premoderation: int = 0
    previous_key_prefix: str | None = None
    previous_key_expires_at: dt.datetime | None = None
    #: `hold` (default) or `allow` a comment in a language the model wasn't trained for.
    unsupported_language: str = "hold"
    #: Perspective door: TOXICITY at least the hold/reject threshold when we hold/reject.
    perspective_reflects_decision: bool = False
    #: The languages the site accepts, the first for undetermined comments; None: all.
    languages: tuple[str, ...] | None = None

    @property
    def active(self) -> bool:
        """False once the site's key has been revoked."""
        return self.revoked_at is None

    def words(self, kind: str) -> tuple[str, ...]:
        """The site's `block`, `suspect` or `allow` words."""
        return getattr(self, f"{kind}_words")

    def settings(self) -> dict:
        """Thresholds, word lists and wordlist_action, as `sites list --json` shows them."""
        return {
            "thresholds": self.thresholds,
            "block_words": list(self.block_words),
            "suspect_words": list(self.suspect_words),
            "allow_words": list(self.allow_words),
            "unsupported_language": self.unsupported_language,
            "perspective_reflects_decision": self.perspective_reflects_decision,
            "wordlist_action": self.wordlist_action,
            "report_threshold": self.report_threshold,
            "appeal_days": self.appeal_days,
            "new_author_premoderation": self.new_author_premoderation,
            "languages": list(self.languages) if self.languages is not None else None,
        }

    def previous_key_active(self, at: dt.datetime) -> bool:
        """True while the key replaced by the last rotation still works."""
        expires = self.previous_key_expires_at
        return self.active and expires is not None and expires > at


def _site(row) -> Site:
    return Site(
        id=row.id,
        name=row.name,
        key_prefix=row.key_prefix,
        created_at=utc(row.created_at),
        revoked_at=utc(row.revoked_at),
        thresholds=row.thresholds or None,
        block_words=tuple(row.block_words or ()),
        suspect_words=tuple(row.suspect_words or ()),
        allow_words=tuple(row.allow_words or ()),
        unsupported_language=row.unsupported_language,
        perspective_reflects_decision=bool(row.perspective_reflects_decision),
        wordlist_action=row.wordlist_action,
        report_threshold=row.report_threshold,
        appeal_days=row.appeal_days,
        new_author_premoderation=row.new_author_premoderation,
        previous_key_prefix=row.previous_key_prefix,
        previous_key_expires_at=utc(row.previous_key_expires_at),
        languages=tuple(row.languages) if row.languages else None,
    )


def create_site(
    conn: Connection, name: str, key_hash: str, key_prefix: str, actor: str = audit.CLI_ACTOR
) -> Site:
    """Insert a site (its key is stored only as a hash) and audit it."""
    if get_site_by_name(conn, name) is not None:
        raise SiteError(f"a site named {name!r} already exists")
    try:
        site_id = conn.execute(
            sites.insert().values(
                name=name,
                key_hash=key_hash,
                key_prefix=key_prefix,
                created_at=now(),
                thresholds=None,
                block_words=[],
                suspect_words=[],
                allow_words=[],
                wordlist_action=WORDLIST_ACTIONS[0],
            )
        ).inserted_primary_key[0]
    except exc.IntegrityError:
        # Another process took the name between our check and the insert; the caller's
        # transaction rolls back.
        raise SiteError(f"a site named {name!r} already exists") from None
    generations.bump(conn, generations.SITES)
    audit.record(
        conn, actor, "site.create", site_id=site_id, after={"name": name, "key_prefix": key_prefix}
    )
    return get_site(conn, site_id)


def get_site(conn: Connection, site_id: int) -> Site | None:
    """The site with this id, revoked or not."""
    row = conn.execute(sites.select().where(sites.c.id == site_id)).first()
    return _site(row) if row else None


def get_site_by_name(conn: Connection, name: str) -> Site | None:
    """The site with this name, revoked or not."""
    row = conn.execute(sites.select().where(sites.c.name == name)).first()
    return _site(row) if row else None


def find_active_site(conn: Connection, key_hash: str) -> Site | None:
    """The unrevoked site whose API key hashes to `key_hash`: its current key, or the key
    its last rotation replaced while that key's grace period lasts."""
    found = find_active_key(conn, key_hash)
    return found[0] if found else None


def find_active_key(conn: Connection, key_hash: str) -> tuple[Site, dt.datetime | None] | None:
    """As find_active_site, with the moment the key stops working: None for the site's
    current key, the grace period's end for the key its last rotation replaced."""
    row = conn.execute(
        sites.select().where(
            sites.c.revoked_at.is_(None),
            or_(
                sites.c.key_hash == key_hash,
                and_(
                    sites.c.previous_key_hash == key_hash,
                    sites.c.previous_key_expires_at > now(),
                ),
            ),
        )
    ).first()
    if row is None:
        return None
    site = _site(row)
    return site, (None if row.key_hash == key_hash else site.previous_key_expires_at)


def list_sites(conn: Connection) -> list[Site]:
    """Every site, oldest first."""
    return [_site(row) for row in conn.execute(sites.select().order_by(sites.c.id))]


def require_site(conn: Connection, name: str) -> Site:
    """The site named `name`, or SiteError."""
    site = get_site_by_name(conn, name)
    if site is None:
        raise SiteError(f"no site named {name!r}")
    return site


def revoke_site(conn: Connection, name: str, actor: str = audit.CLI_ACTOR) -> Site:
    """Revoke a site's API key for good (its comments stay); audit it."""
    site = require_site(conn, name)
    if not site.active:
        raise SiteError(f"site {name!r} is already revoked")
    at = now()
    conn.execute(
        sites.update()
        .where(sites.c.id == site.id)
        .values(revoked_at=at, previous_key_hash=None, previous_key_expires_at=None)
    )
    generations.bump(conn, generations.SITES)
    audit.record(conn, actor, "site.revoke", site_id=site.id, after={"revoked_at": at.isoformat()})
    return get_site(conn, site.id)


def rotate_key(
    conn: Connection,
    name: str,
    key_hash: str,
    key_prefix: str,
    grace: dt.timedelta,
    actor: str = audit.CLI_ACTOR,
) -> Site:
    """Give a site a new API key; the current one keeps working for `grace`, then stops.

    A key an earlier rotation replaced stops at once: at most two keys work at a time.
    Only the new key's hash is stored; the rotation is audited with both prefixes.
    """
    if not dt.timedelta(0) <= grace <= MAX_KEY_GRACE:
        raise SiteError(f"the grace period must be between 0 and {MAX_KEY_GRACE.days} days")
    site = require_site(conn, name)
    if not site.active:
        raise SiteError(f"site {name!r} is revoked; create a new site instead")
    current = conn.execute(
        sites.select().with_only_columns(sites.c.key_hash).where(sites.c.id == site.id)
    ).scalar_one()
    expires = now() + grace
    try:
        with conn.begin_nested():
            conn.execute(
                sites.update()
                .where(sites.c.id == site.id)
                .values(
                    key_hash=key_hash,
                    key_prefix=key_prefix,
                    previous_key_hash=current if grace else None,
                    previous_key_prefix=site.key_prefix if grace else None,
                    previous_key_expires_at=expires if grace else None,
                )
            )
    except exc.IntegrityError:
        raise SiteError("that key is already in use") from None
    generations.bump(conn, generations.SITES)
    audit.record(
        conn,
        actor,
        "site.rotate_key",
        site_id=site.id,
        before={"key_prefix": site.key_prefix},
        after={
            "key_prefix": key_prefix,
            "previous_key_expires_at": expires.isoformat() if grace else None,
        },
    )
    return get_site(conn, site.id)


# A site's settings (thresholds, word lists, languages, desk) are changed in settings.py.
from moderator.storage.sites.settings import LANGUAGE_CODE  # noqa: E402, F401
from moderator.storage.sites.settings import MAX_LANGUAGES  # noqa: E402, F401
from moderator.storage.sites.settings import OPTIONS  # noqa: E402, F401
from moderator.storage.sites.settings import check_languages  # noqa: E402, F401
from moderator.storage.sites.settings import set_desk_setting  # noqa: E402, F401
from moderator.storage.sites.settings import set_options  # noqa: E402, F401
from moderator.storage.sites.settings import set_thresholds  # noqa: E402, F401
from moderator.storage.sites.settings import set_wordlist_action  # noqa: E402, F401
from moderator.storage.sites.settings import set_words  # noqa: E402, F401
