"""Changing a site's policy settings: thresholds, word lists, languages and options, the
word list action and the desk settings. Each change is audited and moves the sites'
generation (workers' caches forget the site)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import Connection

from moderator.storage import audit
from moderator.storage import generations
from moderator.storage.sites import DESK_SETTINGS
from moderator.storage.sites import WORD_LISTS
from moderator.storage.sites import WORDLIST_ACTIONS
from moderator.storage.sites import Site
from moderator.storage.sites import SiteError
from moderator.storage.sites import get_site
from moderator.storage.sites import require_site
from moderator.storage.tables import sites


def set_thresholds(
    conn: Connection, name: str, thresholds: dict | None, actor: str = audit.CLI_ACTOR
) -> Site:
    """Replace a site's threshold overrides (None: use the model's defaults); audit it."""
    site = require_site(conn, name)
    conn.execute(sites.update().where(sites.c.id == site.id).values(thresholds=thresholds or None))
    updated = get_site(conn, site.id)
    generations.bump(conn, generations.SITES)
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
    generations.bump(conn, generations.SITES)
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


#: A language code a site may accept: ISO 639-1 (two letters) or 639-3 (three).
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
#: At most this many accepted languages per site.
MAX_LANGUAGES = 50


def check_languages(languages) -> tuple[str, ...] | None:
    """A site's accepted languages, validated: None (all) or distinct lower-case codes."""
    if languages is None:
        return None
    if isinstance(languages, str) or not isinstance(languages, (list, tuple)):
        raise SiteError("languages must be a list of language codes or null")
    if not languages:
        raise SiteError("languages must name at least one language (null accepts all)")
    if len(languages) > MAX_LANGUAGES:
        raise SiteError(f"languages may name at most {MAX_LANGUAGES} languages")
    out: list[str] = []
    for code in languages:
        if not isinstance(code, str) or not LANGUAGE_CODE.fullmatch(code):
            shown = repr(code)[:40]
            raise SiteError(f"{shown} is not a language code (two or three letters a-z)")
        if code not in out:
            out.append(code)
    return tuple(out)


def set_options(conn: Connection, name: str, actor: str = audit.CLI_ACTOR, **values) -> Site:
    """Change a site's `unsupported_language` / `perspective_reflects_decision` /
    `languages`; audit it."""
    if "languages" in values:
        accepted = check_languages(values["languages"])
        values = {**values, "languages": list(accepted) if accepted is not None else None}
    for option, value in values.items():
        if option == "languages":
            continue
        if option not in OPTIONS:
            raise SiteError(f"unknown setting {option!r}")
        if value not in OPTIONS[option] or type(value) is not type(OPTIONS[option][0]):
            allowed = " or ".join(str(v).lower() for v in OPTIONS[option])
            raise SiteError(f"{option} must be {allowed}, not {value!r}")
    site = require_site(conn, name)
    if not values:
        return site
    conn.execute(sites.update().where(sites.c.id == site.id).values(**values))
    generations.bump(conn, generations.SITES)
    audit.record(
        conn,
        actor,
        "site.settings",
        site_id=site.id,
        before={k: list(v) if isinstance(v := getattr(site, k), tuple) else v for k in values},
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
    generations.bump(conn, generations.SITES)
    audit.record(
        conn,
        actor,
        "site.wordlist_action",
        site_id=site.id,
        before={"wordlist_action": site.wordlist_action},
        after={"wordlist_action": action},
    )
    return get_site(conn, site.id)


def set_desk_setting(
    conn: Connection, name: str, setting: str, value: int, actor: str = audit.CLI_ACTOR
) -> Site:
    """Set a site's report threshold, appeal window or new-author pre-moderation; audit it."""
    if setting not in DESK_SETTINGS:
        raise SiteError(f"setting must be one of {', '.join(DESK_SETTINGS)}, not {setting!r}")
    low, high = DESK_SETTINGS[setting]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SiteError(f"{setting} must be a whole number from {low} to {high}")
    site = require_site(conn, name)
    conn.execute(sites.update().where(sites.c.id == site.id).values({setting: value}))
    generations.bump(conn, generations.SITES)
    audit.record(
        conn,
        actor,
        f"site.{setting}",
        site_id=site.id,
        before={setting: getattr(site, setting)},
        after={setting: value},
    )
    return get_site(conn, site.id)
