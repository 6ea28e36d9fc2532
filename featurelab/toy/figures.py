"""Fig 5 of the toy setting (Duzgun, Jelassi, Li, 2024, §4): for an addition vector (w_1) and a
multiplication vector (w_3), the concatenation's max |cos(W_r, w_j)| over the neurons
activated by w_j during training, one line per condition and seed. Needs no PyTorch.
"""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..figures import new_figure
from .setting import KIND


def fig5(runs: Sequence[dict[str, Any]], vectors: Sequence[int] = (0, 2), threshold: float | None = None
         ) -> tuple[Figure, pd.DataFrame]:
    """Fig 5: correlation over training of an addition (w_1) and a multiplication (w_3)
    vector; ``df`` has every vector of every run (condition, width, count, seed, step,
    epoch, vector, kind, corr, active)."""
    rows = []
    for r in runs:
        corr, active = r["corr"].max(1), r["active"].sum(1)  # the concatenation: over its networks
        for j in range(corr.shape[1]):
            rows.append(pd.DataFrame({
                "condition": r["condition"], "width": r["width"], "count": r["count"], "seed": r["seed"],
                "step": r["steps"], "epoch": r["epochs"], "vector": f"w{j + 1}", "kind": KIND[j],
                "corr": corr[:, j], "active": active[:, j]}))
    df = pd.concat(rows, ignore_index=True)
    conditions = sorted({(r["count"], r["width"], r["condition"]) for r in runs}, reverse=True)
    seeds = sorted({r["seed"] for r in runs})
    colors = dict(zip([c for *_, c in conditions], matplotlib.colormaps["viridis"](np.linspace(0, 0.85, len(conditions)))))
    fig = new_figure((4.6 * len(vectors) + 1.4, 3.6), layout=None)
    axes = fig.subplots(1, len(vectors), sharey=True, squeeze=False)[0]
    for ax, j in zip(axes, vectors):
        for count, width, name in conditions:
            label = f"{width}×{count}"
            for seed in seeds:
                d = df[(df.condition == name) & (df.seed == seed) & (df.vector == f"w{j + 1}")]
                if len(d):
                    ax.plot(d["step"], d["corr"], color=colors[name], lw=1.3, alpha=0.85, label=label)
                    label = None
        if threshold is not None:
            ax.axhline(threshold, color="grey", lw=0.8, ls=":")
        panel = "ab"[list(vectors).index(j)] if len(vectors) <= 2 else str(list(vectors).index(j) + 1)
        ax.set_title(f"({panel}) {KIND[j]} vector w{j + 1}")
        ax.set_xlabel("training step")
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("max |cos(W_r, w_j)|, activated neurons")
    axes[-1].legend(fontsize=8, title=f"width × networks\n(one line per seed,\n{len(seeds)} seeds)",
                    title_fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig, df
