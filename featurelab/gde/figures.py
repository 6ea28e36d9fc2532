"""Figures of the GDE interventions (Jiang, Baek, Kolter (2024) §6, App. B Fig 5b, F.8, F.9).

Every figure function returns ``(fig, df)``: a matplotlib :class:`~matplotlib.figure.Figure`
(Agg, not registered with pyplot, so nothing needs closing) and ``df``, the numbers that are
plotted, to be written beside the PNG with :func:`save`.

* :func:`fig_accuracy_vs_agreement` — Table 1 as a picture: accuracy vs agreement per
  condition (± std error bars), the GDE line y = x, and the paper's points if given.
* :func:`fig5b` — Figure 5b (App. B): test accuracy against the training-data fraction.
* :func:`fig_calibration` — reliability diagrams per condition from
  :func:`featurelab.gde.calibration`'s bins.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..figures import new_figure, require_columns
from .tables import condition_label

__all__ = ["fig_accuracy_vs_agreement", "fig5b", "fig_calibration"]

_VIEW_STYLE = {
    "ensemble": dict(color="tab:blue", marker="o", label="ensemble (mean softmax), top label"),
    "member": dict(color="tab:orange", marker="s", label="members pooled, top label"),
    "class_aggregated": dict(color="tab:green", marker="^", label="class-aggregated (all classes)"),
}



def _col(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].astype(float).to_numpy() if name in df.columns else np.full(len(df), np.nan)


def fig_accuracy_vs_agreement(table: pd.DataFrame, paper: pd.DataFrame | None = None,
                              title: str | None = None) -> tuple[Figure, pd.DataFrame]:
    """Accuracy (x) vs agreement (y) per condition with ± std error bars and the GDE line y = x.

    ``table``: :func:`featurelab.gde.results_table` (condition, accuracy_mean, accuracy_std,
    agreement_mean, agreement_std, …). ``paper``: optional
    :func:`featurelab.data.paper_numbers.paper_table` (condition, accuracy, agreement and
    optionally *_std); its points are drawn hollow, in the colour of the matching condition.
    Returns ``df`` with columns condition, label, source (``reproduced`` / ``paper``),
    accuracy, accuracy_std, agreement, agreement_std, difference.
    """
    require_columns(table, ["condition", "accuracy_mean", "accuracy_std", "agreement_mean",
                     "agreement_std"], "table")
    ours = pd.DataFrame({
        "condition": table["condition"].astype(str).to_numpy(),
        "source": "reproduced",
        "accuracy": _col(table, "accuracy_mean"), "accuracy_std": _col(table, "accuracy_std"),
        "agreement": _col(table, "agreement_mean"), "agreement_std": _col(table, "agreement_std"),
    })
    parts = [ours]
    if paper is not None:
        require_columns(paper, ["condition", "accuracy", "agreement"], "paper")
        parts.append(pd.DataFrame({
            "condition": paper["condition"].astype(str).to_numpy(), "source": "paper",
            "accuracy": _col(paper, "accuracy"), "accuracy_std": _col(paper, "accuracy_std"),
            "agreement": _col(paper, "agreement"), "agreement_std": _col(paper, "agreement_std"),
        }))
    df = pd.concat(parts, ignore_index=True)
    df["difference"] = df["agreement"] - df["accuracy"]
    df.insert(1, "label", [condition_label(c) for c in df["condition"]])

    conditions = list(dict.fromkeys(df["condition"]))
    cmap = matplotlib.colormaps["tab10"]
    colour = {c: cmap(i % 10) for i, c in enumerate(conditions)}
    fig = new_figure((5.2, 4.6))
    ax = fig.subplots()
    vals = np.concatenate([df["accuracy"].to_numpy(), df["agreement"].to_numpy()])
    vals = vals[np.isfinite(vals)]
    lo = max(0.0, float(vals.min()) - 0.05) if len(vals) else 0.0
    hi = min(1.0, float(vals.max()) + 0.05) if len(vals) else 1.0
    ax.plot([lo, hi], [lo, hi], ls="--", color="0.4", lw=1, label="GDE: agreement = accuracy")
    for src, marker, filled in (("reproduced", "o", True), ("paper", "D", False)):
        sub = df[df["source"] == src]
        for _, r in sub.iterrows():
            c = colour[r["condition"]]
            ax.errorbar(r["accuracy"], r["agreement"],
                        xerr=None if np.isnan(r["accuracy_std"]) else r["accuracy_std"],
                        yerr=None if np.isnan(r["agreement_std"]) else r["agreement_std"],
                        fmt=marker, ms=7 if filled else 6, color=c, mfc=c if filled else "none",
                        capsize=2.5, lw=1, alpha=0.95 if filled else 0.7)
            if filled:
                ax.annotate(r["label"], (r["accuracy"], r["agreement"]), xytext=(5, -10),
                            textcoords="offset points", fontsize=8, color=c)
    # legend: the marker meaning, not one entry per condition
    ax.plot([], [], "o", color="0.3", label="reproduced (mean ± std)")
    if paper is not None:
        ax.plot([], [], "D", color="0.3", mfc="none", label="Jiang, Baek, Kolter (2024) Tables 1-2")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("test accuracy (mean over members)")
    ax.set_ylabel("agreement (mean over pairs)")
    ax.set_title(title or "accuracy vs agreement per intervention", fontsize=10.5)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return fig, df


def fig5b(fraction_table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Figure 5b (App. B): test accuracy against the fraction of training data.

    ``fraction_table``: either one row per fraction with ``fraction``, ``accuracy_mean``,
    ``accuracy_std`` (e.g. :func:`featurelab.gde.results_table` rows carrying a ``fraction``
    key), or one row per member with ``fraction`` and ``accuracy`` (aggregated here: mean and
    sample std). Optional ``n_train`` is carried along. Returns ``df`` with columns fraction,
    accuracy_mean, accuracy_std, n_members (and n_train when given), sorted by fraction.
    """
    t = fraction_table
    if "fraction" not in t.columns:
        raise ValueError(f"fraction_table lacks column 'fraction'; got {list(t.columns)}")
    if "accuracy_mean" in t.columns:
        df = pd.DataFrame({"fraction": t["fraction"].astype(float),
                           "accuracy_mean": t["accuracy_mean"].astype(float),
                           "accuracy_std": _col(t, "accuracy_std"),
                           "n_members": t["n_members"].to_numpy() if "n_members" in t.columns
                           else np.nan})
        if "n_train" in t.columns:
            df["n_train"] = t["n_train"].to_numpy()
    elif "accuracy" in t.columns:
        g = t.groupby("fraction")
        df = pd.DataFrame({"accuracy_mean": g["accuracy"].mean(),
                           "accuracy_std": g["accuracy"].std(ddof=1),
                           "n_members": g["accuracy"].size()}).reset_index()
        if "n_train" in t.columns:
            df["n_train"] = g["n_train"].first().to_numpy()
    else:
        raise ValueError("fraction_table needs accuracy_mean (per fraction) or accuracy (per member)")
    if df.empty:
        raise ValueError("fraction_table is empty")
    df = df.sort_values("fraction").reset_index(drop=True)

    fig = new_figure((4.8, 3.6))
    ax = fig.subplots()
    yerr = df["accuracy_std"].to_numpy(dtype=float)
    ax.errorbar(df["fraction"], df["accuracy_mean"],
                yerr=np.where(np.isfinite(yerr), yerr, 0.0), marker="o", ms=4, lw=1.5,
                capsize=2.5, color="tab:blue")
    ax.set_xlim(0.0, 1.02 * float(df["fraction"].max()))
    ax.set_xlabel("fraction of training data")
    ax.set_ylabel("test accuracy")
    ax.set_title("data fraction vs test acc (Fig 5b)", fontsize=10.5)
    ax.grid(alpha=0.3)
    return fig, df


