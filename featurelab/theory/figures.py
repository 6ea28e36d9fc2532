"""Figures of the combinatorial framework of Jiang, Baek, Kolter (ICLR 2024, §5.2, App. B,
F.7), and theory against experiment.

Every figure function takes the DataFrame of the matching sweep of
:mod:`featurelab.theory.sweeps` and returns ``(fig, df)``: a matplotlib figure and ``df``, the
numbers that are plotted, written next to the PNG by :func:`featurelab.figures.save`.

* :func:`fig4` — Figure 4: accuracy and agreement along each single-parameter ablation
  (p_d, c, t_d, t_r, n_d, n_r) and the coupled ablations t_d = ⌊α t_r⌋, n_d = ⌊α n_r⌋
  (α = 0.2); optionally with Monte Carlo points from
  :func:`featurelab.theory.simulation.simulate_fig4_points` (error bars ±2 standard errors),
  the workflow's visual self-check of the closed forms.
* :func:`fig16` — Figure 16 (App. F.7): Diff = accuracy − agreement for the constant,
  proportional and step ζ (rows) along p_d, c, coupled n_r/n_d and coupled t_r/t_d.
* :func:`fig5a` — Figure 5a (App. B, Lemma B.1): the accuracy upper bound against coverage
  β = β_d = β_r.
* :func:`fig_theory_vs_experiment` — the closed forms at the parameters estimated from an
  ensemble's Ω against the accuracy and agreement it measures.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..figures import new_figure, require_columns
from .closed_forms import ZETA_FAMILIES
from .estimate import PARAM_NAMES
from .sweeps import SWEEP_KEYS as _SWEEP_KEYS

#: Figure 4's layout in the paper: columns p_d/c, t_d/n_d, t_r/n_r, coupled t_r/n_r.
FIG4_PANEL_ORDER: tuple[str, ...] = ("p_d", "t_d", "t_r", "t_r+t_d",
                                     "c", "n_d", "n_r", "n_r+n_d")

#: Figure 16's columns in the paper: c, p_d, coupled n_r, coupled t_r.
FIG16_PANEL_ORDER: tuple[str, ...] = ("c", "p_d", "n_r+n_d", "t_r+t_d")

#: Axis labels of the parameters.
PARAM_LABELS: dict[str, str] = {"p_d": r"$p_d$", "c": r"$c$", "t_d": r"$t_d$", "t_r": r"$t_r$",
                                "n_d": r"$n_d$", "n_r": r"$n_r$"}
_ZETA_TITLES = {"constant": r"constant $\zeta=\eta\,1\{k>0\}$",
                "proportional": r"proportional $\zeta=\min(\eta k/c,1)$",
                "step": r"step $\zeta=\theta\,1\{k\leq\eta\}+1\{k>\eta\}$"}
_ACC_COLOR, _AGR_COLOR = "tab:blue", "tab:orange"



def _panel_order(ablations: Sequence[str], preferred: Sequence[str]) -> list[str]:
    present = list(dict.fromkeys(ablations))
    return [a for a in preferred if a in present] + [a for a in present if a not in preferred]


def _panel_title(ablation: str, coupled: str, alpha: float | None) -> str:
    par = ablation.split("+")[0]
    if coupled:
        a = f"{alpha:g}" if alpha is not None and math.isfinite(alpha) else "α"
        return (f"ablating {PARAM_LABELS.get(par, par)} "
                f"({PARAM_LABELS.get(coupled, coupled)} = ⌊{a}·{PARAM_LABELS.get(par, par)}⌋)")
    return f"ablating {PARAM_LABELS.get(par, par)}"


def _coupling_alpha(rows: pd.DataFrame) -> float | None:
    """α of a coupled ablation, recovered from its rows (largest ratio coupled/parameter)."""
    coupled = rows["coupled"].iloc[0]
    if not coupled:
        return None
    ratio = rows[coupled].astype(float) / rows["value"].astype(float)
    # ⌊α x⌋ / x ≤ α with equality where α x is an integer: the max is α (to printing accuracy)
    return float(np.round(ratio.max(), 3))


def _grid(n_panels: int, ncols: int, size: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    nrows = max(1, math.ceil(n_panels / ncols))
    ncols = min(ncols, max(1, n_panels))
    fig = new_figure((size[0] * ncols, size[1] * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def _zeta_label(df: pd.DataFrame) -> str:
    if "zeta_family" not in df.columns or df.empty:
        return ""
    fam = df["zeta_family"].iloc[0]
    eta = df["eta"].iloc[0] if "eta" in df.columns else float("nan")
    if fam == "constant":
        return rf"$\zeta(k,c)={eta:g}\cdot 1\{{k>0\}}$"
    if fam == "step":
        return rf"$\zeta$ step, $\eta={eta:g}$, $\theta={df['theta'].iloc[0]:g}$"
    if fam == "proportional":
        return rf"$\zeta$ proportional, $\eta={eta:g}$"
    return rf"$\zeta$ = {fam}"


def fig4(sweep_df: pd.DataFrame, sim_df: pd.DataFrame | None = None) -> tuple[Figure, pd.DataFrame]:
    """Figure 4 (§5.2): accuracy and agreement along each ablation, closed forms as lines.

    ``sweep_df``: :func:`featurelab.theory.sweep_fig4` (columns ablation, parameter, value,
    coupled, the six parameters, accuracy, agreement, difference). One panel per ablation,
    laid out as in the paper (``FIG4_PANEL_ORDER``; unknown ablations are appended).
    ``sim_df``: optional Monte Carlo points with the same key columns and accuracy,
    agreement, accuracy_se, agreement_se (e.g. :func:`simulate_fig4_points`), drawn as
    markers with ±2 se error bars.

    Returns ``(fig, df)``; ``df`` has one row per sweep row: ablation, parameter, coupled,
    value, accuracy, agreement, difference and, with ``sim_df``, sim_accuracy,
    sim_accuracy_se, sim_agreement, sim_agreement_se (NaN where nothing was simulated).
    """
    require_columns(sweep_df, _SWEEP_KEYS + ["accuracy", "agreement", "difference"], "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[_SWEEP_KEYS + ["accuracy", "agreement", "difference"]].copy()
    df["coupled"] = df["coupled"].fillna("").astype(str)
    if sim_df is not None:
        require_columns(sim_df, ["ablation", "value", "accuracy", "agreement", "accuracy_se",
                          "agreement_se"], "sim_df")
        sim = sim_df[["ablation", "value", "accuracy", "accuracy_se", "agreement",
                      "agreement_se"]].rename(columns={
                          "accuracy": "sim_accuracy", "accuracy_se": "sim_accuracy_se",
                          "agreement": "sim_agreement", "agreement_se": "sim_agreement_se"})
        sim = sim.assign(value=sim["value"].astype(float))
        df = (df.assign(_v=df["value"].astype(float))
                .merge(sim.rename(columns={"value": "_v"}), on=["ablation", "_v"], how="left")
                .drop(columns="_v"))

    order = _panel_order(df["ablation"].tolist(), FIG4_PANEL_ORDER)
    fig, axes = _grid(len(order), 4, (3.6, 2.9))
    for ax, abl in zip(axes, order):
        rows = sweep_df[sweep_df["ablation"] == abl]
        part = df[df["ablation"] == abl]
        x = part["value"].astype(float).to_numpy()
        ax.plot(x, part["accuracy"], color=_ACC_COLOR, lw=1.8, label="accuracy (closed form)")
        ax.plot(x, part["agreement"], color=_AGR_COLOR, lw=1.8, ls="--",
                label="agreement (closed form)")
        if "sim_accuracy" in part.columns:
            s = part.dropna(subset=["sim_accuracy"])
            if not s.empty:
                xs = s["value"].astype(float).to_numpy()
                ax.errorbar(xs, s["sim_accuracy"], yerr=2 * s["sim_accuracy_se"], fmt="o",
                            ms=3.5, color=_ACC_COLOR, mfc="white", capsize=2, lw=1,
                            label="accuracy (simulation ±2 se)")
                ax.errorbar(xs, s["sim_agreement"], yerr=2 * s["sim_agreement_se"], fmt="s",
                            ms=3.5, color=_AGR_COLOR, mfc="white", capsize=2, lw=1,
                            label="agreement (simulation ±2 se)")
        coupled = str(part["coupled"].iloc[0])
        ax.set_title(_panel_title(abl, coupled, _coupling_alpha(rows)), fontsize=10)
        ax.set_xlabel(PARAM_LABELS.get(part["parameter"].iloc[0], part["parameter"].iloc[0]))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("expected accuracy / agreement")
    if len(order) > 4:
        axes[4].set_ylabel("expected accuracy / agreement")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9,
               frameon=False)
    zl = _zeta_label(sweep_df)
    fig.suptitle("Figure 4: closed-form accuracy and agreement (Jiang, Baek, Kolter (2024), Prop. 5.1/5.2)"
                 + (f", {zl}" if zl else ""), fontsize=11)
    return fig, df.reset_index(drop=True)


def fig16(sweep_df: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Figure 16 (App. F.7): Diff = accuracy − agreement for three agreement functions ζ.

    ``sweep_df``: :func:`featurelab.theory.sweep_fig16`. Rows of the figure are the ζ
    families present (constant, proportional, step), columns the ablations
    (``FIG16_PANEL_ORDER``: c, p_d, coupled n_r/n_d, coupled t_r/t_d); one curve per η,
    coloured by η (colour bar per row). The dotted line at 0 is exact GDE.

    Returns ``(fig, df)``; ``df``: zeta_family, eta, theta, ablation, parameter, coupled,
    value, accuracy, agreement, difference, one row per plotted point.
    """
    cols = ["zeta_family", "eta", "theta"] + _SWEEP_KEYS + ["accuracy", "agreement", "difference"]
    require_columns(sweep_df, cols, "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[cols].copy()
    df["coupled"] = df["coupled"].fillna("").astype(str)
    fams = [f for f in ZETA_FAMILIES if f in set(df["zeta_family"])]
    fams += [f for f in dict.fromkeys(df["zeta_family"]) if f not in fams]
    panels = _panel_order(df["ablation"].tolist(), FIG16_PANEL_ORDER)
    fig = new_figure((3.5 * len(panels) + 0.8, 2.8 * len(fams)))
    axes = fig.subplots(len(fams), len(panels), squeeze=False)
    from matplotlib import cm, colors

    cmap = matplotlib.colormaps["viridis"]
    for i, fam in enumerate(fams):
        fdf = df[df["zeta_family"] == fam]
        etas = np.sort(fdf["eta"].unique())
        norm = colors.Normalize(vmin=float(etas.min()), vmax=float(etas.max()) if etas.size > 1
                                else float(etas.min()) + 1)
        for j, abl in enumerate(panels):
            ax = axes[i, j]
            part = fdf[fdf["ablation"] == abl]
            if part.empty:
                ax.set_visible(False)
                continue
            for eta in etas:
                e = part[part["eta"] == eta]
                ax.plot(e["value"].astype(float), e["difference"], color=cmap(norm(eta)), lw=1.3)
            ax.axhline(0.0, color="black", lw=0.8, ls=":")
            coupled = str(part["coupled"].iloc[0])
            srows = sweep_df[(sweep_df["zeta_family"] == fam) & (sweep_df["ablation"] == abl)]
            ax.set_title(f"{fam} ζ: " + _panel_title(abl, coupled, _coupling_alpha(srows))
                         .replace("ablating ", ""), fontsize=9.5)
            par = part["parameter"].iloc[0]
            ax.set_xlabel(PARAM_LABELS.get(par, par))
            if j == 0:
                ax.set_ylabel("Diff = accuracy − agreement")
            ax.grid(alpha=0.3)
        sm = cm.ScalarMappable(norm=norm, cmap=cmap)
        label = r"$\eta$" + (f" (θ = {fdf['theta'].iloc[0]:g})" if fam == "step" else "")
        fig.colorbar(sm, ax=list(axes[i, :]), label=label, pad=0.01, aspect=15)
    fig.suptitle("Figure 16: accuracy − agreement for different agreement functions ζ "
                 "(rows: " + ", ".join(_ZETA_TITLES.get(f, f) for f in fams) + ")",
                 fontsize=10.5)
    return fig, df.reset_index(drop=True)


def fig5a(sweep_df: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Figure 5a (App. B, Lemma B.1): upper bound on expected accuracy vs coverage β.

    ``sweep_df``: :func:`featurelab.theory.sweep_fig5a` (columns beta, bound, p_d, t_d, t_r,
    n_d, n_r). Returns ``(fig, df)`` with ``df``: beta, bound, p_d, t_d, t_r, n_d, n_r.
    """
    cols = ["beta", "bound", "p_d", "t_d", "t_r", "n_d", "n_r"]
    require_columns(sweep_df, cols, "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[cols].sort_values("beta").reset_index(drop=True)
    fig = new_figure((4.8, 3.6))
    ax = fig.subplots()
    ax.plot(df["beta"], df["bound"], marker="o", ms=3, lw=1.6, color="tab:blue")
    ax.set_xlabel(r"coverage $\beta = \beta_d = \beta_r$")
    ax.set_ylabel("upper bound on expected accuracy")
    ax.set_title("coverage vs expected accuracy (Lemma B.1)", fontsize=10.5)
    r = df.iloc[0]
    ax.text(0.98, 0.04, rf"$p_d={float(r['p_d']):g},\ t_d={int(r['t_d'])},\ t_r={int(r['t_r'])},"
            rf"\ n_d={int(r['n_d'])},\ n_r={int(r['n_r'])}$", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=8.5)
    ax.grid(alpha=0.3)
    return fig, df


def fig_theory_vs_experiment(table: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Predicted vs measured (one or more :func:`compare_table` tables concatenated).

    Three panels — accuracy, agreement, and their difference (the GDE gap) — each with the
    theory's prediction against the measured value, the y = x line, horizontal error bars
    ±1 std over members / pairs; colour = prediction variant, marker = ``label`` (ensemble).
    The parameters used are listed in the title, one line per label.
    Returns ``(fig, df)`` with ``df`` the rows of ``table`` that are plotted.
    """
    need = ["label", "variant", "quantity", "measured", "measured_std", "predicted"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing}")
    quantities = ("accuracy", "agreement", "difference")
    df = table[table["quantity"].isin(quantities)].reset_index(drop=True)
    if df.empty:
        raise ValueError("table has no accuracy/agreement/difference rows")
    variants = list(dict.fromkeys(df["variant"]))
    labels = list(dict.fromkeys(df["label"]))
    colors = {v: f"C{i}" for i, v in enumerate(variants)}
    marks = "osD^vPX*<>"
    markers = {lb: marks[i % len(marks)] for i, lb in enumerate(labels)}
    fig = new_figure((12.0, 4.6))
    axes = fig.subplots(1, 3)
    titles = {"accuracy": "accuracy", "agreement": "agreement",
              "difference": "accuracy − agreement (GDE gap)"}
    for ax, q in zip(axes, quantities):
        part = df[df["quantity"] == q]
        for _, row in part.iterrows():
            ax.errorbar(row["measured"], row["predicted"],
                        xerr=0.0 if not np.isfinite(row["measured_std"]) else row["measured_std"],
                        fmt=markers[row["label"]], color=colors[row["variant"]], ms=8,
                        capsize=3, mec="black", mew=0.6)
        vals = np.concatenate([part["measured"].to_numpy(float), part["predicted"].to_numpy(float)])
        vals = vals[np.isfinite(vals)]
        lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 1.0)
        pad = max(0.02, 0.1 * (hi - lo))
        lo, hi = lo - pad, hi + pad
        ax.plot([lo, hi], [lo, hi], color="grey", ls=":", lw=1)
        if q == "difference":
            ax.axhline(0, color="grey", lw=0.6)
            ax.axvline(0, color="grey", lw=0.6)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel=f"measured {q}",
               ylabel=f"predicted {q}", title=titles[q])
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=colors[v], ms=8, mec="black", mew=0.6,
                      label=f"prediction: {v}") for v in variants]
    if len(labels) > 1 or labels[0]:
        handles += [Line2D([], [], ls="", marker=markers[lb], color="0.7", ms=8, mec="black",
                           mew=0.6, label=lb or "ensemble") for lb in labels]
    handles.append(Line2D([], [], ls=":", color="grey", label="y = x"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
               fontsize=8.5, frameon=False)
    if all(k in df.columns for k in PARAM_NAMES):
        lines = []
        for lb, g in df.groupby("label", sort=False):
            r = g.iloc[0]
            z = f", ζ={float(r['zeta_eta']):.3g}·1{{k>0}}" if "zeta_eta" in g.columns else ""
            lines.append(f"{lb or 'ensemble'}: " + ", ".join(
                f"{k}={float(r[k]):g}" for k in PARAM_NAMES) + z)
        fig.suptitle("theory vs experiment (estimated parameters)\n" + "\n".join(lines),
                     fontsize=9.5)
    return fig, df
