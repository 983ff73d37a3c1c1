"""What the decision benches share: the data-dir default, progress, batched decisions, rounding.

Imported by the bench scripts that sit beside it (`python bench/bench_x.py` puts bench/ on
sys.path); not part of the moderator package.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from moderator.policy import Decision  # noqa: E402
from moderator.service import Moderation  # noqa: E402


def log(message: str) -> None:
    """Progress, on stderr."""
    print(message, file=sys.stderr, flush=True)


def default_data_dir() -> str:
    """MODERATOR_DATA_DIR, or ../shared/data beside the project."""
    return os.environ.get("MODERATOR_DATA_DIR", str(ROOT.parent / "shared" / "data"))


def add_common_arguments(parser, data: bool = True) -> None:
    """--model, --out and (with `data`) --data-dir, the same in every decision bench."""
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    if data:
        parser.add_argument(
            "--data-dir",
            default=default_data_dir(),
            help="the shared datasets (default: MODERATOR_DATA_DIR or ../shared/data)",
        )
    parser.add_argument("--out", default=str(RESULTS), help="where the results are written")


def copy_to_model_card(model: str | Path, name: str, md: str) -> None:
    """Put a bench's Markdown into the model's MODEL_CARD.md (its own section), if there is one."""
    from training.artifacts import replace_bench_section

    card = Path(model) / "MODEL_CARD.md"
    if card.is_file():
        # The bench's title becomes a section of the card, its sections subsections.
        replace_bench_section(card, re.sub(r"^(#+) ", r"#\1 ", md, flags=re.M), name)


def decide(
    moderation: Moderation, texts: list[str], label: str, batch: int = 512
) -> list[Decision]:
    """Moderation.decide_batch over `texts` in batches, logging progress."""
    out: list[Decision] = []
    for start in range(0, len(texts), batch):
        out.extend(moderation.decide_batch(texts[start : start + batch]))
        log(f"{label}: {len(out)}/{len(texts)}")
    return out


def rounded(value):
    """Floats to 4 decimals, recursively through dicts, lists and tuples."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value
