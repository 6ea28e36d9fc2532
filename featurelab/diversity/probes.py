"""Representation probes of Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them All:
Overlapping Features of Training Methods" (ICLR 2022, Fig 6): how much two models' penultimate
features overlap.

Linear CKA (Kornblith, Norouzi, Lee, Hinton, "Similarity of Neural Network Representations
Revisited", ICML 2019, §3 Eq. 2 and the linear-kernel identity of §3): with column-centred
``X`` ``(N, D1)`` and ``Y`` ``(N, D2)``,
``CKA = ||Yᵀ X||_F² / (||Xᵀ X||_F ||Yᵀ Y||_F)``, equal to ``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))``
for the Gram matrices ``K = X Xᵀ``, ``L = Y Yᵀ`` and the biased estimator
``HSIC(K, L) = tr(K H L H) / (n − 1)²``, ``H = I − 11ᵀ/n`` (:func:`hsic`, :func:`cka_from_grams`).

Feature-overlap probe (Fig 6, :func:`overlap_probe`): one linear probe on ``dim`` features made of
a random ``f`` fraction of model A's penultimate features and a random ``1 − f`` fraction of
model B's, no wider than the base model's feature dimension. If A and B hold different,
complementary features the mixed probes (e.g. 50/50) beat both 100/0 and 0/100.

Transfer probe (:func:`transfer_probe`; the paper's last claim, that features of divergently
trained models, combined, help downstream): one probe on model A's features, one on B's and one
on their concatenation, each fitted for a task neither model was trained for.

Feature compression (:func:`rank_dimensions`, :func:`compression_curve`): rank the feature
dimensions by the one-way ANOVA F statistic between classes and probe the top ``k``.

The probes are :func:`featurelab.stats.linear_probe` (standardised features,
multinomial logistic regression).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..stats import linear_probe

__all__ = ["linear_cka", "hsic", "cka_from_grams", "cka_matrix", "linear_probe", "overlap_probe", "transfer_probe",
           "anova_f", "rank_dimensions", "compression_curve"]


# ----------------------------------------------------------------------------- CKA

def _centre(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    return X - X.mean(axis=0)


def _cross_sq(Xc: np.ndarray, Yc: np.ndarray) -> float:
    """``||Ycᵀ Xc||_F²``, in feature space or through the ``N × N`` Gram matrices, whichever is cheaper."""
    N, d1 = Xc.shape
    d2 = Yc.shape[1]
    if d1 * d2 <= N * (d1 + d2):
        return float(np.sum((Yc.T @ Xc) ** 2))
    return float(np.sum((Xc @ Xc.T) * (Yc @ Yc.T)))


def _self_norm(Xc: np.ndarray) -> float:
    """``||Xcᵀ Xc||_F`` (= ``||Xc Xcᵀ||_F``) on the smaller side."""
    N, d = Xc.shape
    G = Xc.T @ Xc if d <= N else Xc @ Xc.T
    return float(np.linalg.norm(G))


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA between two representations of the same ``N`` points (Kornblith et al., ICML
    2019): ``||Yᵀ X||_F² / (||Xᵀ X||_F ||Yᵀ Y||_F)`` after centring each column. In ``[0, 1]``;
    invariant to orthogonal transformations and isotropic scaling of either side. NaN if either
    representation is constant."""
    Xc, Yc = _centre(X), _centre(Y)
    if Xc.shape[0] != Yc.shape[0]:
        raise ValueError(f"X and Y must have the same number of points, got {Xc.shape[0]} and {Yc.shape[0]}")
    den = _self_norm(Xc) * _self_norm(Yc)
    return _cross_sq(Xc, Yc) / den if den > 0 else float("nan")


def hsic(K: np.ndarray, L: np.ndarray) -> float:
    """The biased HSIC estimator ``tr(K H L H) / (n − 1)²``, ``H = I − 11ᵀ/n`` (Gretton et al.
    2005; Kornblith et al., ICML 2019, Eq. 3), on ``n × n`` kernel (Gram) matrices."""
    K = np.asarray(K, dtype=np.float64)
    L = np.asarray(L, dtype=np.float64)
    n = K.shape[0]
    H = np.eye(n) - np.full((n, n), 1.0 / n)
    return float(np.trace(K @ H @ L @ H)) / (n - 1) ** 2


def cka_from_grams(K: np.ndarray, L: np.ndarray) -> float:
    """CKA from Gram matrices: ``HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` (Kornblith et al.,
    ICML 2019, Eq. 4)."""
    return hsic(K, L) / math.sqrt(hsic(K, K) * hsic(L, L))


