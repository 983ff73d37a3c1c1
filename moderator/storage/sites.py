"""Sites: one row per website using the API, with its key hash and policy settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import exc

from moderator.storage import audit
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import sites

WORD_LISTS = ("block", "suspect", "allow")
#: A site's `wordlist_action`: what the default list's reject-tier words do (first: default).
WORDLIST_ACTIONS = ("reject", "hold")


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
    #: `hold` (default) or `allow` a comment in a language the model wasn't trained for.
    unsupported_language: str = "hold"
    #: Perspective door: TOXICITY at least the hold/reject threshold when we hold/reject.
    perspective_reflects_decision: bool = False

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
        }


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
    """The unrevoked site whose API key hashes to `key_hash`."""
    row = conn.execute(
        sites.select().where(sites.c.key_hash == key_hash, sites.c.revoked_at.is_(None))
    ).first()
    return _site(row) if row else None


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
    conn.execute(sites.update().where(sites.c.id == site.id).values(revoked_at=at))
    audit.record(conn, actor, "site.revoke", site_id=site.id, after={"revoked_at": at.isoformat()})
    return get_site(conn, site.id)


def set_thresholds(
    conn: Connection, name: str, thresholds: dict | None, actor: str = audit.CLI_ACTOR
) -> Site:
    """Replace a site's threshold overrides (None: use the model's defaults); audit it."""
    site = require_site(conn, name)
    conn.execute(sites.update().where(sites.c.id == site.id).values(thresholds=thresholds or None))
    updated = get_site(conn, site.id)
    audit.record(
        conn,
        actor,
        "site.thresholds",
        site_id=site.id,
        before={"thresholds": site.thresholds},
        after={"thresholds": updated.thresholds},
    )
    return updated


def set_words(
    conn: Connection, name: str, kind: str, words: Iterable[str], actor: str = audit.CLI_ACTOR
) -> Site:
    """Replace one of a site's word lists (`block`, `suspect`, `allow`); audit it."""
    if kind not in WORD_LISTS:
        raise SiteError(f"word list must be one of {', '.join(WORD_LISTS)}, not {kind!r}")
    site = require_site(conn, name)
    words = sorted({w.strip() for w in words if w.strip()}, key=str.casefold)
    column = f"{kind}_words"
    conn.execute(sites.update().where(sites.c.id == site.id).values({column: words}))
    audit.record(
        conn,
        actor,
        f"site.{column}",
        site_id=site.id,
        before={column: list(site.words(kind))},
        after={column: words},
    )
    return get_site(conn, site.id)


#: The settings `set_options` changes, with the values each accepts.
OPTIONS = {
    "unsupported_language": ("hold", "allow"),
    "perspective_reflects_decision": (True, False),
}


def set_options(conn: Connection, name: str, actor: str = audit.CLI_ACTOR, **values) -> Site:
    """Change a site's `unsupported_language` / `perspective_reflects_decision`; audit it."""
    for option, value in values.items():
        if option not in OPTIONS:
            raise SiteError(f"unknown setting {option!r}")
        if value not in OPTIONS[option] or type(value) is not type(OPTIONS[option][0]):
            allowed = " or ".join(str(v).lower() for v in OPTIONS[option])
            raise SiteError(f"{option} must be {allowed}, not {value!r}")
    site = require_site(conn, name)
    if not values:
        return site
    conn.execute(sites.update().where(sites.c.id == site.id).values(**values))
    audit.record(
        conn,
        actor,
        "site.settings",
        site_id=site.id,
        before={k: getattr(site, k) for k in values},
        after=dict(values),
    )
    return get_site(conn, site.id)


def set_wordlist_action(
    conn: Connection, name: str, action: str, actor: str = audit.CLI_ACTOR
) -> Site:
    """Set what the default word list's reject-tier words do for a site; audit it."""
    if action not in WORDLIST_ACTIONS:
        raise SiteError(
            f"wordlist action must be one of {', '.join(WORDLIST_ACTIONS)}, not {action!r}"
        )
    site = require_site(conn, name)
    conn.execute(sites.update().where(sites.c.id == site.id).values(wordlist_action=action))
    audit.record(
        conn,
        actor,
        "site.wordlist_action",
        site_id=site.id,
        before={"wordlist_action": site.wordlist_action},
        after={"wordlist_action": action},
    )
    return get_site(conn, site.id)
