"""Figures and observations of paper 000 (Jiang et al. 2024, §4, App. F.2-F.3; SPEC 4).

Every ``fig*`` function is pure: it takes plain arrays and returns ``(fig, df)``, a
matplotlib :class:`~matplotlib.figure.Figure` (Agg, not registered with pyplot) and a
:class:`pandas.DataFrame` holding exactly the numbers that are plotted, so that a
workflow rule can write the PNG and a CSV side by side with :func:`save`.

Conventions shared by all functions:

* ``triplets`` is Ω as a DataFrame with int32 columns ``model``, ``point``, ``feature``
  (SPEC 4.6, :func:`featurelab.interaction.read_omega`).
* Ranks (``rank`` columns) are 0-based: rank 0 is the most frequent feature, the point
  with the fewest/most features, the nearest neighbour.
* "Feature order" (Fig 2b) is descending frequency, ties broken by ascending feature id
  (:func:`frequency_order`).
* ``images`` is (N, H, W, C) uint8 with C = 1 (shown in grey) or C = 3; (N, H, W) is
  accepted as grey too.
* Class columns (``class``) hold the class *name*; label columns hold the integer label.

The per-point / per-pair quantities come from :mod:`featurelab.interaction`
(:func:`~featurelab.interaction.confidence`, :func:`~featurelab.interaction.features_per_point`,
:func:`~featurelab.interaction.feature_frequency`, ...); they are reused here, never
recomputed differently.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from featurelab.figures import save  # noqa: F401  (re-exported: F.save)
import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.stats

from featurelab.interaction import incidence_matrix, mantel_test, similarity_matrix

__all__ = [
    "frequency_order", "fig1_extremes", "fig2a_frequency_over_epochs", "fig2b_frequency",
    "fig2c_density_by_confidence", "fig3a_confidence_vs_nfeat", "fig3b_frequency_vs_models",
    "fig3c_shared_features_vs_error", "fig8_correlation_blocks", "fig9_neighbours",
    "fig10_single_feature_images", "fig11_top_feature_counts", "observations",
    "ground_truth_recovery", "gini", "save",
]

_DOM_COLOUR = "tab:blue"
_RARE_COLOUR = "tab:orange"


# --------------------------------------------------------------------------- helpers

def _figure(figsize: tuple[float, float]):
    """A new Agg figure that pyplot does not track (no leak if a caller forgets to close)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def frequency_order(freq: np.ndarray) -> np.ndarray:
    """Feature ids in Fig 2b order: descending frequency, ties by ascending feature id."""
    f = np.asarray(freq)
    return np.lexsort((np.arange(f.size), -f.astype(np.float64)))


def _n_features(triplets: Any) -> int:
    t = np.asarray(triplets["feature"])
    return int(t.max()) + 1 if t.size else 0


def _images(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"images must be (N, H, W, C) with C in (1, 3), got shape {np.shape(images)}")
    return x


def _class_names(labels: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    names = [str(c) for c in class_names] if class_names is not None else []
    top = int(np.max(labels)) + 1 if np.size(labels) else 0
    return names + [f"class {c}" for c in range(len(names), top)]


def _tile(ax, img: np.ndarray | None, title: str | None = None, ylabel: str | None = None,
          fontsize: float = 7) -> None:
    """Show one (H, W, C) uint8 image without ticks; a None image leaves a blank tile."""
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    if img is not None:
        if img.shape[-1] == 1:
            ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        else:
            ax.imshow(img, interpolation="nearest")
    if title is not None:
        ax.set_title(title, fontsize=fontsize, pad=2)
    if ylabel is not None:
        ax.set_ylabel(ylabel, fontsize=fontsize + 1, rotation=0, ha="right", va="center")


def _spearman(x: Any, y: Any) -> tuple[float, float]:
    """Spearman (rho, p) over the pairs where both are finite; NaN when undefined."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"spearman needs equal lengths, got {a.size} and {b.size}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan, math.nan
    r = scipy.stats.spearmanr(a, b)
    return float(r.statistic), float(r.pvalue)


def _upper_pairs(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(mat)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square (M, M) matrix, got shape {m.shape}")
    return np.triu_indices(m.shape[0], k=1)


def gini(values: Any) -> float:
    """Gini coefficient of non-negative values (0 = all equal, → 1 = one holds all).

    ``G = Σ_i Σ_j |x_i − x_j| / (2 n² mean)``, computed from the sorted values. NaN for an
    empty input or an all-zero one.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * total) - (n + 1.0) / n)


