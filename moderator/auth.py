"""Site API keys: `mod_` + 43 random characters, shown once, stored only as a sha256 hash.

A request authenticates with `Authorization: Bearer mod_...`; the Perspective-compatible
endpoint also accepts `?key=mod_...` as Google's clients send it. The key itself is never
stored or logged: the database holds its hash and a short prefix to tell keys apart.
Moderator logins (passwords, sessions, CSRF) live in `accounts.py`.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import g
from flask import request
from sqlalchemy import Engine

from moderator import storage
from moderator.errors import ApiError
from moderator.sitecache import SiteCache
from moderator.storage import sites
from moderator.storage.sites import Site

KEY_PREFIX = "mod_"
#: Characters of the key kept in clear (`mod_` + 8) so operators can tell keys apart.
DISPLAY_PREFIX_LENGTH = 12
#: Longer tokens are rejected before hashing; ours are 47 characters.
MAX_KEY_LENGTH = 200


def generate_key() -> str:
    """A new site API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The sha256 hex digest stored for `key`."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def display_prefix(key: str) -> str:
    """The part of the key that may be shown and stored in clear."""
    return key[:DISPLAY_PREFIX_LENGTH]


def presented_key(allow_query_key: bool = False) -> str | None:
    """The key this request carries: the Bearer token, or `?key=` when allowed."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if allow_query_key:
        key = request.args.get("key", "").strip()
        return key or None
    return None


def authenticate(source: Engine | SiteCache, key: str | None) -> Site | None:
    """The active site whose key this is, or None: from the worker's cache (`SiteCache`) or
    straight from the database (`Engine`). Raises StorageUnavailable."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.startswith(KEY_PREFIX):
        return None
    if isinstance(source, SiteCache):
        return source.find(hash_key(key))
    with storage.reading(source) as conn:
        return sites.find_active_site(conn, hash_key(key))


def require_site_key(source: Engine | SiteCache, allow_query_key: bool = False) -> Site:
    """The site for this request's API key (also kept as `g.site`), else a 401 problem."""
    key = presented_key(allow_query_key)
    if key is None:
        raise ApiError(
            401,
            "missing API key: send Authorization: Bearer mod_...",
            headers={"WWW-Authenticate": "Bearer"},
        )
    site = authenticate(source, key)
    if site is None:
        raise ApiError(
            401,
            "invalid or revoked API key",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    g.site = site
    return site


def rate_limit_key(key: str | None = None) -> str:
    """What the rate limiter counts by: a hash of `key` (by default the key this request
    presents as the JSON API takes it, Bearer only), else the client address.

    Hashed so the limiter's storage (which may be a shared Redis) never holds a key. Each
    door passes the key it authenticates with, so a request can't pick its budget with a
    header the route ignores.
    """
    if key is None:
        key = presented_key()
    if key:
        return "key:" + hash_key(key)[:32]
    return address_rate_limit_key()


def address_rate_limit_key() -> str:
    """The budget of a request without a key (or whose signature failed): its client address."""
    return "addr:" + (request.remote_addr or "unknown")
