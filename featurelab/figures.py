"""What every study's figures share: writing a figure beside the CSV of its numbers."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


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
