"""Training summary of an ensemble: a table of its members and their curves."""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

import pandas as pd

COLUMNS = ["member", "model", "seed", "arch", "width", "subset_size", "parameters", "epochs", "stop_reason",
           "final_train_acc", "test_acc", "train_seconds", "images_per_s", "device"]


def load_member_metrics(paths: Sequence[str | os.PathLike]) -> tuple[pd.DataFrame, dict[int, list[dict[str, Any]]]]:
    """Read the members' metrics files, member i's at ``paths[i]``: (one row per member with
    its zoo model, {member: history})."""
    rows, histories = [], {}
    for i, p in enumerate(paths):
        with open(p) as fh:
            m = json.load(fh)
        hist = m.get("history", [])
        histories[i] = hist
        seen = sum(h["images_per_s"] * h["seconds"] for h in hist)
        rows.append({**{k: m.get(k) for k in COLUMNS}, "member": i,
                     "images_per_s": seen / max(1e-9, sum(h["seconds"] for h in hist))})
    return pd.DataFrame(rows, columns=COLUMNS), histories


def plot_training_curves(histories: dict[int, list[dict[str, Any]]], title: str):
    """Loss and training accuracy per epoch, one line per member."""
    import seaborn as sns

    from ..figures import new_figure

    rows = [{"member": f"member {m}", **h} for m, hist in sorted(histories.items()) for h in hist]
    fig = new_figure((9, 3.4))
    ax_l, ax_a = fig.subplots(1, 2)
    if rows:
        df = pd.DataFrame(rows)
        sns.lineplot(df, x="epoch", y="loss", hue="member", marker=".", ax=ax_l)
        sns.lineplot(df, x="epoch", y="train_acc", hue="member", marker=".", ax=ax_a, legend=False)
    ax_l.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax_a.set(xlabel="epoch", ylabel="training accuracy", ylim=(0, 1.02))
    fig.suptitle(f"{title}: training of each member")
    return fig