def fig_calibration(calibrations: Mapping[str, pd.DataFrame],
                    views: Sequence[str] = ("ensemble", "member", "class_aggregated"),
                    ncols: int = 5) -> tuple[Figure, pd.DataFrame]:
    """Reliability diagrams: one panel per condition, one curve per view.

    ``calibrations``: condition → the bins DataFrame of :func:`featurelab.gde.calibration`
    (columns view, bin, lower, upper, count, confidence, accuracy). Empty bins are skipped.
    Returns ``df`` = the bins of the plotted views with a leading ``condition`` column.
    """
    if not calibrations:
        raise ValueError("no calibrations given")
    parts = []
    for cond, bins in calibrations.items():
        require_columns(bins, ["view", "bin", "lower", "upper", "count", "confidence", "accuracy"],
                 f"bins of {cond!r}")
        b = bins[bins["view"].isin(views)].copy()
        b.insert(0, "condition", str(cond))
        parts.append(b)
    df = pd.concat(parts, ignore_index=True)
    conds = list(calibrations)
    ncols = max(1, min(int(ncols), len(conds)))
    nrows = -(-len(conds) // ncols)
    fig = new_figure((2.7 * ncols + 0.4, 2.7 * nrows + 0.7))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, cond in zip(axes, conds):
        sub = df[df["condition"] == str(cond)]
        ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1)
        for view in views:
            v = sub[(sub["view"] == view) & (sub["count"] > 0)]
            if v.empty:
                continue
            st = _VIEW_STYLE.get(view, dict(color="0.3", marker=".", label=view))
            ax.plot(v["confidence"], v["accuracy"], marker=st["marker"], color=st["color"],
                    ms=3.5, lw=1.2, label=st["label"])
        ax.set_title(condition_label(str(cond)), fontsize=10)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    for ax in axes[len(conds):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("accuracy")
    for ax in axes[(nrows - 1) * ncols:]:
        ax.set_xlabel("confidence")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(3, len(handles)),
                   fontsize=8)
    fig.suptitle("reliability diagrams", fontsize=10.5)
    return fig, df
