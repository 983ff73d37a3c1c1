"""Write models/<name>/: model.joblib, model.json, MODEL_CARD.md and report/ (plots + metrics)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from pathlib import Path

from moderator.classifier import METADATA_FILE
from moderator.classifier import MIN_CONTRIBUTION
from moderator.classifier import MIN_SHARE
from moderator.classifier import MODEL_FILE
from moderator.classifier import TYPE_RATIO
from training.datasets import LABEL_MAPPING
from training.datasets import MULTILINGUAL_MAPPING
from training.datasets import identity_terms
from training.evaluate import HOLD_PRECISION
from training.evaluate import REFERENCE_PREVALENCE
from training.evaluate import REJECT_PRECISION
from training.evaluate import summary_lines
from training.report import write_plots


def versions() -> dict[str, str]:
    """Library versions the artifact depends on (checked again at load time)."""
    import joblib
    import numpy
    import scipy
    import sklearn

    return {
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "python": platform.python_version(),
    }


def check_writable(out: Path) -> None:
    """Prove a model can be published at `out`; raises OSError otherwise.

    The model is written beside `out` (see `staging`), so its parent folder must be
    writable, and an existing `out` must be a model directory (or empty): training never
    replaces a folder that holds something else.
    """
    if out.exists():
        if not out.is_dir():
            raise NotADirectoryError(20, "exists and is not a directory")
        if any(out.iterdir()) and not (out / METADATA_FILE).is_file():
            raise FileExistsError(17, "exists and is not a model directory (no model.json)")
    parent = out.parent
    created = []
    for folder in reversed([parent, *parent.parents]):
        if not folder.exists():
            folder.mkdir()
            created.append(folder)
    try:
        probe = parent / f".{out.name}.write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    finally:
        # A run that fails later (missing data) leaves nothing behind.
        for folder in reversed(created):
            folder.rmdir()


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` to write a model into, published whole or not at all.

    On success the folder is renamed to `out` (an existing model there is replaced in one
    rename); on any failure, Ctrl-C included, it is removed, so a failed run never leaves a
    partial model directory a server could load.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield work
        publish(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def publish(work: Path, out: Path) -> None:
    """Move the finished model folder `work` to `out`, replacing a model already there."""
    if not out.exists():
        os.replace(work, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    try:
        os.replace(work, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def write_model(out: Path, pipeline) -> str:
    """Dump the pipeline; returns the sha256 of model.joblib."""
    import joblib

    out.mkdir(parents=True, exist_ok=True)
    path = out / MODEL_FILE
    joblib.dump(pipeline, path, compress=3)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_serving(out: Path, pipeline, model_sha256: str) -> Path:
    """Write out/serving.npz: the compiled pipeline tied to model.joblib's sha256 (fast loading)."""
    from moderator.classifier import artifact

    return artifact.save(out, artifact.compile_pipeline(pipeline), model_sha256)


def compile_serving(model_dir: Path) -> Path:
    """(Re)write model_dir/serving.npz from its model.joblib, which is read, never rewritten."""
    from moderator.classifier import MODEL_FILE
    from moderator.classifier import artifact
    from moderator.classifier.model import _unpickle

    model_path = Path(model_dir) / MODEL_FILE
    if not model_path.is_file():
        raise artifact.ModelLoadError(f"model directory {model_dir} lacks {MODEL_FILE}")
    digest = artifact.file_sha256(model_path)
    return write_serving(Path(model_dir), _unpickle(model_path), digest)


def model_version(model_sha256: str, created: datetime) -> str:
    """`YYYY.MM.DD-<first 8 hex of model.joblib sha256>`."""
    return f"{created:%Y.%m.%d}-{model_sha256[:8]}"


def metadata(
    name: str,
    model_sha256: str,
    data_hashes: dict[str, str],
    thresholds: dict,
    operating_points: dict,
    training: dict,
    created: datetime | None = None,
    language: str = "en",
    chosen_on: str | None = None,
) -> dict:
    """The model.json contents (metrics are added once the model is evaluated).

    `chosen_on` says which scores the thresholds were chosen on (default: the validation split).
    """
    created = created or datetime.now(UTC).replace(microsecond=0)
    return {
        "name": name,
        "version": model_version(model_sha256, created),
        "created": created.isoformat().replace("+00:00", "Z"),
        "model_sha256": model_sha256,
        "versions": versions(),
        "language": language,
        "input": f"text as produced by moderator.text.normalise(text, {language!r})",
        "categories": list(thresholds),
        "data": data_hashes,
        "label_mapping": LABEL_MAPPING if language == "en" else MULTILINGUAL_MAPPING[language],
        "thresholds": thresholds,
        "threshold_rule": (
            (chosen_on or "chosen on a seeded validation split carved from the training rows")
            + ": hold = the "
            f"F1-optimal threshold, raised if needed until precision >= {HOLD_PRECISION}; "
            f"reject = the lowest threshold whose precision is >= "
            f"{REJECT_PRECISION} at a prevalence of at most {REFERENCE_PREVALENCE:.0%} (a mostly "
            "civil comment section; computed from each threshold's true- and false-positive "
            "rates), 1.0 = never rejects on its own"
        ),
        "operating_points": operating_points,
        "explain": {
            "min_contribution": MIN_CONTRIBUTION,
            "min_share": MIN_SHARE,
            "type_ratio": TYPE_RATIO,
            # A group's name is whom an attack targets, never the offensive words themselves.
            "never": group_words() if language == "en" else [],
        },
        "training": training,
    }


def group_words() -> list[str]:
    """The words of training/data/identity_terms.txt that name a group ("muslims", "jewish",
    "gay"), lower case: explanations never list them as a reason's words."""
    generic = {"people", "users"}
    words = set()
    for adjective, plural in identity_terms():
        for term in (adjective, plural):
            words.update(w for w in re.findall(r"\w+", term.lower()) if w not in generic)
    return sorted(words)


def write_json(out: Path, meta: dict) -> None:
    """Write model.json."""
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def write_report(out: Path, report: dict) -> None:
    """report/roc.png, report/pr.png and report/EVALUATION.md."""
    report_dir = out / "report"
    write_plots(report["curves"], report_dir)
    lines = ["# Evaluation", "", "```", *summary_lines(report), "```", ""]
    lines += ["![ROC](roc.png)", "", "![Precision-recall](pr.png)", ""]
    lines += ["## Reliability (pooled test splits)", ""]
    for name, bins in report["reliability"].items():
        lines.append(
            f"**{name}**: "
            + ", ".join(
                f"{b['bin']}: predicted {b['predicted']:.2f} / "
                f"observed {b['observed']:.2f} (n={b['n']})"
                for b in bins
            )
        )
        lines.append("")
    (report_dir / "EVALUATION.md").write_text("\n".join(lines), encoding="utf-8")


# The model card (MODEL_CARD.md) is written by training/card.py; its names are this module's too.
from training.card import BENCH_END  # noqa: E402, F401
from training.card import BENCH_START  # noqa: E402, F401
from training.card import replace_bench_section  # noqa: E402, F401
from training.card import targets  # noqa: E402, F401
from training.card import write_card  # noqa: E402, F401
