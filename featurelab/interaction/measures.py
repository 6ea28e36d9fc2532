"""The per-point and per-pair quantities behind the figures of Jiang, Baek, Kolter (2024) §4 (Jiang, Baek,
Kolter, ICLR 2024), computed from Ω: confidence, Ψ(n) and nfeat, feature frequency,
models per feature, shared features and shared error of a model pair (Fig 3c), the
Mantel test of O.4, and the feature-set similarity of Fig 9.
"""
from __future__ import annotations

import math
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.stats

from .tensor import _check_lambda, _check_range, _triplet_arrays, cluster_features_in_order


def confidence(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """confidence(n) = fraction of the M models whose prediction at n is correct.

    ``predictions`` (M, N) predicted labels, ``labels`` (N,). Returns (N,) float64.
    """
    pr = np.asarray(predictions)
    y = np.asarray(labels)
    if pr.ndim != 2 or y.shape != (pr.shape[1],):
        raise ValueError(f"predictions must be (M, N) and labels (N,), got {pr.shape} and {y.shape}")
    return (pr == y[None, :]).mean(axis=0)


def _unique_pairs(a: np.ndarray, b: np.ndarray, b_size: int) -> tuple[np.ndarray, np.ndarray]:
    key = np.unique(a * max(b_size, 1) + b)
    return key // max(b_size, 1), key % max(b_size, 1)


def features_per_point(triplets: pd.DataFrame | Mapping[str, Any], N: int) -> np.ndarray:
    """nfeat(n) = |Ψ(n)|, Ψ(n) = {t : Σ_m Ω[m, n, t] > 0}. Returns (N,) int64."""
    _, nn, tt = _triplet_arrays(triplets)
    _check_range("point", nn, N)
    t_size = int(tt.max()) + 1 if tt.size else 1
    pts, _ = _unique_pairs(nn, tt, t_size)
    return np.bincount(pts, minlength=N).astype(np.int64)


def feature_frequency(triplets: pd.DataFrame | Mapping[str, Any], T: int) -> np.ndarray:
    """freq(t) = number of points n with t ∈ Ψ(n) (Fig 2b). Returns (T,) int64."""
    _, nn, tt = _triplet_arrays(triplets)
    _check_range("feature", tt, T)
    _, feats = _unique_pairs(nn, tt, T)
    return np.bincount(feats, minlength=T).astype(np.int64)


def models_per_feature(triplets: pd.DataFrame | Mapping[str, Any], T: int) -> np.ndarray:
    """Number of models m with Ω[m, n, t] = 1 for some point n (Fig 3b). (T,) int64.

    This counts models that *use* t at some point; for models that merely *own* a
    component in cluster t use ``model_feature_matrix(clusters, T).sum(axis=0)``.
    """
    mm, _, tt = _triplet_arrays(triplets)
    _check_range("feature", tt, T)
    _, feats = _unique_pairs(mm, tt, T)
    return np.bincount(feats, minlength=T).astype(np.int64)


def model_feature_matrix(clusters: np.ndarray, T: int | None = None) -> np.ndarray:
    """(M, T) bool: model m has feature t iff some component of m is in cluster t."""
    c = np.asarray(clusters, dtype=np.int64)
    if c.ndim != 2:
        raise ValueError(f"clusters must be (M, K), got shape {c.shape}")
    t_size = int(c.max()) + 1 if T is None else int(T)
    _check_range("cluster", c, t_size)
    has = np.zeros((c.shape[0], t_size), dtype=bool)
    has[np.repeat(np.arange(c.shape[0]), c.shape[1]), c.ravel()] = True
    return has


def shared_features(clusters: np.ndarray, T: int | None = None) -> np.ndarray:
    """(M, M) int64: |{t : both models have t}| (Fig 3c), "has" as in :func:`model_feature_matrix`.

    The diagonal is the number of distinct features of each model.
    """
    h = model_feature_matrix(clusters, T).astype(np.int64)
    return h @ h.T


def model_orders(m: int, kind: Literal["cyclic", "random"] = "cyclic", n: int | None = None,
                 seed: int = 0) -> np.ndarray:
    """(R, M) orders of the M models for Algorithm 1: ``cyclic``, the M rotations
    (k, k+1, …, M−1, 0, …, k−1) (every model first once; R = M, ``n`` ignored); ``random``,
    the identity and ``n`` − 1 random permutations (numpy, ``seed``)."""
    m = int(m)
    if m < 1:
        raise ValueError(f"need at least one model, got {m}")
    if kind == "cyclic":
        return (np.arange(m)[None, :] + np.arange(m)[:, None]) % m
    if kind == "random":
        r = int(n if n is not None else m)
        if r < 1:
            raise ValueError(f"need at least one order, got n={n}")
        rng = np.random.default_rng(seed)
        return np.vstack([np.arange(m)] + [rng.permutation(m) for _ in range(r - 1)])
    raise ValueError(f"kind must be 'cyclic' or 'random', got {kind!r}")


def shared_features_over_orders(abs_corr: np.ndarray, gamma: float, orders: np.ndarray) -> np.ndarray:
    """Order-averaged shared features: the mean over the model ``orders`` (see
    :func:`model_orders`) of :func:`shared_features` of Algorithm 1 run in that order
    (:func:`featurelab.interaction.cluster_features_in_order`), an (M, M) float64 matrix in
    the original model labels. Algorithm 1 visits the models in order, so the first model
    seeds a cluster for each of its features and claims the others' matching ones; averaging
    over orders (all rotations: every model first once) removes that privilege."""
    lam = _check_lambda(abs_corr)
    o = np.asarray(orders, dtype=np.int64)
    if o.ndim != 2 or o.shape[1] != lam.shape[0] or o.shape[0] < 1:
        raise ValueError(f"orders must be (R ≥ 1, M={lam.shape[0]}), got shape {o.shape}")
    total = np.zeros((lam.shape[0], lam.shape[0]))
    for order in o:
        total += shared_features(cluster_features_in_order(lam, gamma, order))
    return total / o.shape[0]


def shared_error(predictions: np.ndarray, labels: np.ndarray,
                 mode: Literal["same_wrong", "both_wrong"] = "same_wrong") -> np.ndarray:
    """Pairwise shared error (Fig 3c), an (M, M) float64 matrix.

    ``same_wrong`` (default): #{n : f_i(n) = f_j(n) ≠ y_n} / ((#err_i + #err_j) / 2).
    ``both_wrong``: #{n : f_i(n) ≠ y_n and f_j(n) ≠ y_n} / ((#err_i + #err_j) / 2).
    The diagonal is 1 for a model with errors. A pair of models without any error
    (0 / 0) gets NaN.
    """
    pr = np.asarray(predictions, dtype=np.int64)
    y = np.asarray(labels, dtype=np.int64)
    if pr.ndim != 2 or y.shape != (pr.shape[1],):
        raise ValueError(f"predictions must be (M, N) and labels (N,), got {pr.shape} and {y.shape}")
    m, n = pr.shape
    wrong = pr != y[None, :]
    errs = wrong.sum(axis=1).astype(np.float64)
    if mode == "same_wrong":
        lo = min(int(pr.min()), int(y.min())) if pr.size else 0
        hi = max(int(pr.max()), int(y.max())) + 1 if pr.size else 1
        ncls = hi - lo
        rows, cols = np.nonzero(wrong)
        e = sp.csr_matrix((np.ones(rows.size), (rows, cols * ncls + (pr[rows, cols] - lo))),
                          shape=(m, n * ncls))
        counts = (e @ e.T).toarray()
    elif mode == "both_wrong":
        w = wrong.astype(np.float64)
        counts = w @ w.T
    else:
        raise ValueError(f"mode must be 'same_wrong' or 'both_wrong', got {mode!r}")
    denom = (errs[:, None] + errs[None, :]) / 2.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, counts / np.where(denom > 0, denom, 1.0), np.nan)


