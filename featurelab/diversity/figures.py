"""The diversity study's figures (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule
Them All: Overlapping Features of Training Methods", ICLR 2022): Fig 1 (error inconsistency per
category of training divergence), Fig 2 (ensemble gain and conversion rate against error
inconsistency), Fig 3 (specialisation angle), Fig 4 (specialisation by subgroup), Fig 5 (greedy
ensembling), Fig 6 (feature overlap and compression), and a bridge figure: linear CKA and the
interaction tensor's shared features (Jiang, Baek, Kolter, ICLR 2024, Algorithm 1) against
error inconsistency.

Each function takes the tables of :func:`featurelab.diversity.study.analyse` it plots and
returns a :class:`matplotlib.figure.Figure`. The categories keep one order (Reinit → Hyper →
Arch → Framework → Dataset) and one colour and marker each in every figure (:data:`COLOURS`,
:data:`MARKERS`); a category absent from a table is left out, a category not in that list is
drawn after them in grey.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..figures import new_figure, require_columns

PAPER = "Gontijo-Lopes et al. 2022"
#: The categories of training divergence from the base, from the least to the most divergent.
CATEGORIES = ("reinit", "hyper", "arch", "framework", "dataset")
#: The paper's names of the categories.
LABELS = {"base": "Base", "reinit": "Reinit", "hyper": "Hyper", "arch": "Arch", "framework": "Framework",
          "dataset": "Dataset"}
#: One colour per category in every figure (seaborn's colour-blind palette; the base in black).
COLOURS = {"base": "#000000", "reinit": "#0173b2", "hyper": "#029e73", "arch": "#de8f05", "framework": "#cc78bc",
           "dataset": "#d55e00"}
#: One marker per category in every figure.
MARKERS = {"base": "o", "reinit": "o", "hyper": "s", "arch": "^", "framework": "D", "dataset": "v"}
#: The colour of anything outside the categories (pairs without the base, unknown categories).
OTHER = "#949494"
#: The four correctness groups of a pair (i = the base, j = the other model).
GROUPS = ("both_correct", "both_wrong", "only_i", "only_j")
GROUP_LABELS = {"both_correct": "both correct", "both_wrong": "both wrong", "only_i": "only the base correct",
                "only_j": "only the other correct"}
GROUPINGS = {"class": "class", "kind": "dominant vs rare", "blue": "blue-level tertile"}


# ---------------------------------------------------------------- helpers
def colour(category: str) -> str:
    return COLOURS.get(str(category), OTHER)


def label(category: str) -> str:
    return LABELS.get(str(category), str(category))


def marker(category: str) -> str:
    return MARKERS.get(str(category), "X")


def order(categories: Iterable, base: bool = False) -> list[str]:
    """The categories present, in the fixed order (the base first when ``base``), then any
    other value sorted."""
    present = {str(c) for c in categories if isinstance(c, str) or pd.notna(c)}
    known = (("base",) if base else ()) + CATEGORIES
    return [c for c in known if c in present] + sorted(present - set(known) - ({"base"} if not base else set()))


def _handles(cats: Iterable[str], **kw) -> list[Line2D]:
    return [Line2D([], [], color=colour(c), marker=marker(c), ls=kw.get("ls", "none"), ms=kw.get("ms", 6),
                   label=label(c)) for c in cats]


def _legend(fig: Figure, handles: list, title: str | None = None, loc: str = "outside right upper",
            ncols: int = 1) -> None:
    if handles:
        fig.legend(handles=handles, loc=loc, frameon=False, title=title, ncols=ncols)


def _errs(v: float, lo: float, hi: float) -> list[list[float]]:
    """Asymmetric error bar lengths from an interval, 0 where the interval is missing or does
    not contain the estimate."""
    a = v - lo if np.isfinite(lo) else 0.0
    b = hi - v if np.isfinite(hi) else 0.0
    return [[max(a, 0.0)], [max(b, 0.0)]]


def _empty(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=OTHER)


def _num(df: pd.DataFrame, cols: Iterable[str]) -> pd.DataFrame:
    df = df.copy()
    for c in cols:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Write ``fig`` as PNG (tight bounding box), creating the parent folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")


# ---------------------------------------------------------------- Fig 1
def fig1(pairs: pd.DataFrame, categories: pd.DataFrame) -> Figure:
    """Fig 1: error inconsistency of the base with each in-window model, per category: the
    category mean (bar) with its 95% bootstrap interval, and every pair (dots, ± 1.96 SE when
    ``ei_se`` is given)."""
    require_columns(pairs, ["category", "ei"], "pairs")
    require_columns(categories, ["category", "ei", "ei_lo", "ei_hi"], "categories")
    pairs = _num(pairs, ["ei"] + (["ei_se"] if "ei_se" in pairs else []))
    categories = _num(categories, ["ei", "ei_lo", "ei_hi"])
    cats = order(list(pairs.category) + list(categories.category))
    fig = new_figure((max(4.6, 1.0 * len(cats) + 2.6), 3.6))
    ax = fig.subplots()
    cat = categories.drop_duplicates("category").set_index("category")
    ticks = []
    for x, c in enumerate(cats):
        if c in cat.index and np.isfinite(cat.loc[c, "ei"]):
            r = cat.loc[c]
            ax.bar(x, r.ei, width=0.64, color=colour(c), alpha=0.3, edgecolor=colour(c), lw=1.0)
            ax.errorbar(x, r.ei, yerr=_errs(r.ei, r.ei_lo, r.ei_hi), color="black", capsize=5, lw=1.2, zorder=3)
        p = pairs[(pairs.category == c) & np.isfinite(pairs.ei)]
        xs = x + (np.linspace(-0.18, 0.18, len(p)) if len(p) > 1 else np.zeros(len(p)))
        yerr = 1.96 * p.ei_se.fillna(0).to_numpy() if "ei_se" in p else None
        ax.errorbar(xs, p.ei, yerr=yerr, fmt=marker(c), color=colour(c), ms=4.5, lw=0.8, ls="none", zorder=4,
                    mec="white", mew=0.4)
        ticks.append(f"{label(c)}\n{len(p)} pair{'s' if len(p) != 1 else ''}")
    ax.set_xticks(range(len(cats)), ticks)
    ax.set_xlim(-0.6, max(len(cats), 1) - 0.4)
    ax.set_ylim(bottom=0)
    if not cats:
        _empty(ax, "no pairs")
    ax.set_xlabel("training divergence from the base (Reinit → Dataset)")
    ax.set_ylabel("error inconsistency\n(fraction of test points)")
    ax.set_title(f"Fig 1 ({PAPER}):\nerror inconsistency with the base per category")
    _legend(fig, [Patch(facecolor="lightgrey", edgecolor="grey", label="category mean"),
                  Line2D([], [], color="black", marker="_", ms=8, label="95% paired bootstrap interval"),
                  Line2D([], [], color="grey", marker="o", ls="none", ms=4.5, label="one pair (± 1.96 SE)")],
            loc="outside lower center", ncols=3)
    return fig


# ---------------------------------------------------------------- Fig 2
def _fit_text(x: np.ndarray, y: np.ndarray) -> tuple[str, tuple[float, float] | None]:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return f"{len(x)} pair{'s' if len(x) != 1 else ''}, no fit", None
    slope, icpt = np.polyfit(x, y, 1)
    r = np.corrcoef(x, y)[0, 1] if len(x) > 2 and np.ptp(y) > 0 else np.nan
    rtxt = f", Pearson r {r:.2f}" if np.isfinite(r) else ""
    return f"fit: slope {slope:.2f}{rtxt} ({len(x)} pairs)", (slope, icpt)


def _versus_ei(ax, pairs: pd.DataFrame, categories: pd.DataFrame, k: str, cats: list[str]) -> str:
    x, y = pairs.ei.to_numpy(float), pairs[k].to_numpy(float)
    for c in cats:
        p = pairs[pairs.category == c]
        ax.scatter(p.ei, p[k], s=22, color=colour(c), marker=marker(c), alpha=0.75, edgecolor="white", lw=0.4,
                   zorder=3)
    text, fit = _fit_text(x, y)
    if fit is not None:
        ok = np.isfinite(x) & np.isfinite(y)
        xs = np.linspace(x[ok].min(), x[ok].max(), 50)
        ax.plot(xs, fit[1] + fit[0] * xs, color="grey", lw=1.2, ls="--", zorder=2)
    cat = categories.drop_duplicates("category").set_index("category")
    for c in cats:
        if c not in cat.index:
            continue
        r = cat.loc[c]
        if not (np.isfinite(r.ei) and np.isfinite(r[k])):
            continue
        ax.errorbar(r.ei, r[k], xerr=_errs(r.ei, r.ei_lo, r.ei_hi), yerr=_errs(r[k], r[f"{k}_lo"], r[f"{k}_hi"]),
                    fmt="*", ms=14, color=colour(c), mec="black", mew=0.7, ecolor=colour(c), capsize=3, lw=1.2,
                    zorder=5)
    if not np.isfinite(y).any():
        _empty(ax, "no finite values")
    ax.set_xlabel("error inconsistency (fraction of test points)")
    return text


def fig2(pairs: pd.DataFrame, categories: pd.DataFrame) -> Figure:
    """Fig 2: (a) the calibrated ensemble's gain over the mean of its members' accuracies and
    (b) the conversion rate (share of the error-inconsistent points the ensemble gets right)
    against error inconsistency; dots are pairs with the base, stars the category means with
    their 95% bootstrap intervals, dashed the least-squares line over pairs. Pairs with an
    undefined (NaN) conversion rate are left out of (b)."""
    require_columns(pairs, ["category", "ei", "gain", "conversion"], "pairs")
    require_columns(categories, ["category"] + [f"{k}{s}" for k in ("ei", "gain", "conversion")
                                                for s in ("", "_lo", "_hi")], "categories")
    pairs = _num(pairs, ["ei", "gain", "conversion"])
    categories = _num(categories, [f"{k}{s}" for k in ("ei", "gain", "conversion") for s in ("", "_lo", "_hi")])
    cats = order(list(pairs.category) + list(categories.category))
    fig = new_figure((10.0, 3.9))
    a, b = fig.subplots(1, 2)
    ta = _versus_ei(a, pairs, categories, "gain", cats)
    a.axhline(0, color="grey", lw=0.8, ls=":")
    a.set_ylabel("ensemble gain over the members' mean\n(accuracy, fraction of test points)")
    a.set_title(f"(a) ensemble gain\n{ta}")
    tb = _versus_ei(b, pairs, categories, "conversion", cats)
    b.axhline(0.5, color="grey", lw=0.8, ls=":")
    b.set_ylabel("conversion rate (fraction of the\nerror-inconsistent points)")
    b.set_title(f"(b) conversion rate\n{tb}")
    fig.suptitle(f"Fig 2 ({PAPER}): ensembles of more divergent models gain more")
    _legend(fig, _handles(cats) + [
        Line2D([], [], color="grey", marker="*", ms=12, mec="black", ls="none", label="category mean\n(95% interval)"),
        Line2D([], [], color="grey", ls="--", label="least-squares fit\nover pairs")], title="added model")
    return fig


# ---------------------------------------------------------------- Fig 3
def fig3(angles: pd.DataFrame) -> Figure:
    """Fig 3: histograms of the specialisation angle θ = atan2(p₂, p₁) (p₁ the base's, p₂ the
    other model's calibrated confidence in its own top-1 class), pooled over the category's
    pairs, as the share of the points in each correctness group; rows are categories, columns
    the four groups. Each panel's title gives the group's share of all the category's points."""
    require_columns(angles, ["category", "group", "bin_lo", "bin_hi", "count"], "angles")
    angles = _num(angles, ["bin_lo", "bin_hi", "count"])
    cats = order(angles.category)
    rows = max(1, len(cats))
    fig = new_figure((11.0, 1.7 * rows + 1.0))
    axes = np.atleast_2d(fig.subplots(rows, 4, sharex=True, squeeze=False))
    for r in range(rows):
        c = cats[r] if cats else None
        a = angles[angles.category == c]
        total = a["count"].sum()
        for col, g in enumerate(GROUPS):
            ax = axes[r, col]
            h = a[a.group == g].groupby(["bin_lo", "bin_hi"], as_index=False)["count"].sum().sort_values("bin_lo")
            n = h["count"].sum()
            if n > 0:
                ax.bar(h.bin_lo, h["count"] / n, width=h.bin_hi - h.bin_lo, align="edge", color=colour(c), alpha=0.85,
                       edgecolor="white", lw=0.3)
            else:
                _empty(ax, "no points")
            ax.axvline(45, color="black", ls=":", lw=1.0)
            share = f"{n / total:.1%} of points" if total else "no points"
            ax.set_title(f"{GROUP_LABELS[g]}\n{share}" if r == 0 else share, fontsize=8.5)
            ax.set_xlim(0, 90)
            ax.set_xticks([0, 15, 30, 45, 60, 75, 90])
            ax.set_ylim(bottom=0)
            if col == 0:
                ax.set_ylabel(f"{label(c) if c else 'no pairs'}\nshare of group", color=colour(c) if c else OTHER)
            if r == rows - 1:
                ax.set_xlabel("θ = atan2(p₂, p₁) (degrees)")
    fig.suptitle(f"Fig 3 ({PAPER}): specialisation angle (45° = equal confidence; above: the other model, "
                 "model 2, is more confident; below: the base, model 1)")
    return fig


# ---------------------------------------------------------------- Fig 4
def fig4(subgroups: pd.DataFrame) -> Figure:
    """Fig 4: per subgroup (class; on a synthetic world also dominant vs rare points and the
    blue-level tertiles), the base's accuracy minus the other model's: the category mean over
    its pairs (marker, bar: the range over pairs) and each pair (small dots), categories side by
    side within each group."""
    require_columns(subgroups, ["category", "grouping", "group", "difference"], "subgroups")
    subgroups = _num(subgroups, ["difference"])
    subgroups = subgroups.assign(group=subgroups.group.astype(str))
    groupings = [g for g in GROUPINGS if g in set(subgroups.grouping)]
    groupings += sorted(set(subgroups.grouping.astype(str)) - set(groupings))
    cats = order(subgroups.category)
    sizes = [max(3, subgroups.loc[subgroups.grouping == g, "group"].nunique()) for g in groupings] or [2]
    fig = new_figure((min(13.0, 2.0 + 0.75 * sum(sizes) + 0.6 * len(sizes)), 3.8))
    axes = np.atleast_1d(fig.subplots(1, len(sizes), sharey=True, gridspec_kw={"width_ratios": sizes},
                                      squeeze=False)[0])
    width = 0.8 / max(1, len(cats))
    for ax, gp in zip(axes, groupings):
        d = subgroups[subgroups.grouping == gp]
        groups = list(dict.fromkeys(d.group))
        if gp == "class":
            groups = sorted(groups, key=lambda s: (0, int(s)) if s.lstrip("-").isdigit() else (1, s))
        for gi, g in enumerate(groups):
            if gi % 2:
                ax.axvspan(gi - 0.5, gi + 0.5, color="0.93", zorder=0, lw=0)
        for ci, c in enumerate(cats):
            dc = d[d.category == c]
            off = (ci - (len(cats) - 1) / 2) * width
            for gi, g in enumerate(groups):
                v = dc.loc[dc.group == g, "difference"].to_numpy(float)
                v = v[np.isfinite(v)]
                if not len(v):
                    continue
                x = gi + off
                ax.scatter(np.full(len(v), x), v, s=6, color=colour(c), alpha=0.35, lw=0, zorder=2)
                m = v.mean()
                ax.errorbar(x, m, yerr=[[m - v.min()], [v.max() - m]], fmt=marker(c), color=colour(c), ms=5,
                            lw=1.0, capsize=0, mec="white", mew=0.4, zorder=3)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_xlim(-0.5, len(groups) - 0.5)
        ax.grid(False, axis="x")
        ax.set_xlabel(GROUPINGS.get(gp, gp) + (" index" if gp == "class" else ""))
        ax.set_title(f"by {GROUPINGS.get(gp, gp)}")
        ax.tick_params(axis="x", length=0)
        if d.empty:
            _empty(ax)
    if not groupings:
        _empty(axes[0], "no subgroups")
    axes[0].set_ylabel("accuracy of the base − the other model\n(fraction of the group's test points)")
    fig.suptitle(f"Fig 4 ({PAPER}): specialisation by subgroup (> 0: the base is better on the group)")
    _legend(fig, _handles(cats) + [
        Line2D([], [], color="grey", marker="o", ls="-", ms=5, label="category mean\n(bar: range over pairs)"),
        Line2D([], [], color="grey", marker="o", ls="none", ms=3, alpha=0.5, label="one pair")], title="other model")
    return fig


# ---------------------------------------------------------------- Fig 5
def fig5(greedy: pd.DataFrame) -> Figure:
    """Fig 5: greedy ensembling: from the start model (step 0), each step adds the model that
    most raises the held-out accuracy of the ensemble (mean of calibrated probabilities); the
    ensemble's test and held-out accuracy per step, each point marked by the category of the
    model added at that step (the tick labels name it, with that model's own test accuracy)."""
    require_columns(greedy, ["step", "category", "val_acc", "test_acc"], "greedy")
    g = _num(greedy, ["step", "val_acc", "test_acc"] + (["model_test_acc"] if "model_test_acc" in greedy else []))
    g = g.sort_values("step").reset_index(drop=True)
    fig = new_figure((max(5.0, 1.15 * len(g) + 3.2), 3.8))
    ax = fig.subplots()
    ax.plot(g.step, g.test_acc, color="black", lw=1.3, zorder=2)
    ax.plot(g.step, g.val_acc, color="grey", lw=1.1, ls="--", zorder=2)
    for r in g.itertuples():
        c = str(r.category)
        for y, face in ((r.test_acc, colour(c)), (r.val_acc, "white")):
            if np.isfinite(y):
                ax.scatter(r.step, y, marker=marker(c), s=55, color=face, edgecolor=colour(c), lw=1.3, zorder=3)
    ticks = []
    for r in g.itertuples():
        alone = f"\n({r.model_test_acc:.3f} alone)" if "model_test_acc" in g and np.isfinite(r.model_test_acc) else ""
        ticks.append(f"{int(r.step)}\n{'start: ' if r.step == 0 else '+ '}{label(r.category)}{alone}")
    ax.set_xticks(g.step.to_numpy(), ticks)
    if len(g):
        ax.set_xlim(g.step.min() - 0.4, g.step.max() + 0.4)
        ys = np.concatenate([g.test_acc.to_numpy(float), g.val_acc.to_numpy(float)])
        ys = ys[np.isfinite(ys)]
        if len(ys):
            pad = max(0.004, 0.15 * np.ptp(ys))
            ax.set_ylim(ys.min() - pad, ys.max() + pad)
    else:
        _empty(ax, "no steps")
    ax.set_xlabel("step (category of the model added)")
    ax.set_ylabel("ensemble accuracy (fraction of points)")
    ax.set_title(f"Fig 5 ({PAPER}): greedy ensembling\n(models chosen on the held-out split)")
    cats = order(g.category, base=True)
    _legend(fig, [Line2D([], [], color="black", lw=1.3, marker="o", label="test (filled)"),
                  Line2D([], [], color="grey", lw=1.1, ls="--", marker="o", mfc="white", label="held-out (open)")]
            + _handles(cats), title="accuracy / category")
    return fig


# ---------------------------------------------------------------- Fig 6
def _fraction_tick(f: float) -> str:
    a = int(round(100 * f))
    return f"{a}/{100 - a}"


def fig6(overlap: pd.DataFrame, compression: pd.DataFrame) -> Figure:
    """Fig 6: (a) feature overlap: a linear probe on a random share f of the base's penultimate
    dimensions and 1 − f of the other model's (as many dimensions in all as the narrower
    model), mean ± sd over the random draws (and the category's models), one line per
    category; (b) compression: the probe's accuracy on the k most class-discriminative
    dimensions (ANOVA F on the held-out split), one line per model."""
    require_columns(overlap, ["category", "fraction", "accuracy"], "overlap")
    require_columns(compression, ["category", "model", "k", "accuracy"], "compression")
    overlap = _num(overlap, ["fraction", "accuracy"])
    compression = _num(compression, ["k", "accuracy"])
    fig = new_figure((10.5, 3.9))
    a, b = fig.subplots(1, 2)
    cats = order(overlap.category)
    fracs = sorted(set(overlap.fraction.dropna()), reverse=True)
    n = max(1, len(cats))
    step = (min(np.diff(sorted(fracs))) if len(fracs) > 1 else 0.25) * 0.25 / n
    for ci, c in enumerate(cats):
        s = overlap[overlap.category == c].groupby("fraction").accuracy.agg(["mean", "std", "count"]).sort_index()
        x = s.index.to_numpy(float) + (ci - (n - 1) / 2) * step
        ax_sd = s["std"].fillna(0).to_numpy()
        a.errorbar(x, s["mean"], yerr=ax_sd, color=colour(c), marker=marker(c), ms=5, lw=1.3, capsize=2.5,
                   mec="white", mew=0.4)
    if fracs:
        a.set_xticks(fracs, [_fraction_tick(f) for f in fracs])
        lo, hi = min(fracs), max(fracs)
        pad = 0.08 * max(hi - lo, 0.25)
        a.set_xlim(hi + pad, lo - pad)  # 100/0 on the left
    else:
        a.set_xlim(1.05, -0.05)
        _empty(a, "no overlap probes")
    a.set_xlabel("share from the base, 100/0 → 0/100 (% of dimensions)")
    a.set_ylabel("probe test accuracy (fraction of points)")
    a.set_title("(a) feature overlap: base + other model\n(mean ± sd over random draws)")
    comp_cats = order(compression.category, base=True)
    for c in comp_cats:
        d = compression[compression.category == c]
        models = list(dict.fromkeys(d.model))
        for mi, m in enumerate(models):
            s = d[d.model == m].groupby("k").accuracy.mean().sort_index()
            b.plot(s.index, s.to_numpy(), color=colour(c), marker=marker(c), ms=4.5, lw=1.3,
                   ls=("-", "--", ":", "-.")[mi % 4], mec="white", mew=0.4,
                   label=label(c) if len(models) == 1 else f"{label(c)}: {m}")
    b.set_xscale("log", base=2)
    ks = sorted(set(compression.k.dropna().astype(int)))
    if ks:
        b.set_xticks(ks, [str(k) for k in ks])
        b.minorticks_off()
    else:
        _empty(b, "no compression curves")
    b.set_xlabel("kept dimensions k (log₂ scale)")
    b.set_ylabel("probe test accuracy (fraction of points)")
    b.set_title("(b) compression: probe on the k most class-\ndiscriminative dimensions (one line per model)")
    fig.suptitle(f"Fig 6 ({PAPER}): feature overlap and compression of penultimate features")
    handles = _handles(order(list(overlap.category) + list(compression.category), base=True), ls="-")
    multi = [h for h in b.get_legend_handles_labels()[0] if ":" in h.get_label()]
    _legend(fig, handles + multi, title="category (other model)")
    return fig


# ---------------------------------------------------------------- bridge
def bridge(similarity: pd.DataFrame) -> Figure:
    """Bridge to representation similarity: (a) linear CKA and (b) the interaction tensor's
    shared features (Jiang, Baek, Kolter, ICLR 2024, Algorithm 1) of every pair of in-window
    models against their error inconsistency; pairs with the base coloured by the other model's
    category, the other pairs grey. Titles give Spearman's ρ over all pairs."""
    require_columns(similarity, ["with_base", "pair_category", "ei", "cka", "shared_features"], "similarity")
    sim = _num(similarity, ["ei", "cka", "shared_features"] + (["k"] if "k" in similarity else []))
    with_base = sim.with_base.astype(str).str.lower().isin(["true", "1"])
    fig = new_figure((10.0, 3.9))
    axes = fig.subplots(1, 2)
    cats = order(sim.loc[with_base, "pair_category"])
    k = sim["k"].dropna() if "k" in sim else pd.Series(dtype=float)
    kk = f" (of k = {int(k.iloc[0])} per model)" if len(k) and k.nunique() == 1 else ""
    for ax, col, name, ylab in ((axes[0], "cka", "(a) linear CKA", "linear CKA of the penultimate features"),
                                (axes[1], "shared_features", "(b) shared features (Algorithm 1)",
                                 f"shared features{kk}")):
        rest = sim[~with_base]
        ax.scatter(rest.ei, rest[col], s=14, color=OTHER, alpha=0.55, lw=0, zorder=2)
        for c in cats:
            d = sim[with_base & (sim.pair_category == c)]
            ax.scatter(d.ei, d[col], s=34, color=colour(c), marker=marker(c), edgecolor="black", lw=0.5, zorder=3)
        ok = sim[["ei", col]].dropna()
        rho = ""
        if len(ok) > 3 and ok[col].nunique() > 1 and ok.ei.nunique() > 1:
            from scipy.stats import spearmanr

            rho = f"\nSpearman ρ {spearmanr(ok[col], ok.ei)[0]:.2f} over {len(ok)} pairs"
        elif ok.empty:
            _empty(ax, "no pairs")
        ax.set_title(name + rho)
        ax.set_xlabel("error inconsistency (fraction of test points)")
        ax.set_ylabel(ylab)
        if col == "shared_features":
            ax.yaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(f"Representation similarity against error inconsistency (bridge to Fig 1 of {PAPER})")
    _legend(fig, _handles(cats) + [Line2D([], [], color=OTHER, marker="o", ls="none", ms=5,
                                          label="pair without\nthe base")], title="pair with the base")
    return fig


#: The figures the rule writes, by output name.
FIGURES = ("fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "bridge")
#: The tables each figure plots (its CSV beside it, as every figure of the workflow has).
PLOTTED = {"fig1": ("pairs",), "fig2": ("pairs",), "fig3": ("angles",), "fig4": ("subgroups",), "fig5": ("greedy",),
           "fig6": ("overlap", "compression"), "bridge": ("similarity",)}


def figure_table(name: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The numbers figure ``name`` plots: its table, or its tables stacked with a ``table`` column."""
    parts = PLOTTED[name]
    if len(parts) == 1:
        return tables[parts[0]]
    return pd.concat([tables[t].assign(table=t) for t in parts], ignore_index=True)


def all_figures(tables: dict[str, pd.DataFrame]) -> dict[str, Figure]:
    """Every figure of the study from the tables of :func:`featurelab.diversity.study.analyse`."""
    t = tables
    return {"fig1": fig1(t["pairs"], t["categories"]), "fig2": fig2(t["pairs"], t["categories"]),
            "fig3": fig3(t["angles"]), "fig4": fig4(t["subgroups"]), "fig5": fig5(t["greedy"]),
            "fig6": fig6(t["overlap"], t["compression"]), "bridge": bridge(t["similarity"])}
