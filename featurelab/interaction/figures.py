"""The figures of Jiang, Baek, Kolter (ICLR 2024) §4 drawn from numbers: Figs 2a-c
(feature frequency), 3a-c (confidence, models per feature, shared features against
shared error) and 8 (Λ blocks).

Every ``fig*`` function is pure: it takes plain arrays and returns ``(fig, df)``, a
matplotlib figure and a :class:`pandas.DataFrame` holding exactly the numbers that are
plotted, so that a rule writes the PNG and a CSV side by side with
:func:`featurelab.figures.save`. Ranks (``rank`` columns) are 0-based; "feature order"
(Fig 2b) is descending frequency, ties broken by ascending feature id
(:func:`frequency_order`). The per-point and per-pair quantities come from
:mod:`featurelab.interaction.measures`, never recomputed differently.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..figures import new_figure
from .measures import _spearman, _upper_pairs, incidence_matrix

_DOM_COLOUR = "tab:blue"
_RARE_COLOUR = "tab:orange"


def _figure(figsize: tuple[float, float]):
    """A new figure in the shared style (:func:`featurelab.figures.new_figure`)."""
    return new_figure(figsize)


def frequency_order(freq: np.ndarray) -> np.ndarray:
    """Feature ids in Fig 2b order: descending frequency, ties by ascending feature id."""
    f = np.asarray(freq)
    return np.lexsort((np.arange(f.size), -f.astype(np.float64)))


def _n_features(triplets: Any) -> int:
    t = np.asarray(triplets["feature"])
    return int(t.max()) + 1 if t.size else 0




def fig2a_frequency_over_epochs(freq_by_epoch: Mapping[int, np.ndarray], logy: bool = True):
    """Fig 2a: sorted feature frequency, one curve per training epoch.

    ``freq_by_epoch`` maps an epoch (0 = initialisation, by convention of the caller) to
    that epoch's (T_e,) frequency vector (each epoch has its own tensor, so T_e may
    differ). Curves are coloured by epoch (viridis, colorbar). df columns: epoch, rank,
    frequency (every rank of every epoch, zeros included; log y hides zeros).
    """
    if not freq_by_epoch:
        raise ValueError("freq_by_epoch is empty")
    import matplotlib as mpl

    epochs = sorted(int(e) for e in freq_by_epoch)
    parts = []
    for e in epochs:
        f = np.asarray(freq_by_epoch[e])
        s = np.sort(f.astype(np.int64) if np.issubdtype(f.dtype, np.integer) else f)[::-1]
        parts.append(pd.DataFrame({"epoch": np.full(s.size, e, dtype=np.int64),
                                   "rank": np.arange(s.size, dtype=np.int64), "frequency": s}))
    df = pd.concat(parts, ignore_index=True)

    fig = _figure((6.5, 4.2))
    ax = fig.add_subplot()
    lo, hi = epochs[0], epochs[-1]
    norm = mpl.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cmap = mpl.colormaps["viridis"]
    for e in epochs:
        d = df[df["epoch"] == e]
        ax.plot(d["rank"], d["frequency"], color=cmap(norm(e)), lw=1.2)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="feature rank (sorted by frequency)", ylabel="number of points with the feature",
           title="Feature frequency over training")
    sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="epoch")
    return fig, df


def fig2b_frequency(freq: np.ndarray, logy: bool = False):
    """Fig 2b: feature frequency sorted descending (ties by feature id), annotated with T.

    df columns: rank, feature, frequency.
    """
    f = np.asarray(freq)
    order = frequency_order(f)
    df = pd.DataFrame({"rank": np.arange(f.size, dtype=np.int64), "feature": order.astype(np.int64),
                       "frequency": f[order]})
    fig = _figure((6.0, 4.0))
    ax = fig.add_subplot()
    x, v = df["rank"].to_numpy(), df["frequency"].to_numpy()
    if f.size <= 60:
        ax.bar(x, v, width=0.85, color="tab:blue")
    else:
        ax.fill_between(x, v, step="mid", alpha=0.35, color="tab:blue")
        ax.step(x, v, where="mid", color="tab:blue", lw=1.0)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="feature rank (sorted by frequency)", ylabel="number of points with the feature",
           title="Feature frequency")
    total = float(np.sum(v))
    ax.text(0.97, 0.95, f"T = {f.size} features\n{int(total)} (point, feature) incidences",
            transform=ax.transAxes, ha="right", va="top", fontsize=9,
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_xlim(-0.5 if f.size <= 60 else 0, max(f.size - 0.5, 1))
    return fig, df


def fig2c_density_by_confidence(triplets: Any, conf: np.ndarray, T: int, threshold: float = 1.0):
    """Fig 2c: log feature density among high-confidence points and among the rest.

    High-confidence points: ``conf >= threshold`` (default 1: every model right).
    For feature t (in Fig 2b order of the frequency over *all* points):
    ``high_density[t] = log10(#{high n : t ∈ Ψ(n)} / I)`` and
    ``low_density[t] = log10(#{other n : t ∈ Ψ(n)} / I)``, where I is the total number of
    (point, feature) incidences in both groups together (paper footnote 1).
    A zero count gives NaN (log10 0 = −inf). N is ``len(conf)``.
    df columns: rank, feature, high_density, low_density.
    """
    c = np.asarray(conf, dtype=np.float64)
    T = int(T)
    inc = incidence_matrix(triplets, c.size, T)
    high = c >= threshold - 1e-12
    cnt_high = np.asarray(inc[high].sum(axis=0)).ravel()
    cnt_low = np.asarray(inc[~high].sum(axis=0)).ravel()
    total = float(inc.nnz)
    order = frequency_order(cnt_high + cnt_low)
    with np.errstate(divide="ignore", invalid="ignore"):
        hd = np.log10(cnt_high / total) if total > 0 else np.full(T, -np.inf)
        ld = np.log10(cnt_low / total) if total > 0 else np.full(T, -np.inf)
    hd = np.where(np.isfinite(hd), hd, np.nan)
    ld = np.where(np.isfinite(ld), ld, np.nan)
    df = pd.DataFrame({"rank": np.arange(T, dtype=np.int64), "feature": order.astype(np.int64),
                       "high_density": hd[order], "low_density": ld[order]})

    fig = _figure((6.5, 4.2))
    ax = fig.add_subplot()
    thr_txt = "= 1" if threshold >= 1.0 else f"≥ {threshold:g}"
    ms = 6 if T <= 60 else 2  # markers keep isolated values (between NaNs) visible
    ax.plot(df["rank"], df["high_density"], color=_DOM_COLOUR, lw=1.0, marker=".", ms=ms,
            label=f"high confidence (conf {thr_txt}; {int(high.sum())} points)")
    ax.plot(df["rank"], df["low_density"], color=_RARE_COLOUR, lw=1.0, marker=".", ms=ms,
            label=f"low confidence ({int((~high).sum())} points)")
    ax.set(xlabel="feature rank (Fig 2b order: frequency over all points)",
           ylabel="log10 density (count / all incidences)",
           title="Log feature density by confidence")
    ax.legend(fontsize=8, loc="best")
    return fig, df


def fig3a_confidence_vs_nfeat(conf: np.ndarray, nfeat: np.ndarray):
    """Fig 3a: joint density of (confidence, nfeat) and the mean nfeat per confidence level.

    The 2-D histogram has one column per distinct confidence value (k/M for an ensemble of
    M) and one row per integer nfeat; colour = count (log scale). The red line is the mean
    nfeat at each confidence level. df columns: confidence, nfeat, count — one row per
    (confidence, nfeat) cell with count > 0, sorted.
    """
    import matplotlib as mpl
    import seaborn as sns

    c = np.round(np.asarray(conf, dtype=np.float64), 10)
    nf = np.asarray(nfeat, dtype=np.int64)
    if c.shape != nf.shape:
        raise ValueError(f"conf {c.shape} and nfeat {nf.shape} differ")
    df = (pd.DataFrame({"confidence": c, "nfeat": nf}).groupby(["confidence", "nfeat"]).size()
          .rename("count").reset_index().astype({"count": np.int64}))

    fig = _figure((6.5, 4.5))
    ax = fig.add_subplot()
    if c.size:
        levels = np.unique(c)
        if levels.size > 1:
            mid = (levels[1:] + levels[:-1]) / 2
            xe = np.concatenate([[levels[0] - (mid[0] - levels[0])], mid,
                                 [levels[-1] + (levels[-1] - mid[-1])]])
        else:
            xe = np.array([levels[0] - 0.05, levels[0] + 0.05])
        ylo, yhi = int(nf.min()), int(nf.max())
        ye = np.arange(ylo, yhi + 2) - 0.5
        sns.histplot(x=c, y=nf, bins=(xe, ye), cmap="viridis", cbar=True, ax=ax,
                     norm=mpl.colors.LogNorm(vmin=1, vmax=max(int(df["count"].max()), 1)), vmin=None, vmax=None,
                     cbar_kws={"label": "number of points"})
        means = df.assign(w=df["nfeat"] * df["count"]).groupby("confidence")[["w", "count"]].sum()
        ax.plot(means.index, means["w"] / means["count"], color="red", marker="o", ms=3, lw=1.5,
                label="mean nfeat per confidence level")
        ax.legend(fontsize=8, loc="upper right")
        ax.set_xlim(xe[0], xe[-1])
    ax.set(xlabel="confidence (fraction of models correct)", ylabel="number of features (nfeat)",
           title="Confidence vs number of features")
    return fig, df


def fig3b_frequency_vs_models(freq: np.ndarray, n_models: np.ndarray):
    """Fig 3b: per feature, number of points holding it vs number of models having it.

    df columns: feature, frequency, n_models. The title gives Spearman's rho.
    """
    f = np.asarray(freq)
    m = np.asarray(n_models)
    if f.shape != m.shape:
        raise ValueError(f"freq {f.shape} and n_models {m.shape} differ")
    df = pd.DataFrame({"feature": np.arange(f.size, dtype=np.int64), "frequency": f, "n_models": m})
    rho, _ = _spearman(f, m)
    fig = _figure((5.5, 4.2))
    ax = fig.add_subplot()
    ax.scatter(f, m, s=18, alpha=0.6, color="tab:blue", edgecolors="none")
    ax.set(xlabel="number of points with the feature", ylabel="number of models with the feature",
           title=f"Feature frequency vs models (Spearman ρ = {rho:.2f})")
    return fig, df


def fig3c_shared_features_vs_error(shared_feat: np.ndarray, shared_err: np.ndarray):
    """Fig 3c: per model pair i < j, shared features vs shared error, with a LS line.

    The least-squares line is fitted over the pairs with a finite shared error (a pair
    of error-free models has NaN). df columns: model_i, model_j, shared_features,
    shared_error.
    """
    sf = np.asarray(shared_feat)
    se = np.asarray(shared_err, dtype=np.float64)
    if sf.shape != se.shape:
        raise ValueError(f"shared_feat {sf.shape} and shared_err {se.shape} differ")
    i, j = _upper_pairs(sf)
    df = pd.DataFrame({"model_i": i.astype(np.int64), "model_j": j.astype(np.int64),
                       "shared_features": sf[i, j], "shared_error": se[i, j]})
    x = df["shared_features"].to_numpy(dtype=np.float64)
    y = df["shared_error"].to_numpy()
    ok = np.isfinite(x) & np.isfinite(y)
    rho, _ = _spearman(x, y)
    import seaborn as sns

    fig = _figure((5.5, 4.2))
    ax = fig.add_subplot()
    fit = ok.sum() >= 2 and np.ptp(x[ok]) > 0
    slope = np.polyfit(x[ok], y[ok], 1)[0] if fit else float("nan")
    sns.regplot(x=x[ok], y=y[ok], fit_reg=bool(fit), ci=None, ax=ax,  # pairs share models: no bootstrap band
                scatter_kws={"s": 14, "alpha": 0.6, "edgecolors": "none", "label": "model pair"},
                line_kws={"color": "red", "lw": 1.5, "label": f"least squares (slope {slope:.3g})"})
    if fit:
        ax.legend(fontsize=8)
    ax.set(xlabel="shared features", ylabel="shared error",
           title=f"Shared features vs shared error (Spearman ρ = {rho:.2f})")
    return fig, df


def fig8_correlation_blocks(abs_corr: np.ndarray, pairs: Sequence[tuple[int, int]] = ((0, 0), (0, 1))):
    """Fig 8: heatmaps of Λ[i, j] (K × K) for the given model pairs, colour scale 0..1.

    Default pairs: the self-correlation of model 0 and the correlation of models 0 and 1.
    Pairs naming a model ≥ M are skipped (e.g. (0, 1) when M = 1); ValueError if none is
    left. df (long form) columns: i, j, a, b, value with value = Λ[i, j, a, b].
    """
    lam = np.asarray(abs_corr, dtype=np.float64)
    if lam.ndim != 4 or lam.shape[0] != lam.shape[1] or lam.shape[2] != lam.shape[3]:
        raise ValueError(f"abs_corr must have shape (M, M, K, K), got {lam.shape}")
    M, K = lam.shape[0], lam.shape[2]
    ok = [(int(i), int(j)) for i, j in pairs if 0 <= int(i) < M and 0 <= int(j) < M]
    if not ok:
        raise ValueError(f"no pair of {list(pairs)} is valid for M={M} models")
    a, b = np.meshgrid(np.arange(K), np.arange(K), indexing="ij")
    df = pd.concat([pd.DataFrame({"i": np.full(K * K, i, dtype=np.int64),
                                  "j": np.full(K * K, j, dtype=np.int64),
                                  "a": a.ravel().astype(np.int64), "b": b.ravel().astype(np.int64),
                                  "value": lam[i, j].ravel()}) for i, j in ok], ignore_index=True)
    import seaborn as sns

    fig = _figure((4.3 * len(ok) + 1.0, 4.2))
    axes = fig.subplots(1, len(ok), squeeze=False)[0]
    ticks = max(1, K // 10)
    for n, (ax, (i, j)) in enumerate(zip(axes, ok)):
        last = n == len(ok) - 1
        sns.heatmap(lam[i, j], vmin=0.0, vmax=1.0, cmap="viridis", square=True, ax=ax, cbar=last,
                    cbar_kws={"label": "|corr|", "shrink": 0.85}, xticklabels=ticks, yticklabels=ticks)
        ax.set(title=f"self-correlation, model {i}" if i == j else f"correlation, models {i} vs {j}",
               xlabel=f"component b of model {j}", ylabel=f"component a of model {i}")
    fig.suptitle("|Pearson correlation| between principal-component features (Λ)")
    return fig, df
