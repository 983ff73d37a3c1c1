"""Promoting a model: check it loads and passed the gate, then record who, what and why.

The one path for `moderator models promote` and the dashboard's Models page. A model is
promoted only when it loads here, and only with a `python -m training compare --out`
report whose verdict is promote, whose candidate is this very file (sha256) and whose
current model is the one serving now; `skip_gate` promotes without a report, and the audit
log says so. Every worker then picks the model up within a second or two (moderator/serving.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from moderator.serving import model_digest

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: The largest reason accepted, in characters.
MAX_REASON = 1000
#: The largest compare report read, in bytes.
MAX_REPORT_BYTES = 20 * 1024 * 1024


class PromotionError(Exception):
    """The model can't be promoted; the message says why, in one line."""


@dataclass(frozen=True)
class Candidate:
    """A model directory that loads: what promotion records."""

    path: Path
    label: str
    sha256: str
    language: str


def resolve(name: str, models_folder: Path) -> Path:
    """NAME as given: a path to a model directory, or a folder name under `models_folder`."""
    name = (name or "").strip()
    if not name or "\x00" in name or len(name) > 1000:
        raise PromotionError("name a model directory (models/NAME)")
    path = Path(name).expanduser()
    if not path.is_dir() and len(path.parts) == 1:
        path = models_folder / name
    if not path.is_dir():
        raise PromotionError(f"no model directory {name}")
    return path.resolve()


def inspect(path: Path) -> Candidate:
    """Load the model once (as a worker will) and hash model.joblib; PromotionError if it fails."""
    from moderator.classifier import Classifier
    from moderator.classifier import ModelLoadError

    try:
        classifier = Classifier.load(path)
        sha = model_digest(path)
    except (ModelLoadError, OSError) as error:
        raise PromotionError(f"{path} does not load: {error}") from None
    return Candidate(path, classifier.label(), sha, classifier.language)