def cka_matrix(features: Sequence[np.ndarray]) -> np.ndarray:
    """Linear CKA between every two of ``M`` representations ``(N, D_m)`` of the same points:
    ``(M, M)``, symmetric, ones on the diagonal (NaN rows for constant representations).

    Each representation is centred once and its ``||Xᵀ X||_F`` computed once; the cross terms are
    ``||Y_bᵀ X_a||_F²`` in feature space, or ``<X_a X_aᵀ, X_b X_bᵀ>_F`` through Gram matrices
    computed once each when ``N`` is small compared with the widths."""
    cs = [_centre(F) for F in features]
    M = len(cs)
    if M == 0:
        return np.zeros((0, 0))
    N = cs[0].shape[0]
    if any(c.shape[0] != N for c in cs):
        raise ValueError("all representations must hold the same points")
    widths = np.array([c.shape[1] for c in cs])
    use_gram = N <= 4096 and N < np.median(widths)
    grams = [c @ c.T for c in cs] if use_gram else None
    norms = np.array([float(np.linalg.norm(g)) for g in grams] if use_gram else [_self_norm(c) for c in cs])
    out = np.eye(M)
    for a in range(M):
        if norms[a] == 0:
            out[a, :] = out[:, a] = np.nan
            continue
        for b in range(a + 1, M):
            if norms[b] == 0:
                continue
            cross = float(np.sum(grams[a] * grams[b])) if use_gram else float(np.sum((cs[b].T @ cs[a]) ** 2))
            out[a, b] = out[b, a] = cross / (norms[a] * norms[b])
    return out


# ----------------------------------------------------------------------------- feature-overlap probe

def overlap_probe(A_fit: np.ndarray, B_fit: np.ndarray, y_fit: np.ndarray, A_eval: np.ndarray, B_eval: np.ndarray,
                  y_eval: np.ndarray, fractions: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.0), draws: int = 3,
                  dim: int | None = None, seed: int = 0, C: float = 1.0, max_iter: int = 1000):
    """The feature-overlap experiment (Gontijo-Lopes et al., ICLR 2022, Fig 6): for each fraction
    ``f`` and draw, a linear probe on ``round(f·dim)`` randomly chosen penultimate features of
    model A concatenated with ``dim − round(f·dim)`` randomly chosen features of model B (``f =
    1.0`` is "100/0", all from A), fitted on the fit split and scored on the eval split.

    ``dim`` defaults to ``min(width_A, width_B)`` and may exceed neither width, so a mixed probe is
    never wider than a single model's. Draw ``d`` uses ``np.random.default_rng((seed, d))``: one
    random permutation of A's columns and one of B's, and fraction ``f`` takes the first
    ``n_a`` of A's and the first ``dim − n_a`` of B's (nested subsets across fractions, the same
    for every fraction order). ``round`` is to the nearest integer, halves up.

    Returns a pandas DataFrame with columns ``fraction, draw, dim, n_from_a, n_from_b, accuracy``."""
    import pandas as pd

    A_fit, B_fit, A_eval, B_eval = (np.asarray(x) for x in (A_fit, B_fit, A_eval, B_eval))
    if A_fit.ndim != 2 or B_fit.ndim != 2:
        raise ValueError("the feature arrays must be 2-D (points, features)")
    if A_eval.shape[1] != A_fit.shape[1] or B_eval.shape[1] != B_fit.shape[1]:
        raise ValueError("fit and eval features of a model must have the same width")
    if A_fit.shape[0] != B_fit.shape[0] or A_eval.shape[0] != B_eval.shape[0]:
        raise ValueError("models A and B must describe the same points")
    wa, wb = A_fit.shape[1], B_fit.shape[1]
    dim = min(wa, wb) if dim is None else int(dim)
    if dim < 1:
        raise ValueError(f"dim must be at least 1, got {dim}")
    if dim > wa or dim > wb:
        raise ValueError(f"dim={dim} exceeds a model's feature width (A has {wa}, B has {wb} features)")
    if any(not 0.0 <= f <= 1.0 for f in fractions):
        raise ValueError(f"fractions must lie in [0, 1], got {list(fractions)}")
    rows = []
    fitted: dict[tuple[bytes, bytes], float] = {}  # the same columns give the same probe (e.g. 100/0 of every draw)
    for d in range(draws):
        rng = np.random.default_rng((seed, d))
        perm_a, perm_b = rng.permutation(wa), rng.permutation(wb)
        for f in fractions:
            n_a = int(math.floor(f * dim + 0.5))
            ca, cb = np.sort(perm_a[:n_a]), np.sort(perm_b[:dim - n_a])
            key = (ca.tobytes(), cb.tobytes())
            if key not in fitted:
                F_fit = np.concatenate([A_fit[:, ca], B_fit[:, cb]], axis=1)
                F_eval = np.concatenate([A_eval[:, ca], B_eval[:, cb]], axis=1)
                fitted[key] = linear_probe(F_fit, y_fit, F_eval, y_eval, C=C, max_iter=max_iter)
            acc = fitted[key]
            rows.append({"fraction": float(f), "draw": d, "dim": dim, "n_from_a": n_a, "n_from_b": dim - n_a,
                         "accuracy": acc})
    return pd.DataFrame(rows, columns=["fraction", "draw", "dim", "n_from_a", "n_from_b", "accuracy"])


