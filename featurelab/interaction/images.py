"""The figures of Jiang, Baek, Kolter (ICLR 2024) §4 and App. F that show test
images: Fig 1 (per class, the images with the fewest and the most features), Fig 9
(nearest neighbours under the feature-set similarity), Fig 10 (images holding one
dominant or one rare feature) and Fig 11 (per-class counts of the top features).

Each returns ``(fig, df)`` like :mod:`featurelab.interaction.figures`; ``images`` is
(N, H, W, C) uint8 with C = 1 (shown in grey) or 3, and class columns hold class names.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .figures import _figure, _n_features, frequency_order
from .measures import incidence_matrix, similarity_matrix


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


def _holders(inc: sp.csr_matrix, t: int) -> np.ndarray:
    """Points holding feature t, ascending."""
    return np.sort(inc[:, [t]].tocoo().row).astype(np.int64)


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


def fig9_queries(nfeat: np.ndarray, labels: np.ndarray, num_classes: int, classes: int = 6) -> list[int]:
    """The query points of Fig 9: for each of the first ``classes`` classes, the point with the
    median number of features (stable order among ties)."""
    queries = []
    for c in range(num_classes)[:classes]:
        idx = np.flatnonzero(labels == c)
        if len(idx):
            queries.append(int(idx[np.argsort(nfeat[idx], kind="stable")[len(idx) // 2]]))
    return queries