def _holders(inc: sp.csr_matrix, t: int) -> np.ndarray:
    """Points holding feature t, ascending."""
    return np.sort(inc[:, [t]].tocoo().row).astype(np.int64)


# --------------------------------------------------------------------------- Fig 1 / 12

def fig1_extremes(nfeat: np.ndarray, labels: np.ndarray, images: np.ndarray,
                  class_names: Sequence[str], per_class: int = 3):
    """Fig 1 / 12: per class, the test images with the fewest and with the most features.

    Within a class points are ranked by nfeat (ascending for ``fewest``, descending for
    ``most``), ties by point index. Left grid: fewest; right grid: most; one row per class
    (all ``class_names``, a class without points gets a blank row). Each tile is titled
    with its nfeat. df columns: class (name), kind ('fewest'/'most'), rank (0-based),
    point, nfeat.
    """
    nf = np.asarray(nfeat, dtype=np.int64)
    y = np.asarray(labels, dtype=np.int64)
    imgs = _images(images)
    if not (nf.shape == y.shape == (imgs.shape[0],)):
        raise ValueError(f"nfeat {nf.shape}, labels {y.shape} and images {imgs.shape} disagree on N")
    names = _class_names(y, class_names)
    per_class = int(per_class)
    idx = np.arange(nf.size)
    rows = []
    picks: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for c, name in enumerate(names):
        pts = idx[y == c]
        few = pts[np.lexsort((pts, nf[pts]))][:per_class]
        most = pts[np.lexsort((pts, -nf[pts]))][:per_class]
        for kind, sel in (("fewest", few), ("most", most)):
            picks[(c, kind)] = [(int(p), int(nf[p])) for p in sel]
            for r, p in enumerate(sel):
                rows.append((name, kind, r, int(p), int(nf[p])))
    df = pd.DataFrame(rows, columns=["class", "kind", "rank", "point", "nfeat"])
    df = df.astype({"rank": np.int64, "point": np.int64, "nfeat": np.int64})

    n_cls = max(len(names), 1)
    tile = 1.0 if n_cls <= 10 else max(0.45, 10.0 / n_cls)
    fig = _figure((2 * per_class * tile + 2.2, n_cls * tile * 1.05 + 0.8))
    fig.suptitle("Test images with the fewest and the most features, per class")
    sub = fig.subfigures(1, 2, wspace=0.04)
    for s, kind in enumerate(("fewest", "most")):
        sub[s].suptitle(f"{kind} features", fontsize=10)
        axes = sub[s].subplots(n_cls, per_class, squeeze=False)
        for c in range(n_cls):
            got = picks.get((c, kind), [])
            lab = names[c] if (s == 0 and names) else None
            for r in range(per_class):
                if r < len(got):
                    p, k = got[r]
                    _tile(axes[c, r], imgs[p], f"nfeat={k}", lab if r == 0 else None)
                else:
                    _tile(axes[c, r], None, None, lab if r == 0 else None)
    return fig, df