# ----------------------------------------------------------------------------- transfer

def transfer_probe(A_fit: np.ndarray, B_fit: np.ndarray, y_fit: np.ndarray, A_eval: np.ndarray,
                   B_eval: np.ndarray, y_eval: np.ndarray, C: float = 1.0, max_iter: int = 1000,
                   a_alone: float | None = None) -> dict[str, float]:
    """The transfer probe (Gontijo-Lopes et al., ICLR 2022, the last claim: overlapping feature
    sets, combined, increase downstream performance): a linear probe (:func:`linear_probe`) for
    a downstream label ``y`` on model A's features, on B's, and on their concatenation
    ``[A, B]``, fitted on the fit split and scored on the eval split. Returns ``a``, ``b``,
    ``concat`` and ``gain = concat − max(a, b)``. ``a_alone``: A's accuracy when already known
    (the base's, the same for every pair)."""
    A_fit, B_fit, A_eval, B_eval = (np.asarray(x) for x in (A_fit, B_fit, A_eval, B_eval))
    if A_fit.shape[0] != B_fit.shape[0] or A_eval.shape[0] != B_eval.shape[0]:
        raise ValueError("models A and B must describe the same points")
    a = linear_probe(A_fit, y_fit, A_eval, y_eval, C=C, max_iter=max_iter) if a_alone is None else float(a_alone)
    b = linear_probe(B_fit, y_fit, B_eval, y_eval, C=C, max_iter=max_iter)
    ab = linear_probe(np.concatenate([A_fit, B_fit], 1), y_fit, np.concatenate([A_eval, B_eval], 1), y_eval, C=C,
                      max_iter=max_iter)
    return {"a": float(a), "b": float(b), "concat": float(ab), "gain": float(ab - max(a, b))}


# ----------------------------------------------------------------------------- compression

def anova_f(F: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One-way ANOVA F statistic of every feature dimension between the classes ``y`` (as
    ``scipy.stats.f_oneway`` per column): ``[Σ_c n_c (μ_c − μ)² / (C − 1)] / [Σ_c Σ_{n∈c}
    (x_n − μ_c)² / (N − C)]``. ``inf`` for a dimension constant within every class but not
    between them, NaN for a constant dimension."""
    F = np.asarray(F, dtype=np.float64)
    _, inv = np.unique(np.asarray(y), return_inverse=True)
    C = int(inv.max()) + 1
    N = F.shape[0]
    if C < 2 or N <= C:
        raise ValueError("anova_f needs at least two classes and more points than classes")
    n_c = np.bincount(inv, minlength=C).astype(float)
    onehot = np.zeros((C, N))
    onehot[inv, np.arange(N)] = 1.0
    mu = F.mean(axis=0)
    mu_c = (onehot @ F) / n_c[:, None]
    between = (n_c[:, None] * (mu_c - mu) ** 2).sum(axis=0) / (C - 1)
    within = ((F - mu_c[inv]) ** 2).sum(axis=0) / (N - C)
    with np.errstate(divide="ignore", invalid="ignore"):
        return between / within


def rank_dimensions(F: np.ndarray, y: np.ndarray, statistic: str = "fisher") -> np.ndarray:
    """Feature dimensions ordered from the most to the least class-discriminative, by the one-way
    ANOVA F statistic between classes (``statistic="fisher"``: between-class over within-class
    variance per dimension, :func:`anova_f`), computed on the given (fit) split. Ties keep the
    lower index first; dimensions with an undefined statistic (constant) come last."""
    if statistic != "fisher":
        raise ValueError(f"unknown statistic {statistic!r} (only 'fisher')")
    score = anova_f(F, y)
    score = np.where(np.isnan(score), -np.inf, score)
    return np.argsort(-score, kind="stable")


def compression_curve(F_fit: np.ndarray, y_fit: np.ndarray, F_eval: np.ndarray, y_eval: np.ndarray,
                      ks: Sequence[int], statistic: str = "fisher", C: float = 1.0, max_iter: int = 1000):
    """Probe accuracy when only the top-``k`` ranked dimensions (:func:`rank_dimensions` on the fit
    split) are kept, for each ``k`` in ``ks``: a pandas DataFrame with columns ``k, accuracy``."""
    import pandas as pd

    F_fit, F_eval = np.asarray(F_fit), np.asarray(F_eval)
    order = rank_dimensions(F_fit, y_fit, statistic)
    rows = []
    for k in ks:
        k = int(k)
        if not 1 <= k <= F_fit.shape[1]:
            raise ValueError(f"k must lie in [1, {F_fit.shape[1]}], got {k}")
        keep = order[:k]
        rows.append({"k": k, "accuracy": linear_probe(F_fit[:, keep], y_fit, F_eval[:, keep], y_eval,
                                                      C=C, max_iter=max_iter)})
    return pd.DataFrame(rows, columns=["k", "accuracy"])
