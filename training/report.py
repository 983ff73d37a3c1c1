"""ROC and precision-recall plots of the pooled test splits (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_plots(curves: dict[str, tuple[np.ndarray, np.ndarray]], out_dir: Path) -> list[str]:
    """Write roc.png and pr.png into `out_dir`; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    usable = {n: (y, p) for n, (y, p) in curves.items() if 0 < y.sum() < len(y)}

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for name, (y, p) in usable.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, p):.3f}, n={len(y)})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test splits")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "roc.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for name, (y, p) in usable.items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.plot(recall, precision, label=f"{name} (base rate {y.mean():.2f})")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, test splits")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "pr.png")
    plt.close(fig)
    return ["roc.png", "pr.png"]
