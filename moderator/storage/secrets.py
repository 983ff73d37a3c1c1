"""Signing secrets other systems sign their requests to us with (Coral's phase and webhooks).

Kept in clear, unlike API keys: checking an HMAC signature needs the secret itself. Each has
a short random `label` to list and remove it by, so the secret is never shown again. While a
secret rotates, a site has two (or more) of a kind, and a request signed with any of them is
accepted; `expires_at` lets an old one lapse by itself, as Coral's own rotation does.
"""

from __future__ import annotations

import datetime as dt
import secrets as random_secrets
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import or_
from sqlalchemy import select

from moderator.storage import audit
from moderator.storage import generations
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import site_secrets

KINDS = ("coral_phase", "coral_webhook")
#: Longest secret accepted (Coral's are 'empsec_'/'whsec_' + 64-74 hex characters).
MAX_SECRET_LENGTH = 500
#: Most secrets of one kind a site may hold at once (rotation needs two).
MAX_PER_KIND = 5


class SecretError(ValueError):
    """A secret that can't be added or removed (wrong kind, bad value, unknown label)."""


@dataclass(frozen=True)
class SiteSecret:
    """One signing secret; `secret` is only read to check signatures, never displayed."""

    id: int
    site_id: int
    kind: str
    label: str
    secret: str
    created_at: dt.datetime
    expires_at: dt.datetime | None

    def active(self, at: dt.datetime) -> bool:
        """False once `expires_at` has passed."""
        return self.expires_at is None or self.expires_at > at

    def describe(self) -> dict:
        """What may be shown: label, kind, the secret's first characters, dates."""
        return {
            "label": self.label,
            "kind": self.kind,
            "starts_with": self.secret[:10],
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


def _secret(row) -> SiteSecret:
    return SiteSecret(
        id=row.id,
        site_id=row.site_id,
        kind=row.kind,
        label=row.label,
        secret=row.secret,
        created_at=utc(row.created_at),
        expires_at=utc(row.expires_at),
    )


def check_secret(value: str) -> str:
    """The secret stripped, or SecretError: 16-500 printable ASCII characters, no spaces."""
    value = value.strip()
    if not 16 <= len(value) <= MAX_SECRET_LENGTH:
        raise SecretError(f"a signing secret must be 16-{MAX_SECRET_LENGTH} characters long")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise SecretError("a signing secret must be printable ASCII without spaces")
    return value


def add_secret(
    conn: Connection,
    site_id: int,
    kind: str,
    value: str,
    *,
    expires_at: dt.datetime | None = None,
    actor: str = audit.CLI_ACTOR,
) -> SiteSecret:
    """Store a signing secret for the site; audit it (the label, never the secret)."""
    if kind not in KINDS:
        raise SecretError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    value = check_secret(value)
    current = list_secrets(conn, site_id, kind)
    if any(s.secret == value for s in current):
        raise SecretError("this secret is already stored for the site")
    if len(current) >= MAX_PER_KIND:
        raise SecretError(f"a site holds at most {MAX_PER_KIND} {kind} secrets: remove one")
    label = "sec_" + random_secrets.token_hex(6)
    secret_id = conn.execute(
        site_secrets.insert().values(
            site_id=site_id,
            kind=kind,
            label=label,
            secret=value,
            created_at=now(),
            expires_at=expires_at,
        )
    ).inserted_primary_key[0]
    audit.record(
        conn, actor, "site.secret.add", site_id=site_id, after={"kind": kind, "label": label}
    )
    generations.bump(conn, generations.SITES)  # workers' cached signing secrets (sitecache)
    row = conn.execute(site_secrets.select().where(site_secrets.c.id == secret_id)).one()
    return _secret(row)


def list_secrets(conn: Connection, site_id: int, kind: str | None = None) -> list[SiteSecret]:
    """The site's secrets (of one kind), oldest first, expired ones included."""
    query = site_secrets.select().where(site_secrets.c.site_id == site_id)
    if kind is not None:
        query = query.where(site_secrets.c.kind == kind)
    return [_secret(r) for r in conn.execute(query.order_by(site_secrets.c.id))]


def active_secrets(conn: Connection, site_id: int, kind: str) -> list[str]:
    """The secret values that may sign a request now."""
    return [secret for secret, _ in unexpired_secrets(conn, site_id, kind)]


def unexpired_secrets(
    conn: Connection, site_id: int, kind: str
) -> list[tuple[str, dt.datetime | None]]:
    """(secret, when it stops signing: None for never) of each secret that may sign now."""
    at = now()
    rows = conn.execute(
        select(site_secrets.c.secret, site_secrets.c.expires_at).where(
            site_secrets.c.site_id == site_id,
            site_secrets.c.kind == kind,
            or_(site_secrets.c.expires_at.is_(None), site_secrets.c.expires_at > at),
        )
    )
    return [(r.secret, utc(r.expires_at)) for r in rows]


def remove_secret(
    conn: Connection, site_id: int, label: str, actor: str = audit.CLI_ACTOR
) -> SiteSecret:
    """Delete the site's secret with this label; audit it."""
    row = conn.execute(
        site_secrets.select().where(
            site_secrets.c.site_id == site_id, site_secrets.c.label == label
        )
    ).first()
    if row is None:
        raise SecretError(f"the site has no secret labelled {label!r}")
    conn.execute(site_secrets.delete().where(site_secrets.c.id == row.id))
    generations.bump(conn, generations.SITES)
    audit.record(
        conn,
        actor,
        "site.secret.remove",
        site_id=site_id,
        before={"kind": row.kind, "label": row.label},
    )
    return _secret(row)