# --------------------------------------------------------------------------- Fig 2

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

    High-confidence points: ``conf >= threshold`` (default 1: every model right; SPEC 9).
    For feature t (in Fig 2b order of the frequency over *all* points):
    ``high_density[t] = log10(#{high n : t ∈ Ψ(n)} / I)`` and
    ``low_density[t] = log10(#{other n : t ∈ Ψ(n)} / I)``, where I is the total number of
    (point, feature) incidences in both groups together (paper footnote 1; SPEC 4).
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


# --------------------------------------------------------------------------- Fig 3

def fig3a_confidence_vs_nfeat(conf: np.ndarray, nfeat: np.ndarray):
    """Fig 3a: joint density of (confidence, nfeat) and the mean nfeat per confidence level.

    The 2-D histogram has one column per distinct confidence value (k/M for an ensemble of
    M) and one row per integer nfeat; colour = count (log scale). The red line is the mean
    nfeat at each confidence level. df columns: confidence, nfeat, count — one row per
    (confidence, nfeat) cell with count > 0, sorted.
    """
    import matplotlib as mpl

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
        grid = np.zeros((ye.size - 1, levels.size))
        grid[df["nfeat"].to_numpy() - ylo, np.searchsorted(levels, df["confidence"].to_numpy())] = df["count"]
        masked = np.ma.masked_equal(grid, 0)
        mesh = ax.pcolormesh(xe, ye, masked, cmap="viridis",
                             norm=mpl.colors.LogNorm(vmin=1, vmax=max(grid.max(), 1.0)))
        fig.colorbar(mesh, ax=ax, label="number of points")
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
    fig = _figure((5.5, 4.2))
    ax = fig.add_subplot()
    ax.scatter(x[ok], y[ok], s=14, alpha=0.6, color="tab:blue", edgecolors="none", label="model pair")
    if ok.sum() >= 2 and np.ptp(x[ok]) > 0:
        slope, icpt = np.polyfit(x[ok], y[ok], 1)
        xs = np.array([x[ok].min(), x[ok].max()])
        ax.plot(xs, slope * xs + icpt, color="red", lw=1.5, label=f"least squares (slope {slope:.3g})")
        ax.legend(fontsize=8)
    ax.set(xlabel="shared features", ylabel="shared error",
           title=f"Shared features vs shared error (Spearman ρ = {rho:.2f})")
    return fig, df


# --------------------------------------------------------------------------- Fig 8

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
    fig = _figure((4.3 * len(ok) + 1.0, 4.2))
    axes = fig.subplots(1, len(ok), squeeze=False)[0]
    im = None
    for ax, (i, j) in zip(axes, ok):
        im = ax.imshow(lam[i, j], vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
        ax.set(title=f"self-correlation, model {i}" if i == j else f"correlation, models {i} vs {j}",
               xlabel=f"component b of model {j}", ylabel=f"component a of model {i}")
    fig.colorbar(im, ax=list(axes), label="|corr|", shrink=0.85)
    fig.suptitle("|Pearson correlation| between principal-component features (Λ)")
    return fig, df


# --------------------------------------------------------------------------- Fig 9

def fig9_neighbours(incidence: Any, images: np.ndarray, labels: np.ndarray,
                    queries: Sequence[int] | np.ndarray, n_neighbours: int = 5,
                    class_names: Sequence[str] | None = None):
    """Fig 9: nearest neighbours under s(x1, x2) = 2|Ψ1 ∩ Ψ2| / (|Ψ1| + |Ψ2|).

    ``incidence`` is the (N, T) 0/1 point × feature matrix
    (:func:`featurelab.interaction.incidence_matrix`, sparse or dense). For every query
    the query itself is excluded and the other points are ranked by decreasing similarity,
    ties by point index; the first ``n_neighbours`` (at most N − 1) are shown. One row
    per query: the query image, then its neighbours titled with similarity and class.
    df columns: query, rank, neighbour, similarity, query_label, neighbour_label.
    """
    imgs = _images(images)
    y = np.asarray(labels, dtype=np.int64)
    q = np.asarray(queries, dtype=np.int64).ravel()
    N = imgs.shape[0]
    if y.shape != (N,):
        raise ValueError(f"labels {y.shape} and images {imgs.shape} disagree on N")
    if q.size and (q.min() < 0 or q.max() >= N):
        raise ValueError(f"queries must lie in [0, {N})")
    names = _class_names(y, class_names)
    k = max(0, min(int(n_neighbours), N - 1))
    sim = similarity_matrix(incidence, rows=q) if q.size else np.zeros((0, N))
    if sim.shape[1] != N:
        raise ValueError(f"incidence has {sim.shape[1]} points but images have {N}")
    rows = []
    idx = np.arange(N)
    for r, qq in enumerate(q):
        s = sim[r].copy()
        s[qq] = -np.inf
        order = np.lexsort((idx, -s))[:k]
        for rank, nb in enumerate(order):
            rows.append((int(qq), rank, int(nb), float(s[nb]), int(y[qq]), int(y[nb])))
    df = pd.DataFrame(rows, columns=["query", "rank", "neighbour", "similarity", "query_label",
                                     "neighbour_label"])
    df = df.astype({"query": np.int64, "rank": np.int64, "neighbour": np.int64,
                    "query_label": np.int64, "neighbour_label": np.int64})

    nq = max(q.size, 1)
    tile = 1.15
    fig = _figure(((k + 1) * tile + 0.6, nq * tile * 1.12 + 0.7))
    fig.suptitle("Nearest neighbours by feature overlap s = 2|Ψ1∩Ψ2| / (|Ψ1|+|Ψ2|)", fontsize=10)
    axes = fig.subplots(nq, k + 1, squeeze=False)
    for r in range(nq):
        if r >= q.size:
            for ax in axes[r]:
                _tile(ax, None)
            continue
        qq = int(q[r])
        _tile(axes[r, 0], imgs[qq], f"query #{qq}\n{names[y[qq]]}")
        for ax in axes[r, 0].spines.values():
            ax.set_visible(True)
            ax.set_edgecolor("red")
            ax.set_linewidth(2)
        d = df[df["query"] == qq]
        for c in range(k):
            nb, sv = int(d["neighbour"].iat[c]), float(d["similarity"].iat[c])
            _tile(axes[r, c + 1], imgs[nb], f"s={sv:.2f}\n{names[y[nb]]}")
    return fig, df


# --------------------------------------------------------------------------- Fig 10

def fig10_single_feature_images(triplets: Any, freq: np.ndarray, images: np.ndarray,
                                labels: np.ndarray, n_show: int = 6, seed: int = 0,
                                class_names: Sequence[str] | None = None):
    """Fig 10: images holding one dominant and one rare feature.

    Dominant: the most frequent feature (first in Fig 2b order). Rare: the least frequent
    feature other than the dominant one held by at least ``n_show`` points (ties by
    feature id); if none has that many holders, the most frequent remaining one (so as
    many images as possible are shown). Up to ``n_show`` holders of each are drawn at
    random (``seed``) and shown in ascending point order; a feature with no holders
    shows no images. Rows: dominant, rare. df columns: kind, feature, frequency, point,
    label (one row per image shown).
    """
    f = np.asarray(freq, dtype=np.int64)
    imgs = _images(images)
    y = np.asarray(labels, dtype=np.int64)
    N = imgs.shape[0]
    if y.shape != (N,):
        raise ValueError(f"labels {y.shape} and images {imgs.shape} disagree on N")
    names = _class_names(y, class_names)
    n_show = int(n_show)
    T = max(f.size, _n_features(triplets))
    inc = incidence_matrix(triplets, N, T).tocsc()
    picks: list[tuple[str, int]] = []
    if f.size:
        order = frequency_order(f)
        dom = int(order[0])
        picks.append(("dominant", dom))
        rest = order[1:]
        if rest.size:
            enough = rest[f[rest] >= n_show]
            if enough.size:
                rare = int(enough[np.lexsort((enough, f[enough]))][0])
            else:
                rare = int(rest[0])
            picks.append(("rare", rare))
    rng = np.random.default_rng(seed)
    rows = []
    for kind, t in picks:
        h = _holders(inc, t)
        if h.size > n_show:
            h = np.sort(rng.choice(h, size=n_show, replace=False))
        for p in h:
            rows.append((kind, t, int(f[t]), int(p), int(y[p])))
    df = pd.DataFrame(rows, columns=["kind", "feature", "frequency", "point", "label"])
    df = df.astype({"feature": np.int64, "frequency": np.int64, "point": np.int64, "label": np.int64})

    nrow = max(len(picks), 1)
    ncol = max(n_show, 1)
    tile = 1.15
    fig = _figure((ncol * tile + 1.6, nrow * tile * 1.25 + 0.6))
    fig.suptitle("Images holding the most frequent (dominant) feature and a rare feature", fontsize=10)
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for r in range(nrow):
        if r < len(picks):
            kind, t = picks[r]
            d = df[df["kind"] == kind]
            lab = f"{kind}\nfeature {t}\n(n={int(f[t])})"
        else:
            d, lab = df.iloc[0:0], None
        for c in range(ncol):
            if c < len(d):
                p = int(d["point"].iat[c])
                _tile(axes[r, c], imgs[p], f"#{p} {names[y[p]]}", lab if c == 0 else None)
            else:
                _tile(axes[r, c], None, None, lab if c == 0 else None)
    return fig, df


# --------------------------------------------------------------------------- Fig 11

def fig11_top_feature_counts(triplets: Any, labels: np.ndarray, class_names: Sequence[str],
                             top: int = 10):
    """Fig 11: per-class counts of the points holding each of the ``top`` most frequent features.

    Features in Fig 2b order (frequency over all points, ties by id); N is ``len(labels)``.
    Heatmap features × classes, annotated with counts; row labels give the total n.
    df columns: feature, class (name), count — every (feature, class) cell, zeros included,
    features in frequency order and classes in label order.
    """
    y = np.asarray(labels, dtype=np.int64)
    N = y.size
    T = _n_features(triplets)
    names = _class_names(y, class_names)
    C = len(names)
    inc = incidence_matrix(triplets, N, max(T, 1)).tocsc()
    freq = np.asarray(inc.sum(axis=0)).ravel().astype(np.int64)[:T]  # = feature_frequency
    feats = frequency_order(freq)[: int(top)]
    counts = np.zeros((feats.size, C), dtype=np.int64)
    for r, t in enumerate(feats):
        counts[r] = np.bincount(y[_holders(inc, int(t))], minlength=C)[:C]
    df = pd.DataFrame({"feature": np.repeat(feats.astype(np.int64), C),
                       "class": np.tile(np.array(names, dtype=object), feats.size),
                       "count": counts.ravel()})

    fig = _figure((max(5.5, 0.62 * C + 3.0), max(3.5, 0.42 * max(feats.size, 1) + 1.6)))
    ax = fig.add_subplot()
    im = ax.imshow(counts if counts.size else np.zeros((1, max(C, 1))), cmap="Blues",
                   aspect="auto", vmin=0, interpolation="nearest")
    ax.set_xticks(np.arange(C), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(np.arange(feats.size), [f"feature {int(t)} (n={int(freq[t])})" for t in feats],
                  fontsize=8)
    if counts.size and counts.size <= 400:
        vmax = counts.max() if counts.max() > 0 else 1
        for (r, c), v in np.ndenumerate(counts):
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 * vmax else "black")
    ax.set(xlabel="class", title=f"Top {feats.size} features: number of holders per class")
    fig.colorbar(im, ax=ax, label="points holding the feature")
    return fig, df


# --------------------------------------------------------------------------- observations

def observations(conf: np.ndarray, nfeat: np.ndarray, freq: np.ndarray, n_models: np.ndarray,
                 shared_feat: np.ndarray, shared_err: np.ndarray) -> dict[str, Any]:
    """Observations O.1-O.4 of paper 000 §4 as numbers (JSON-serialisable: float/int/bool).

    O.1 (long tail of ``freq``): ``o1_gini``, ``o1_skewness`` (scipy, biased), the share of
    all incidences held by the top ⌈10 %·T⌉ features ``o1_top10_share`` next to the share
    equal frequencies would give ``o1_top10_uniform_share`` (= ⌈0.1T⌉/T),
    ``o1_median_over_max``, ``o1_frac_below_10pct_max`` (features with freq < 0.1·max).
    ``o1_long_tail`` = skewness > 0 and top-10 % share ≥ 2 × the uniform share.
    O.2: Spearman (rho, p) of (conf, nfeat); ``o2_confidence_falls_with_nfeat`` = rho < 0.
    O.3: Spearman of (freq, n_models); ``o3_models_rise_with_frequency`` = rho > 0.
    O.4: Spearman of (shared_feat, shared_err) over pairs i < j, NaN pairs dropped, and
    ``o4_mantel_p``, the one-sided p of :func:`featurelab.interaction.mantel_test` (the
    pairs share models, so Spearman's own p overstates the evidence);
    ``o4_shared_error_rises_with_shared_features`` = rho > 0.
    Undefined statistics (constant input, fewer than 3 values) are NaN and their boolean
    is False. NaN floats serialise as ``NaN`` with Python's json (allow_nan).
    """
    f = np.asarray(freq, dtype=np.float64).ravel()
    T = f.size
    total = float(f.sum())
    k10 = int(math.ceil(0.1 * T)) if T else 0
    top10 = float(np.sort(f)[::-1][:k10].sum() / total) if total > 0 else math.nan
    uni10 = k10 / T if T else math.nan
    fmax = float(f.max()) if T else math.nan
    if T >= 3 and np.ptp(f) > 0:
        skew = float(scipy.stats.skew(f))
    else:
        skew = math.nan
    out: dict[str, Any] = {
        "n_features": int(T),
        "n_incidences": int(total),
        "o1_gini": gini(f),
        "o1_skewness": skew,
        "o1_top10_share": top10,
        "o1_top10_uniform_share": float(uni10),
        "o1_median_over_max": float(np.median(f) / fmax) if T and fmax > 0 else math.nan,
        "o1_frac_below_10pct_max": float(np.mean(f < 0.1 * fmax)) if T and fmax > 0 else math.nan,
    }
    out["o1_long_tail"] = bool(np.isfinite(skew) and skew > 0 and np.isfinite(top10)
                               and top10 >= 2.0 * uni10)
    r2, p2 = _spearman(conf, nfeat)
    r3, p3 = _spearman(freq, n_models)
    i, j = _upper_pairs(np.asarray(shared_feat))
    sf = np.asarray(shared_feat, dtype=np.float64)[i, j]
    se = np.asarray(shared_err, dtype=np.float64)[i, j]
    r4, p4 = _spearman(sf, se)
    _, mantel_p, mantel_n = mantel_test(shared_feat, shared_err)
    out.update({
        "o2_spearman_rho": r2, "o2_spearman_p": p2,
        "o3_spearman_rho": r3, "o3_spearman_p": p3,
        "o4_spearman_rho": r4, "o4_spearman_p": p4,
        "o4_n_pairs": int(np.sum(np.isfinite(sf) & np.isfinite(se))),
        "o4_mantel_p": mantel_p, "o4_mantel_relabellings": mantel_n,
        "o2_confidence_falls_with_nfeat": bool(np.isfinite(r2) and r2 < 0),
        "o3_models_rise_with_frequency": bool(np.isfinite(r3) and r3 > 0),
        "o4_shared_error_rises_with_shared_features": bool(np.isfinite(r4) and r4 > 0),
    })
    return out


# --------------------------------------------------------------------------- ground truth

def _motif_list(v: Any) -> list[int]:
    if isinstance(v, str):
        v = json.loads(v)
    if v is None:
        return []
    return [int(m) for m in np.asarray(v).ravel()]


def _mwu(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0 or b.size == 0:
        return math.nan
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(scipy.stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else math.nan


def ground_truth_recovery(truth: pd.DataFrame, nfeat: np.ndarray, conf: np.ndarray, triplets: Any,
                          T: int, motifs_per_class: int, t_d: int):
    """How the discovered features relate to the synthetic world's true motifs (SPEC 2.2).

    ``truth`` is the test split's ground truth (:func:`featurelab.data.synthetic.generate_split`):
    one row per test point with ``index`` (= point id in Ω), ``dominant`` (bool) and
    ``motifs`` (global motif ids; ``id % motifs_per_class < t_d`` is a dominant motif).

    Returns ``(summary, fig, df)``.

    summary (JSON-serialisable): point counts; mean nfeat and mean confidence of dominant
    and rare points with two-sided Mann-Whitney U p-values; ``auc_nfeat_rare`` (ROC AUC of
    nfeat as a score for "is rare"; > 0.5 when rare points hold more features); Spearman
    of nfeat with confidence within each group; ``frac_features_mostly_rare`` (features
    with holders whose dominant share < 0.5, over features with holders); motifs present
    in the test set and motifs "recovered" (the best motif of some feature), overall and
    per kind, plus the same counted only over features with purity ≥ 0.5; the mean purity;
    booleans ``rare_points_hold_more_features`` (mean nfeat rare > dominant) and
    ``rare_points_lower_confidence`` (mean confidence rare < dominant).

    df, one row per feature t < T: feature, frequency (holders), best_motif (the motif
    most common among the holders, ties by lowest id; −1 without holders),
    best_motif_kind ('dominant'/'rare'/'none'), purity (fraction of holders carrying
    best_motif), dominant_share (fraction of holders that are dominant points).

    fig: (a) nfeat of dominant vs rare points, (b) confidence of dominant vs rare points,
    (c) feature frequency vs purity coloured by dominant share.
    """
    from sklearn.metrics import roc_auc_score

    nf = np.asarray(nfeat, dtype=np.int64)
    c = np.asarray(conf, dtype=np.float64)
    N = nf.size
    T = int(T)
    mpc = int(motifs_per_class)
    if c.shape != (N,):
        raise ValueError(f"nfeat {nf.shape} and conf {c.shape} differ")
    tr = truth.sort_values("index") if "index" in truth.columns else truth.reset_index(drop=True)
    pts = tr["index"].to_numpy(dtype=np.int64) if "index" in tr.columns else np.arange(len(tr))
    if pts.size != N or np.any(pts != np.arange(N)):
        raise ValueError(f"truth must have one row per point 0..{N - 1} (got {len(tr)} rows)")
    dom = tr["dominant"].to_numpy(dtype=bool)
    rare = ~dom
    motifs = [_motif_list(v) for v in tr["motifs"]]

    # point × motif incidence
    mrow = np.repeat(np.arange(N), [len(m) for m in motifs])
    mcol = np.array([x for m in motifs for x in m], dtype=np.int64)
    n_mot = int(mcol.max()) + 1 if mcol.size else 1
    P = sp.csr_matrix((np.ones(mcol.size), (mrow, mcol)), shape=(N, n_mot))
    P.data = np.minimum(P.data, 1.0)  # a motif listed twice still counts once
    inc = incidence_matrix(triplets, N, T).tocsc()
    freq = np.asarray(inc.sum(axis=0)).ravel().astype(np.int64)
    fm = (inc.T @ P).toarray() if T else np.zeros((0, n_mot))  # (T, n_motifs) holder counts
    best = np.where(freq > 0, np.argmax(fm, axis=1) if T else np.zeros(0, int), -1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(freq > 0, fm[np.arange(T), np.maximum(best, 0)] / np.maximum(freq, 1), np.nan)
        dom_cnt = np.asarray(inc.T @ dom.astype(np.float64)).ravel()
        dshare = np.where(freq > 0, dom_cnt / np.maximum(freq, 1), np.nan)
    kind = np.where(best < 0, "none", np.where(best % mpc < int(t_d), "dominant", "rare"))
    df = pd.DataFrame({"feature": np.arange(T, dtype=np.int64), "frequency": freq,
                       "best_motif": best, "best_motif_kind": kind.astype(object),
                       "purity": purity, "dominant_share": dshare})

    # summary
    held = freq > 0
    present = np.unique(mcol)
    present_dom = present[present % mpc < int(t_d)]
    present_rare = present[present % mpc >= int(t_d)]
    rec = np.unique(best[held])
    rec50 = np.unique(best[held & (purity >= 0.5)])

    def _split(ids: np.ndarray) -> tuple[int, int]:
        return int(np.sum(ids % mpc < int(t_d))), int(np.sum(ids % mpc >= int(t_d)))

    rd, rr = _split(rec)
    rd50, rr50 = _split(rec50)
    if dom.any() and rare.any():
        auc = float(roc_auc_score(rare.astype(int), nf))
    else:
        auc = math.nan
    rho_d, p_d = _spearman(nf[dom], c[dom])
    rho_r, p_r = _spearman(nf[rare], c[rare])
    m_nf_d, m_nf_r = _mean(nf[dom]), _mean(nf[rare])
    m_c_d, m_c_r = _mean(c[dom]), _mean(c[rare])
    summary: dict[str, Any] = {
        "n_points": int(N), "n_dominant_points": int(dom.sum()), "n_rare_points": int(rare.sum()),
        "n_features": int(T), "n_features_with_holders": int(held.sum()),
        "mean_nfeat_dominant": m_nf_d, "mean_nfeat_rare": m_nf_r,
        "mannwhitney_p_nfeat": _mwu(nf[dom].astype(float), nf[rare].astype(float)),
        "mean_confidence_dominant": m_c_d, "mean_confidence_rare": m_c_r,
        "mannwhitney_p_confidence": _mwu(c[dom], c[rare]),
        "auc_nfeat_rare": auc,
        "spearman_nfeat_conf_dominant_rho": rho_d, "spearman_nfeat_conf_dominant_p": p_d,
        "spearman_nfeat_conf_rare_rho": rho_r, "spearman_nfeat_conf_rare_p": p_r,
        "mean_purity": float(np.nanmean(purity)) if held.any() else math.nan,
        "frac_features_mostly_rare": float(np.mean(dshare[held] < 0.5)) if held.any() else math.nan,
        "motifs_present": int(present.size),
        "motifs_present_dominant": int(present_dom.size),
        "motifs_present_rare": int(present_rare.size),
        "motifs_recovered": int(rec.size),
        "motifs_recovered_dominant": rd, "motifs_recovered_rare": rr,
        "motifs_recovered_purity50": int(rec50.size),
        "motifs_recovered_purity50_dominant": rd50, "motifs_recovered_purity50_rare": rr50,
        "rare_points_hold_more_features": bool(np.isfinite(m_nf_d) and np.isfinite(m_nf_r)
                                               and m_nf_r > m_nf_d),
        "rare_points_lower_confidence": bool(np.isfinite(m_c_d) and np.isfinite(m_c_r)
                                             and m_c_r < m_c_d),
    }

    # figure
    fig = _figure((12.5, 4.0))
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    groups = ((dom, "dominant points", _DOM_COLOUR), (rare, "rare points", _RARE_COLOUR))
    if N:
        edges = np.arange(nf.min(), nf.max() + 2) - 0.5
        if edges.size > 80:
            edges = np.linspace(nf.min() - 0.5, nf.max() + 0.5, 60)
        for mask, lab, col in groups:
            if mask.any():
                ax_a.hist(nf[mask], bins=edges, density=True, alpha=0.5, color=col,
                          label=f"{lab} (n={int(mask.sum())}, mean {np.mean(nf[mask]):.1f})")
        levels = np.unique(np.round(c, 10))
        if levels.size <= 41:  # discrete levels k/M: side-by-side bars of the share per level
            step = float(np.min(np.diff(levels))) if levels.size > 1 else 0.1
            w = 0.4 * step
            cr = np.round(c, 10)
            for g, (mask, lab, col) in enumerate(groups):
                if mask.any():
                    share = np.array([np.mean(cr[mask] == v) for v in levels])
                    ax_b.bar(levels + (g - 0.5) * w, share, width=w, color=col, alpha=0.8,
                             label=f"{lab} (mean {np.mean(c[mask]):.2f})")
            ax_b.set_ylabel("fraction of the group's points")
        else:
            for mask, lab, col in groups:
                if mask.any():
                    ax_b.hist(c[mask], bins=40, density=True, alpha=0.5, color=col,
                              label=f"{lab} (mean {np.mean(c[mask]):.2f})")
            ax_b.set_ylabel("density")
    ax_a.set(xlabel="number of features (nfeat)", ylabel="density",
             title=f"(a) nfeat by point type (AUC rare = {auc:.2f})")
    ax_b.set(xlabel="confidence (fraction of models correct)", title="(b) confidence by point type")
    for ax in (ax_a, ax_b):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    sc = ax_c.scatter(freq[held], purity[held], c=dshare[held], cmap="coolwarm_r", vmin=0, vmax=1,
                      s=14, edgecolors="none")
    fig.colorbar(sc, ax=ax_c, label="dominant share of holders")
    ax_c.set(xlabel="feature frequency (holders)", ylabel="purity of best-matching motif",
             title=f"(c) features vs true motifs ({rec.size}/{present.size} motifs matched)",
             ylim=(-0.02, 1.05))
    fig.suptitle("Discovered features vs the synthetic world's ground truth")
    return summary, fig, df


# --------------------------------------------------------------------------- output
