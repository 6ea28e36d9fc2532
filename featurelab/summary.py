"""Training summary of an ensemble: a table of its members and their curves."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable

import pandas as pd

COLUMNS = ["member", "seed", "arch", "width", "subset_size", "parameters", "epochs", "stop_reason",
           "final_train_acc", "test_acc", "train_seconds", "images_per_s", "device"]


def load_member_metrics(paths: Iterable[str | os.PathLike]) -> tuple[pd.DataFrame, dict[int, list[dict[str, Any]]]]:
    """Read the members' metrics JSON files: (one row per member, {member: history})."""
    rows, histories = [], {}
    for p in paths:
        with open(p) as fh:
            m = json.load(fh)
        hist = m.get("history", [])
        histories[int(m["member"])] = hist
        seen = sum(h["images_per_s"] * h["seconds"] for h in hist)
        rows.append({**{k: m.get(k) for k in COLUMNS},
                     "images_per_s": seen / max(1e-9, sum(h["seconds"] for h in hist))})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("member"), histories


def plot_training_curves(histories: dict[int, list[dict[str, Any]]], title: str):
    """Loss and training accuracy per epoch, one line per member."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(9, 3.4))
    for member, hist in sorted(histories.items()):
        ep = [h["epoch"] for h in hist]
        ax_l.plot(ep, [h["loss"] for h in hist], marker=".", label=f"member {member}")
        ax_a.plot(ep, [h["train_acc"] for h in hist], marker=".")
    ax_l.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax_a.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1.02))
    ax_l.legend(fontsize=7)
    fig.suptitle(f"{title}: training of each member")
    fig.tight_layout()
    return fig
