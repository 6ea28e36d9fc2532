"""What every study's figures share: one style, a figure constructor, and writing a figure
beside the CSV of its numbers.

The style is seaborn's (``paper`` context, white grid, the colour-blind palette), set once
for the whole process by :func:`new_figure`; statistical panels use seaborn's own plots
(histograms, joint densities, regression fits, heatmaps) on the axes of these figures.
Figures are plain :class:`matplotlib.figure.Figure` objects on the Agg backend that pyplot
does not track, so nothing leaks when a caller forgets to close one.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

#: Matplotlib settings over seaborn's theme: readable at the report's width, no top/right spines.
RC: dict[str, Any] = {
    "figure.dpi": 100, "savefig.dpi": 120, "axes.spines.top": False, "axes.spines.right": False,
    "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "figure.titlesize": 11,
}
_STYLED = False


def use_style() -> None:
    """Set the shared style (seaborn ``paper`` context, white grid, colour-blind palette) once."""
    global _STYLED
    if _STYLED:
        return
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", rc=RC)
    _STYLED = True


def new_figure(figsize: tuple[float, float], layout: str | None = "constrained"):
    """A new figure in the shared style, not registered with pyplot."""
    use_style()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout=layout)


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the columns of ``df`` that a figure needs and ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}; got {list(df.columns)}")


def save(fig, df: pd.DataFrame, png: str | os.PathLike, csv: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``fig`` as PNG (tight bounding box) and ``df`` as CSV (no index), creating
    parent folders; a pyplot-managed figure is closed afterwards."""
    for p in (png, csv):
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(png, dpi=dpi, bbox_inches="tight")
        df.to_csv(csv, index=False)
    finally:
        import matplotlib.pyplot as plt

        if plt.fignum_exists(getattr(fig, "number", -1)):
            plt.close(fig)