def mantel_test(a: np.ndarray, b: np.ndarray, permutations: int = 9999, seed: int = 0,
                exact_up_to: int = 8) -> tuple[float, float, int]:
    """Mantel test of two symmetric (M, M) pair matrices (O.4: shared features, shared error).

    The statistic is Spearman's rho over the pairs i < j (pairs with a NaN dropped). The
    pairs of one ensemble share models, so the textbook Spearman p-value overstates the
    evidence; the Mantel test permutes the *models* of ``b`` instead and asks how often a
    relabelling correlates at least as strongly: one-sided p = #{π : rho_π ≥ rho} / #π.
    All M! relabellings are enumerated for M ≤ ``exact_up_to``; otherwise ``permutations``
    random ones plus the identity (p = (1 + #{rho_π ≥ rho}) / (1 + permutations)).
    Returns (rho, p, number of relabellings); (NaN, NaN, 0) when rho is undefined.
    """
    import itertools

    import scipy.stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape != b.shape:
        raise ValueError(f"mantel_test needs two square matrices of one shape, got {a.shape} and {b.shape}")
    m = a.shape[0]
    iu, ju = np.triu_indices(m, 1)

    def rho(bp: np.ndarray) -> float:
        x, y = a[iu, ju], bp[iu, ju]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
            return float("nan")
        return float(scipy.stats.spearmanr(x[ok], y[ok]).statistic)

    r0 = rho(b)
    if not np.isfinite(r0):
        return float("nan"), float("nan"), 0
    if m <= exact_up_to:
        perms = np.array(list(itertools.permutations(range(m))), dtype=np.int64)
    else:
        rng = np.random.default_rng(seed)
        perms = np.vstack([np.arange(m)] + [rng.permutation(m) for _ in range(int(permutations))])
    if np.isfinite(a[iu, ju]).all() and np.isfinite(b[iu, ju]).all():
        # Relabelling the models only reorders b's pairs, so its pair ranks are fixed: rho_π is
        # the Pearson correlation of a's ranks with b's ranks read at (π_i, π_j), all π at once.
        # x is centred, so y's mean drops out of the dot product.
        x = scipy.stats.rankdata(a[iu, ju])
        x = (x - x.mean()) / np.linalg.norm(x - x.mean())
        y = scipy.stats.rankdata(b[iu, ju])
        rb = np.zeros((m, m))
        rb[iu, ju] = y
        rb = rb + rb.T
        norm = np.linalg.norm(y - y.mean())
        rhos = np.concatenate([rb[pp[:, iu], pp[:, ju]] @ x / norm
                               for pp in np.array_split(perms, max(1, len(perms) // 8192))])
    else:  # NaN pairs (an error-free model): the pairs kept change with π
        rhos = np.array([rho(b[np.ix_(pi, pi)]) for pi in perms])
    hits = int(np.sum(np.isfinite(rhos) & (rhos >= r0 - 1e-9)))
    return r0, hits / len(perms), int(len(perms))


def similarity(psi_a: Sequence[int] | set[int], psi_b: Sequence[int] | set[int]) -> float:
    """s(x1, x2) = 2|Ψ(x1) ∩ Ψ(x2)| / (|Ψ(x1)| + |Ψ(x2)|) (Fig 9); 0.0 if both empty."""
    a, b = set(psi_a), set(psi_b)
    total = len(a) + len(b)
    return 2.0 * len(a & b) / total if total else 0.0


def incidence_matrix(triplets: pd.DataFrame | Mapping[str, Any], N: int, T: int) -> sp.csr_matrix:
    """Sparse (N, T) 0/1 point × feature incidence: entry 1 iff t ∈ Ψ(n) (models pooled)."""
    _, nn, tt = _triplet_arrays(triplets)
    _check_range("point", nn, N)
    _check_range("feature", tt, T)
    pts, feats = _unique_pairs(nn, tt, T)
    return sp.csr_matrix((np.ones(pts.size, dtype=np.float64), (pts, feats)), shape=(N, T))


def similarity_matrix(incidence: sp.spmatrix, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """All-pairs :func:`similarity` from a 0/1 (N, T) incidence (see :func:`incidence_matrix`).

    Returns a dense (R, N) float64 array for the query ``rows`` (all N when None; mind
    memory: N² · 8 bytes). Pairs of two empty points get 0.
    """
    a = sp.csr_matrix(incidence, dtype=np.float64)
    q = a if rows is None else a[np.asarray(rows, dtype=np.int64)]
    inter = (q @ a.T).toarray()
    size = np.asarray(a.sum(axis=1)).ravel()
    qsize = np.asarray(q.sum(axis=1)).ravel()
    denom = qsize[:, None] + size[None, :]
    return np.where(denom > 0, 2.0 * inter / np.where(denom > 0, denom, 1.0), 0.0)


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