def read_report(path: Path) -> dict:
    """A compare report (JSON from `python -m training compare --out`)."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise PromotionError(f"{path} is larger than a compare report can be")
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PromotionError(f"cannot read the compare report {path}: {error}") from None
    return check_report_shape(report)


def check_report_shape(report) -> dict:
    """The fields promotion relies on, or PromotionError."""
    try:
        ok = (
            isinstance(report, dict)
            and report["verdict"] in ("promote", "refuse")
            and isinstance(report["reasons"], list)
            and isinstance(report["candidate"]["model_sha256"], str)
            and isinstance(report["current"]["model_sha256"], str)
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise PromotionError("not a compare report (python -m training compare --out FILE)")
    return report


def gate(candidate: Candidate, report: dict | None, serving_sha: str | None) -> dict | None:
    """The gate's record for a promotion, or PromotionError when the report doesn't allow it.

    None means promoted without a report (the caller asked to skip the gate).
    """
    if report is None:
        return None
    if report["candidate"]["model_sha256"] != candidate.sha256:
        raise PromotionError(
            f"the compare report is about another model ({report['candidate'].get('label')}), "
            f"not {candidate.label} at {candidate.path}"
        )
    if serving_sha is not None and report["current"]["model_sha256"] != serving_sha:
        raise PromotionError(
            f"the compare report compared with {report['current'].get('label')}, which is not "
            "the model serving now: compare with the serving model again"
        )
    if report["verdict"] != "promote":
        reasons = "; ".join(str(r) for r in report["reasons"][:5])
        raise PromotionError(f"the gate refused {candidate.label}: {reasons}")
    return {
        "verdict": report["verdict"],
        "reasons": report["reasons"],
        "compared_with": report["current"].get("label"),
        "flipped": len(report.get("flipped") or []),
    }


def check_reason(reason: str | None) -> str:
    """Why the model is promoted: required, one paragraph."""
    reason = (reason or "").strip()
    if not reason:
        raise PromotionError("say why (--reason): it goes in the audit log")
    if len(reason) > MAX_REASON:
        raise PromotionError(f"the reason is longer than {MAX_REASON} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in reason):
        raise PromotionError("the reason holds control characters")
    return reason


def serving_model(engine: Engine, default_model: Path | None) -> dict | None:
    """What serves now: the newest promotion, else the configured model ({model, path, sha256})."""
    from moderator import storage
    from moderator.storage import models

    with storage.reading(engine) as conn:
        active = models.active(conn)
    if active is not None:
        return {"model": active.label, "path": active.path, "sha256": active.sha256}
    try:
        digest = model_digest(default_model) if default_model is not None else None
    except OSError:
        digest = None
    if digest is None:
        return None
    try:
        meta = json.loads((default_model / "model.json").read_text(encoding="utf-8"))
        label = f"{meta['name']}@{meta['version']}"
    except (OSError, ValueError, KeyError, TypeError):
        label = default_model.name
    return {
        "model": label,
        "path": str(default_model),
        "sha256": digest,
    }


def promote(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    reason: str,
    report: dict | None = None,
    skip_gate: bool = False,
    default_model: Path | None = None,
    serving_language: str = "en",
):
    """Promote the model at `path` for every worker; returns the stored Promotion."""
    from moderator import storage
    from moderator.storage import models

    reason = check_reason(reason)
    if report is None and not skip_gate:
        raise PromotionError(
            "no compare report: run `python -m training compare --candidate DIR --current "
            "DIR --out report.json` and pass --report report.json (or --skip-gate, which the "
            "audit log records)"
        )
    candidate = inspect(path)
    if candidate.language != serving_language:
        raise PromotionError(
            f"{candidate.label} is a {candidate.language} model; the promoted model serves "
            f"{serving_language} (other languages: MODERATOR_LANGUAGE_MODELS)"
        )
    serving = serving_model(engine, default_model)
    record = gate(candidate, report, serving["sha256"] if serving else None)
    with storage.transaction(engine) as conn:
        return models.promote(
            conn,
            previous=serving,
            actor=actor,
            label=candidate.label,
            path=str(candidate.path),
            sha256=candidate.sha256,
            language=candidate.language,
            reason=reason,
            gate=record,
        )


def promote_layer(
    engine: Engine,
    site_name: str,
    layer: dict,
    *,
    actor: str,
    reason: str,
    gate: dict,
    default_model: Path | None = None,
):
    """Promote a site's layer (moderator/sitelayer.py) for every worker, only with a gate
    verdict of promote and only over the model serving now; returns the stored Promotion."""
    import hashlib

    from moderator import storage
    from moderator.sitelayer import SiteLayer
    from moderator.storage import models
    from moderator.storage import sites

    reason = check_reason(reason)
    if not isinstance(gate, dict) or gate.get("verdict") != "promote":
        reasons = "; ".join(str(r) for r in (gate or {}).get("reasons", [])[:5])
        raise PromotionError(f"the gate refused the layer: {reasons or 'no verdict'}")
    serving = serving_model(engine, default_model)
    if serving is None or layer.get("base") != serving["sha256"]:
        raise PromotionError("the layer was fitted on another model than the one serving now")
    with storage.reading(engine) as conn:
        site = sites.get_site_by_name(conn, site_name)
    if site is None:
        raise PromotionError(f"no site {site_name}")
    encoded = json.dumps(layer, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(encoded).hexdigest()
    label = f"{site.name}-layer@{digest[:8]}"
    try:
        SiteLayer.from_dict(site.id, label, layer)
    except ValueError as error:
        raise PromotionError(str(error)) from None
    with storage.transaction(engine) as conn:
        return models.promote(
            conn,
            actor=actor,
            label=label,
            path=serving["path"],
            sha256=digest,
            language="en",
            reason=reason,
            gate=gate,
            site_id=site.id,
            layer=layer,
        )
