"""Model promotions: the row that says which model serves, written with its audit entry."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy import select

from moderator.storage import audit
from moderator.storage import now
from moderator.storage import utc
from moderator.storage.tables import model_promotions
from moderator.storage.tables import sites


@dataclass(frozen=True)
class Promotion:
    """One promotion: the model a worker should serve (for a site, or for all)."""

    id: int
    at: object
    actor: str
    label: str
    path: str
    sha256: str
    language: str
    site_id: int | None
    reason: str
    gate: dict | None
    layer: dict | None = None
    site_name: str | None = None


def _promotion(row) -> Promotion:
    values = dict(row._mapping)
    values["at"] = utc(values["at"])
    return Promotion(**values)


def promote(
    conn: Connection,
    *,
    actor: str,
    label: str,
    path: str,
    sha256: str,
    language: str,
    reason: str,
    gate: dict | None = None,
    site_id: int | None = None,
    previous: dict | None = None,
    layer: dict | None = None,
) -> Promotion:
    """Record a promotion and its audit entry (who, what, why) in the caller's transaction.

    `previous` describes what served before ({model, path, ...}) when no promotion did.
    """
    before = active(conn, site_id)
    if before is not None:
        previous = {"model": before.label, "path": before.path}
    values = dict(
        at=now(),
        actor=actor,
        label=label,
        path=path,
        sha256=sha256,
        language=language,
        site_id=site_id,
        reason=reason,
        gate=gate,
        layer=layer,
    )
    new_id = conn.execute(model_promotions.insert().values(**values)).inserted_primary_key[0]
    audit.record(
        conn,
        actor,
        "model.promote" if layer is None else "site.layer.promote",
        site_id=site_id,
        note=reason,
        before=previous,
        after={
            "model": label,
            "path": path,
            "sha256": sha256,
            "gate": (gate or {}).get("verdict", "skipped"),
        },
    )
    return Promotion(id=new_id, **values)


def active(conn: Connection, site_id: int | None = None) -> Promotion | None:
    """The newest promotion for the site (None: the shared model), or None."""
    query = select(model_promotions).order_by(model_promotions.c.id.desc()).limit(1)
    if site_id is None:
        query = query.where(model_promotions.c.site_id.is_(None))
    else:
        query = query.where(model_promotions.c.site_id == site_id)
    row = conn.execute(query).first()
    return _promotion(row) if row is not None else None


def latest_id(conn: Connection) -> int:
    """The newest promotion's id (0 without one): what a worker polls, one index lookup."""
    row = conn.execute(
        select(model_promotions.c.id).order_by(model_promotions.c.id.desc()).limit(1)
    ).first()
    return int(row[0]) if row is not None else 0


def active_all(conn: Connection) -> tuple[Promotion | None, dict[int, Promotion]]:
    """(the shared model's promotion, each site's newest layer by site id)."""
    shared = active(conn)
    layers: dict[int, Promotion] = {}
    query = (
        select(model_promotions)
        .where(model_promotions.c.site_id.is_not(None))
        .order_by(model_promotions.c.id)
    )
    for row in conn.execute(query):
        layers[row.site_id] = _promotion(row)
    return shared, layers


def history(conn: Connection, limit: int = 50) -> list[Promotion]:
    """The newest promotions first, with their site's name."""
    query = (
        select(model_promotions, sites.c.name.label("site_name"))
        .join(sites, sites.c.id == model_promotions.c.site_id, isouter=True)
        .order_by(model_promotions.c.id.desc())
        .limit(limit)
    )
    return [_promotion(row) for row in conn.execute(query)]
