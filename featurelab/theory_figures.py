"""Figures of the combinatorial framework (paper 000 §5.2, App. B, F.7; SPEC 5).

Every figure function takes the DataFrame of the matching sweep of :mod:`featurelab.theory`
and returns ``(fig, df)``: a matplotlib :class:`~matplotlib.figure.Figure` (Agg backend, no
pyplot state, so nothing needs closing) and ``df``, the numbers that are plotted, ready to be
written next to the PNG with :func:`save`.

* :func:`fig4` — Figure 4: accuracy and agreement along each single-parameter ablation
  (p_d, c, t_d, t_r, n_d, n_r) and the coupled ablations t_d = ⌊α t_r⌋, n_d = ⌊α n_r⌋
  (α = 0.2), from :func:`featurelab.theory.sweep_fig4`; optionally with Monte Carlo points
  from :func:`simulate_fig4_points` (error bars ±2 standard errors), the workflow's visual
  self-check of the closed forms.
* :func:`fig16` — Figure 16 (App. F.7): Diff = accuracy − agreement for the constant,
  proportional and step ζ (rows) along p_d, c, coupled n_r/n_d and coupled t_r/t_d
  (columns), one curve per η, from :func:`featurelab.theory.sweep_fig16`.
* :func:`fig5a` — Figure 5a (App. B, Lemma B.1): the accuracy upper bound against coverage
  β = β_d = β_r, from :func:`featurelab.theory.sweep_fig5a`.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
from featurelab.figures import save  # noqa: F401  (re-exported: F.save)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from . import theory  # noqa: E402

__all__ = ["FIG4_PANEL_ORDER", "FIG16_PANEL_ORDER", "PARAM_LABELS", "fig4",
           "simulate_fig4_points", "fig16", "fig5a", "save"]

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
_SWEEP_KEYS = ["ablation", "parameter", "coupled", "value"]
_ACC_COLOR, _AGR_COLOR = "tab:blue", "tab:orange"


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}; got {list(df.columns)}")


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
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
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


# --------------------------------------------------------------------------------------------
# Figure 4
# --------------------------------------------------------------------------------------------


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
    _require(sweep_df, _SWEEP_KEYS + ["accuracy", "agreement", "difference"], "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[_SWEEP_KEYS + ["accuracy", "agreement", "difference"]].copy()
    df["coupled"] = df["coupled"].fillna("").astype(str)
    if sim_df is not None:
        _require(sim_df, ["ablation", "value", "accuracy", "agreement", "accuracy_se",
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
    fig.suptitle("Figure 4: closed-form accuracy and agreement (paper 000, Prop. 5.1/5.2)"
                 + (f", {zl}" if zl else ""), fontsize=11)
    return fig, df.reset_index(drop=True)


def _zeta_spec(row: Mapping[str, Any]) -> Any:
    fam = row.get("zeta_family", "constant")
    if fam not in theory.ZETA_FAMILIES:
        raise ValueError(f"cannot rebuild zeta family {fam!r} from a sweep row; "
                         "simulate only rows of the named families")
    spec: dict[str, Any] = {"family": fam, "eta": float(row["eta"])}
    if fam == "step":
        spec["theta"] = float(row["theta"])
    return spec


def simulate_fig4_points(sweep_df: pd.DataFrame, every: int = 4, n_pairs: int = 3000,
                         n_points: int = 50, seed: int = 0) -> pd.DataFrame:
    """Monte Carlo (:func:`featurelab.theory.simulate`) on a thinned subset of sweep rows.

    Within each ablation (rows in sweep order) the rows ``0, every, 2·every, ...`` and the
    last one are simulated with the row's parameters and ζ (rebuilt from zeta_family, eta,
    theta). Row ``i`` of the result uses seed ``seed + i``, so the points are independent
    and reproducible. Defaults (every=4, 3000 pairs × 50 points) simulate 66 of the 228
    Figure 4 rows in about 6 s on one core, with standard errors ≈ 0.0015.

    Returns the chosen sweep rows with accuracy, agreement, difference replaced by the
    simulated means, plus accuracy_se, agreement_se, difference_se, the closed forms as
    accuracy_cf, agreement_cf, difference_cf, the z-scores z_accuracy, z_agreement
    ((sim − closed form)/se), n_pairs, n_points and seed.
    """
    _require(sweep_df, _SWEEP_KEYS + list(theory.DEFAULTS) + ["accuracy", "agreement",
                                                              "difference"], "sweep_df")
    every = int(every)
    if every < 1:
        raise ValueError(f"every must be ≥ 1, got {every}")
    picks = []
    for _, grp in sweep_df.groupby("ablation", sort=False):
        idx = list(grp.index[::every])
        if grp.index[-1] not in idx:
            idx.append(grp.index[-1])
        picks.extend(idx)
    chosen = sweep_df.loc[picks].reset_index(drop=True)
    out = []
    for i, row in chosen.iterrows():
        prm = {k: row[k] for k in theory.DEFAULTS}
        for k in ("c", "t_d", "t_r", "n_d", "n_r"):
            prm[k] = int(prm[k])
        prm["p_d"] = float(prm["p_d"])
        r = theory.simulate(prm, _zeta_spec(row), n_pairs=n_pairs, n_points=n_points,
                            seed=seed + int(i))
        rec = row.to_dict()
        for q in ("accuracy", "agreement", "difference"):
            rec[f"{q}_cf"] = float(row[q])
            rec[q] = r[q]
            rec[f"{q}_se"] = r[f"{q}_se"]
        for q in ("accuracy", "agreement"):
            rec[f"z_{q}"] = ((r[q] - rec[f"{q}_cf"]) / r[f"{q}_se"]
                             if r[f"{q}_se"] > 0 else 0.0 if r[q] == rec[f"{q}_cf"] else math.inf)
        rec.update(n_pairs=int(n_pairs), n_points=int(n_points), seed=seed + int(i))
        out.append(rec)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# Figure 16
# --------------------------------------------------------------------------------------------


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
    _require(sweep_df, cols, "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[cols].copy()
    df["coupled"] = df["coupled"].fillna("").astype(str)
    fams = [f for f in theory.ZETA_FAMILIES if f in set(df["zeta_family"])]
    fams += [f for f in dict.fromkeys(df["zeta_family"]) if f not in fams]
    panels = _panel_order(df["ablation"].tolist(), FIG16_PANEL_ORDER)
    fig = Figure(figsize=(3.5 * len(panels) + 0.8, 2.8 * len(fams)), layout="constrained")
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


# --------------------------------------------------------------------------------------------
# Figure 5a
# --------------------------------------------------------------------------------------------


def fig5a(sweep_df: pd.DataFrame) -> tuple[Figure, pd.DataFrame]:
    """Figure 5a (App. B, Lemma B.1): upper bound on expected accuracy vs coverage β.

    ``sweep_df``: :func:`featurelab.theory.sweep_fig5a` (columns beta, bound, p_d, t_d, t_r,
    n_d, n_r). Returns ``(fig, df)`` with ``df``: beta, bound, p_d, t_d, t_r, n_d, n_r.
    """
    cols = ["beta", "bound", "p_d", "t_d", "t_r", "n_d", "n_r"]
    _require(sweep_df, cols, "sweep_df")
    if sweep_df.empty:
        raise ValueError("sweep_df is empty")
    df = sweep_df[cols].sort_values("beta").reset_index(drop=True)
    fig = Figure(figsize=(4.8, 3.6), layout="constrained")
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


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
