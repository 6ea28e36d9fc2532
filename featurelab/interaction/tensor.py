"""The interaction tensor of Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and
Features" (ICLR 2024, §3, Algorithm 1): the maths.

For M models evaluated on the same N points:

1. :func:`pca_project` — per model, ``υ_m = Φ_m V[:, :K]`` from the SVD ``Φ_m = U Σ Vᵀ``
   of its (N, d) activations (§3.1).
2. :func:`correlation_tensor` — ``Λ[i, j, a, b] = |corr_n(υ_i[:, a], υ_j[:, b])|``, shape
   (M, M, K, K) (eqs. 1-2).
3. :func:`gamma_corr` — the 90th percentile of all entries of Λ, or a fixed value.
4. :func:`cluster_features` — greedy clustering, Algorithm 1 with its indices restored;
   :func:`cluster_features_loops` is the loop-by-loop reference.
5. :func:`normalize_columns`, :func:`gamma_data` — ℓ∞ column normalisation and the
   presence threshold γdata.
6. :func:`interaction_tensor` — the sparse triplets of ``Ω[m, n, t]``, and
   :func:`omega_to_dense`.

Choosing K and guarding γcorr (the O.4 control): :func:`k_retaining_accuracy` is the paper's
rule for K (App. E.2: the fewest principal components on which the linear layer classifies
about as accurately as on the whole representation), :func:`k_share` the paper's K as a share
of the width (50 of 512), and :func:`correlation_noise_floor` the |corr| that independent
columns reach by chance, a floor under γcorr (:func:`gamma_corr` ``floor``). Algorithm 1's
order: :func:`cluster_seeds` says which features opened clusters, :func:`seed_shares` the share
of seeds per model, :func:`cluster_features_in_order` runs it over the models in another order.

:func:`build_interaction` runs steps 1-6. Triplets are a :class:`pandas.DataFrame` with
int32 columns ``model``, ``point`` and ``feature`` (deduplicated, sorted by model, point,
feature); functions taking triplets also accept any mapping with those three keys.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import scipy.linalg
from scipy.linalg.blas import dsyrk

TRIPLET_COLUMNS = ("model", "point", "feature")

# A column whose standard deviation is below this fraction of its mean magnitude is
# treated as constant (float64 cannot resolve variation that small anyway).
_CONST_RTOL = 1e-12


def _single_thread_blas():
    """Context limiting BLAS to one thread (threadpoolctl, a scikit-learn dependency)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def pca_project(acts: np.ndarray, k: int, center: bool = False) -> np.ndarray:
    """Project one model's activations on its top-``k`` principal directions.

    ``acts`` is Φ (N, d). With the SVD ``Φ = U Σ Vᵀ`` the result is
    ``υ = Φ V[:, :k] = U[:, :k] Σ[:k]`` (N, k), float64, components in decreasing order of
    singular value (paper §3.1). With ``center=True`` the column means are subtracted
    first and the centred data are projected (default: no centring, as the paper's text does).

    Computation: the d × d Gram matrix ``ΦᵀΦ`` in float64 (one BLAS ``syrk``) and its top-k
    eigenvectors — the right singular vectors — then one (N × d)·(d × k) product. Cost
    O(N d² / 2); about 0.1 s for N = 10,000, d = 512.

    Sign convention (deterministic): each direction ``V[:, c]`` is flipped so that its
    loading of largest magnitude is positive (first such index on ties).

    Raises ValueError when ``k`` exceeds d or N, or when Φ has numerical rank below ``k``
    (eigenvalue of ``ΦᵀΦ`` ≤ λ_max · max(N, d) · eps, i.e. singular value below about
    σ_max · sqrt(max(N, d) · eps)); the message names N, d, k and the rank found.
    """
    x = np.asarray(acts)
    if x.ndim != 2:
        raise ValueError(f"activations must be 2-D (N points × d dims), got shape {x.shape}")
    n, d = x.shape
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k > d:
        raise ValueError(f"k={k} principal components requested but the activations have only "
                         f"d={d} dimensions (N={n} points); lower k to at most {d}")
    if k > n:
        raise ValueError(f"k={k} principal components requested but there are only N={n} points "
                         f"(d={d}); lower k to at most {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("activations contain NaN or infinite values")
    x64 = np.array(x, dtype=np.float64, order="C", copy=True)
    if center:
        x64 -= x64.mean(axis=0)
    # x64.T is F-contiguous (d, N): syrk computes x64.T @ x64 (upper triangle) without a copy.
    gram = dsyrk(1.0, x64.T)
    # A 512 × 512 eigenproblem is too small for multithreaded BLAS: on a busy machine
    # its threads' spin-waiting costs up to 100× (seen: 3 s instead of 30 ms).
    with _single_thread_blas():
        w, v = scipy.linalg.eigh(gram, lower=False, subset_by_index=[d - k, d - 1],
                                 check_finite=False)
    w, v = w[::-1], v[:, ::-1]  # decreasing eigenvalue
    wmax = float(w[0])
    tol = max(wmax, 0.0) * max(n, d) * np.finfo(np.float64).eps
    if not wmax > 0 or w[-1] <= tol:
        rank = int(np.sum(w > tol)) if wmax > 0 else 0
        raise ValueError(f"activations (N={n}, d={d}) have numerical rank {rank}"
                         f"{'' if rank < k else '+'} < k={k} after "
                         f"{'centring' if center else 'no centring'}; lower k to at most {rank}")
    idx = np.argmax(np.abs(v), axis=0)
    signs = np.sign(v[idx, np.arange(k)])
    v = v * signs
    return x64 @ v


def correlation_tensor(proj: np.ndarray) -> np.ndarray:
    """Absolute Pearson correlations Λ (paper eqs. 1-2).

    ``proj`` is (M, N, K): the projections υ_m of M models on the same N points.
    Returns ``Λ[i, j, a, b] = |corr over n of proj[i, n, a] and proj[j, n, b]|`` as a
    float64 (M, M, K, K) array with entries in [0, 1].

    Every column is standardised once (population mean and standard deviation) and Λ is
    one (M·K × N)·(N × M·K) product divided by N. A constant column (standard deviation 0,
    or below 1e-12 of its mean's magnitude) has correlation 0 with everything, itself
    included (the Pearson correlation is undefined there); every other diagonal entry
    ``Λ[i, i, a, a]`` is exactly 1.
    """
    p = np.asarray(proj, dtype=np.float64)
    if p.ndim != 3:
        raise ValueError(f"projections must be (M models, N points, K components), got shape {p.shape}")
    m, n, k = p.shape
    if n < 2:
        raise ValueError(f"need at least 2 points to correlate, got N={n}")
    if not np.all(np.isfinite(p)):
        raise ValueError("projections contain NaN or infinite values")
    z = np.ascontiguousarray(p.transpose(1, 0, 2)).reshape(n, m * k)  # column i*K+a
    mu = z.mean(axis=0)
    z -= mu
    sd = np.sqrt(np.einsum("ij,ij->j", z, z) / n)
    const = (sd == 0) | (sd <= _CONST_RTOL * np.abs(mu))
    scale = np.where(const, np.inf, sd)
    z /= scale  # constant columns become 0
    c = dsyrk(1.0 / n, z.T)  # (MK, MK), upper triangle
    c = np.triu(c)
    c = c + np.triu(c, 1).T
    np.abs(c, out=c)
    np.minimum(c, 1.0, out=c)
    np.fill_diagonal(c, np.where(const, 0.0, 1.0))
    return np.ascontiguousarray(c.reshape(m, k, m, k).transpose(0, 2, 1, 3))


def gamma_corr(abs_corr: np.ndarray, percentile: float = 90.0,
               fixed: float | None = None, floor: float | None = None) -> float:
    """Correlation threshold γcorr (Algorithm 1's threshold).

    Default: the ``percentile``-th percentile (numpy's linear interpolation) of all
    M·M·K·K entries of Λ, the diagonal blocks and self-correlations included. With
    ``fixed`` (e.g. 0.5 or 0.7, paper App. F.10) that value is returned unchanged.
    With ``floor`` (e.g. :func:`correlation_noise_floor`) the percentile is raised to at
    least ``floor``: when most of the K components are noise the 90th percentile of Λ is
    itself a chance correlation, and every feature would cluster with noise.
    """
    if fixed is not None:
        g = float(fixed)
        if not np.isfinite(g):
            raise ValueError(f"fixed gamma_corr must be finite, got {fixed}")
        return g
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
    g = float(np.percentile(np.asarray(abs_corr, dtype=np.float64), percentile))
    if floor is not None:
        f = float(floor)
        if not 0 <= f < 1:
            raise ValueError(f"gamma_corr floor must lie in [0, 1), got {floor}")
        g = max(g, f)
    return g


def correlation_noise_floor(n: int, tests: int, alpha: float = 0.05) -> float:
    """The |Pearson r| that ``tests`` pairs of independent columns over ``n`` points exceed
    by chance with probability about ``alpha`` in all (family-wise, Bonferroni):
    ``tanh(z_{1 − α/(2·tests)} / sqrt(n − 3))`` (Fisher's z, r ≈ N(atanh ρ, 1/(n − 3))).

    For Λ, ``tests`` = M(M − 1)/2 · K², the pairs of components of two different models:
    a γcorr below this floor lets chance correlations merge features. N = 1000, M = 20,
    K = 10: 0.148. One test at α = 0.1 (the 90th percentile of the |r| of noise):
    1.645 / sqrt(997) ≈ 0.052.
    """
    import scipy.stats

    n, tests = int(n), int(tests)
    if n < 4:
        raise ValueError(f"the noise floor needs n ≥ 4 points, got {n}")
    if tests < 1:
        raise ValueError(f"tests must be ≥ 1, got {tests}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    z = scipy.stats.norm.isf(alpha / (2.0 * tests))
    return float(np.tanh(z / np.sqrt(n - 3.0)))


def k_share(d: int, share: float = 50 / 512) -> int:
    """K as a share of the layer's width d: ``max(1, round(share · d))``; the paper's 50 of
    ResNet18's 512 dimensions (App. E) by default (d = 64 → 6)."""
    d = int(d)
    if d < 1:
        raise ValueError(f"d must be ≥ 1, got {d}")
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    return max(1, min(d, int(round(share * d))))


def linear_head(acts: np.ndarray, logits: np.ndarray, rtol: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """The final linear layer ``logits = acts · W + b`` recovered from one model's
    activations and logits by least squares: (W (d, C), b (C,)). Raises ValueError when the
    logits are not an affine function of the activations (relative residual above ``rtol``:
    the layer is not the one the linear layer reads)."""
    a = np.asarray(acts, dtype=np.float64)
    lg = np.asarray(logits, dtype=np.float64)
    if a.ndim != 2 or lg.ndim != 2 or a.shape[0] != lg.shape[0]:
        raise ValueError(f"activations (N, d) and logits (N, C) needed, got {a.shape} and {lg.shape}")
    x = np.c_[a, np.ones(a.shape[0])]
    coef, *_ = np.linalg.lstsq(x, lg, rcond=None)
    resid = np.linalg.norm(x @ coef - lg) / max(np.linalg.norm(lg - lg.mean(0)), 1e-300)
    if not resid <= rtol:
        raise ValueError(f"the logits are not affine in these activations (relative residual {resid:.3g} > "
                         f"{rtol:g}): the paper's K rule needs the layer the linear classifier reads (penultimate)")
    return coef[:-1], coef[-1]


def projected_accuracy(acts: np.ndarray, logits: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """(accuracy of the linear head on the whole representation, on its projection on the
    top-``k`` principal directions, ``φ V_k V_kᵀ``), the directions of :func:`pca_project`
    (no centring)."""
    a = np.asarray(acts, dtype=np.float64)
    y = np.asarray(labels)
    w, b = linear_head(a, logits)
    _, _, vt = np.linalg.svd(a, full_matrices=False)
    v = vt[:int(k)].T
    full = float(np.mean((a @ w + b).argmax(1) == y))
    proj = float(np.mean(((a @ v) @ (v.T @ w) + b).argmax(1) == y))
    return full, proj


def k_retaining_accuracy(acts_list: Sequence[np.ndarray], logits_list: Sequence[np.ndarray], labels: np.ndarray,
                         tolerance: float = 0.01, k_max: int | None = None) -> int:
    """The paper's rule for K (App. E.2): "the number where after projecting every activation
    vector onto the principal components, the linear layer can classify the projected
    representation with approximately the same accuracy as the representation before
    projection". The smallest K at which every model's head, read off its logits by
    :func:`linear_head`, classifies the projection ``φ V_K V_Kᵀ`` within ``tolerance`` of its
    accuracy on φ (one K for the ensemble: Λ needs one). Searched up to ``k_max`` (default:
    the narrowest width); returns that bound when no smaller K retains the accuracy.
    """
    if len(acts_list) == 0 or len(acts_list) != len(logits_list):
        raise ValueError("need one logits array per model's activations, and at least one model")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance must lie in [0, 1), got {tolerance}")
    y = np.asarray(labels)
    top = min(np.shape(a)[1] for a in acts_list) if k_max is None else int(k_max)
    need = 1
    for a, lg in zip(acts_list, logits_list):
        a = np.asarray(a, dtype=np.float64)
        w, b = linear_head(a, lg)
        full = float(np.mean((a @ w + b).argmax(1) == y))
        _, _, vt = np.linalg.svd(a, full_matrices=False)
        vw = vt @ w  # (d, C): the head read through each principal direction
        k_m = top
        for k in range(need, top + 1):
            if float(np.mean(((a @ vt[:k].T) @ vw[:k] + b).argmax(1) == y)) >= full - tolerance:
                k_m = k
                break
        need = max(need, k_m)
    return int(need)


def _check_lambda(abs_corr: np.ndarray) -> np.ndarray:
    lam = np.asarray(abs_corr, dtype=np.float64)
    if lam.ndim != 4 or lam.shape[0] != lam.shape[1] or lam.shape[2] != lam.shape[3]:
        raise ValueError(f"abs_corr must have shape (M, M, K, K), got {lam.shape}")
    return lam


def cluster_features(abs_corr: np.ndarray, gamma: float) -> np.ndarray:
    """Greedy feature clustering, paper Algorithm 1 with its indices restored.

    Features (m, k) are visited in (model, component) order. An unassigned feature opens a
    new cluster and becomes its seed. The seed (i, j) then claims, in every model p (its
    own included), every component q with

        Λ[i, p, j, q] > gamma   and   Λ[i, p, j, q] > best[p, q]   (both strict),

    where ``best[p, q]`` is the largest Λ that (p, q) has been claimed with so far (−1
    initially, as in the paper). A later seed can therefore take a feature over by
    correlating more strongly with it. Seeds are locked: a seed is never taken over (with a
    symmetric Λ its own entry 1 already prevents it; the lock also covers a constant column,
    whose self-Λ is 0, and asymmetric user-supplied Λ). A feature claimed before it is
    visited is not visited as a seed. Each seed reads its own row ``Λ[i, :, j, :]``.

    Returns (M, K) int64 cluster ids, 0-based, numbered in seed order; T = ids.max() + 1
    is the number of seeds, and every cluster keeps at least its seed. NaN entries of Λ
    never claim. Vectorised over (p, q) for each seed: O(M K) seeds × O(M K) work in NumPy.
    """
    return _cluster(abs_corr, gamma)[0]


def _cluster(abs_corr: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    lam = _check_lambda(abs_corr)
    m, _, k, _ = lam.shape
    g = float(gamma)
    mk = m * k
    # rows[s] with s = i*K + j is Λ[i, :, j, :] flattened over (p, q): the seed's row.
    rows = np.ascontiguousarray(lam.transpose(0, 2, 1, 3)).reshape(mk, mk)
    assign = np.full(mk, -1, dtype=np.int64)
    # thr[f] = max(γ, best Λ f was claimed with), +inf on seeds (locked). Since a claim
    # needs Λ > γ, "Λ > γ and Λ > best" is "Λ > thr", and after a claim thr = Λ.
    thr = np.full(mk, max(g, -1.0))
    claim = np.empty(mk, dtype=bool)
    t = 0
    for s in range(mk):
        if assign[s] >= 0:
            continue
        assign[s] = t
        thr[s] = np.inf
        row = rows[s]
        np.greater(row, thr, out=claim)
        np.copyto(assign, t, where=claim)
        np.copyto(thr, row, where=claim)
        t += 1
    return assign.reshape(m, k), np.isinf(thr).reshape(m, k)


def cluster_seeds(abs_corr: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cluster_features` and its seeds: (clusters (M, K) int64, seeds (M, K) bool),
    ``seeds[m, k]`` true iff feature (m, k) opened a cluster (one seed per cluster)."""
    return _cluster(abs_corr, gamma)


def seed_shares(seeds: np.ndarray) -> np.ndarray:
    """(M,) share of all clusters that each model's features seeded (Algorithm 1's first-model
    bias: visiting models in order, model 0 seeds a cluster for each of its K features, later
    models only for what the earlier ones did not claim)."""
    s = np.asarray(seeds, dtype=bool)
    if s.ndim != 2:
        raise ValueError(f"seeds must be (M, K), got shape {s.shape}")
    total = s.sum()
    return s.sum(axis=1) / total if total else np.zeros(s.shape[0])


def cluster_features_in_order(abs_corr: np.ndarray, gamma: float, order: Sequence[int]) -> np.ndarray:
    """Algorithm 1 visiting the models in ``order`` (a permutation of 0..M−1) instead of
    0, 1, …; returns (M, K) cluster ids indexed by the *original* model labels (cluster ids
    numbered in the order's seed order)."""
    lam = _check_lambda(abs_corr)
    o = np.asarray(order, dtype=np.int64)
    if o.shape != (lam.shape[0],) or not np.array_equal(np.sort(o), np.arange(lam.shape[0])):
        raise ValueError(f"order must be a permutation of 0..{lam.shape[0] - 1}, got {list(o)}")
    c = cluster_features(lam[np.ix_(o, o)], gamma)
    out = np.empty_like(c)
    out[o] = c
    return out


def cluster_features_loops(abs_corr: np.ndarray, gamma: float) -> np.ndarray:
    """Loop-by-loop pure-Python reference of :func:`cluster_features` (same semantics).

    Written as Algorithm 1 reads, one comparison at a time, on Python lists
    (Λ is converted with ``tolist`` first so the baseline is plain Python, not NumPy
    scalar indexing). Used by the tests and as the benchmark baseline.
    """
    lam = _check_lambda(abs_corr)
    m, _, k, _ = lam.shape
    g = float(gamma)
    L = lam.tolist()
    assignment = [[-1] * k for _ in range(m)]
    maximum = [[-1.0] * k for _ in range(m)]
    is_seed = [[False] * k for _ in range(m)]
    current = 0
    for i in range(m):
        for j in range(k):
            if assignment[i][j] != -1:
                continue
            assignment[i][j] = current
            is_seed[i][j] = True
            for p in range(m):
                feature_row = L[i][p][j]
                for q in range(k):
                    if is_seed[p][q]:
                        continue
                    value = feature_row[q]
                    if value > maximum[p][q] and value > g:
                        assignment[p][q] = current
                        maximum[p][q] = value
            current += 1
    return np.array(assignment, dtype=np.int64).reshape(m, k)


def numerical_rank(acts: np.ndarray, center: bool = False) -> int:
    """Rank with :func:`pca_project`'s tolerance: a direction counts
    when its eigenvalue σ² exceeds σ²_max · max(N, d) · eps."""
    x = np.asarray(acts, dtype=np.float64)
    x = x - x.mean(axis=0) if center else x
    w = np.linalg.svd(x, compute_uv=False) ** 2
    return int((w > w.max() * max(x.shape) * np.finfo(np.float64).eps).sum()) if w.size and w.max() > 0 else 0


def normalize_columns(proj: np.ndarray) -> np.ndarray:
    """ℓ∞-normalise every column υ_m[:, k] over the N points, sign kept.

    Accepts (M, N, K) or a single model's (N, K); divides each column by its maximum
    absolute value over the points axis (axis −2), so values lie in [−1, 1]. An all-zero
    column stays zero. Returns float64.
    """
    p = np.asarray(proj, dtype=np.float64)
    if p.ndim not in (2, 3):
        raise ValueError(f"projections must be (N, K) or (M, N, K), got shape {p.shape}")
    peak = np.max(np.abs(p), axis=-2, keepdims=True)
    return p / np.where(peak > 0, peak, 1.0)


def gamma_data(normed: np.ndarray, percentile: float = 90.0,
               per_model: bool = False) -> float | np.ndarray:
    """Presence threshold γdata (§3.2).

    The ``percentile``-th percentile of all normalised entries (signed values) of all
    models pooled — a float — or, with ``per_model=True``, one percentile per model over
    its N·K entries — an (M,) float64 array.
    """
    x = np.asarray(normed, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"normalised projections must be (M, N, K), got shape {x.shape}")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
    if per_model:
        return np.percentile(x.reshape(x.shape[0], -1), percentile, axis=1)
    return float(np.percentile(x, percentile))


def _gamma_per_model(gamma_data_: float | np.ndarray, m: int) -> np.ndarray:
    g = np.asarray(gamma_data_, dtype=np.float64)
    if g.ndim == 0:
        return np.full(m, float(g))
    if g.shape != (m,):
        raise ValueError(f"gamma_data must be a scalar or shape ({m},), got {g.shape}")
    return g


def _check_clusters(clusters: np.ndarray, m: int, k: int) -> np.ndarray:
    c = np.asarray(clusters)
    if c.shape != (m, k):
        raise ValueError(f"clusters must have shape ({m}, {k}), got {c.shape}")
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"clusters must be integers, got dtype {c.dtype}")
    if c.size and c.min() < 0:
        raise ValueError("clusters contain negative ids")
    return c.astype(np.int64)


def _triplet_frame(model: np.ndarray, point: np.ndarray, feature: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"model": model.astype(np.int32), "point": point.astype(np.int32),
                         "feature": feature.astype(np.int32)})


def interaction_tensor(normed: np.ndarray, clusters: np.ndarray,
                       gamma_data: float | np.ndarray) -> pd.DataFrame:
    """Sparse interaction tensor Ω (paper §3.2).

    ``Ω[m, n, t] = 1`` iff some component k of model m with ``clusters[m, k] == t`` has
    ``normed[m, n, k] > gamma_data`` (strict; ``gamma_data`` a scalar or one per model).
    Returns the nonzero entries as a DataFrame with int32 columns ``model``, ``point``,
    ``feature``, deduplicated and sorted by (model, point, feature).
    T (the tensor's third size) is not stored here: it is ``clusters.max() + 1``.
    """
    x = np.asarray(normed)
    if x.ndim != 3:
        raise ValueError(f"normalised projections must be (M, N, K), got shape {x.shape}")
    m, n, k = x.shape
    c = _check_clusters(clusters, m, k)
    g = _gamma_per_model(gamma_data, m)
    parts_m, parts_n, parts_t = [], [], []
    for mi in range(m):
        # group model mi's components by cluster id (ascending), OR their presence masks
        order = np.argsort(c[mi], kind="stable")
        cs = c[mi, order]
        starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
        present = np.greater(x[mi], g[mi])[:, order]  # (N, K) bool
        if starts.size < k:
            present = np.logical_or.reduceat(present, starts, axis=1)
        nn, jj = np.nonzero(present)  # row-major: sorted by point, then cluster id
        parts_m.append(np.full(nn.size, mi, dtype=np.int32))
        parts_n.append(nn.astype(np.int32))
        parts_t.append(cs[starts][jj].astype(np.int32))
    if not parts_m:
        return _triplet_frame(*(np.zeros(0, np.int32),) * 3)
    return _triplet_frame(np.concatenate(parts_m), np.concatenate(parts_n), np.concatenate(parts_t))


def interaction_tensor_loops(normed: np.ndarray, clusters: np.ndarray,
                             gamma_data: float | np.ndarray) -> pd.DataFrame:
    """Loop-by-loop pure-Python reference of :func:`interaction_tensor` (tests, benchmark)."""
    x = np.asarray(normed)
    m, n, k = x.shape
    c = _check_clusters(clusters, m, k).tolist()
    g = _gamma_per_model(gamma_data, m).tolist()
    present = set()
    for mi in range(m):
        rows = x[mi].tolist()
        gm = g[mi]
        cm = c[mi]
        for ni in range(n):
            row = rows[ni]
            for ki in range(k):
                if row[ki] > gm:
                    present.add((mi, ni, cm[ki]))
    trip = np.array(sorted(present), dtype=np.int64).reshape(-1, 3)
    return _triplet_frame(trip[:, 0], trip[:, 1], trip[:, 2])


class OmegaFile(NamedTuple):
    """What :func:`read_omega` returns."""

    triplets: pd.DataFrame
    M: int
    N: int
    T: int
    meta: dict[str, Any]


def triplet_arrays(triplets: pd.DataFrame | Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    """Ω's triplets as three int64 arrays ``(model, point, feature)`` (a DataFrame, a mapping
    of the three columns, or an :class:`OmegaFile`)."""
    if isinstance(triplets, OmegaFile):
        triplets = triplets.triplets
    try:
        return tuple(np.asarray(triplets[c], dtype=np.int64) for c in TRIPLET_COLUMNS)
    except KeyError as e:
        raise ValueError(f"triplets need the columns {TRIPLET_COLUMNS}") from e


_triplet_arrays = triplet_arrays   # the former private name, for the interaction study's modules


def _check_range(name: str, a: np.ndarray, size: int) -> None:
    if a.size and (a.min() < 0 or a.max() >= size):
        raise ValueError(f"{name} ids must lie in [0, {size}), got [{a.min()}, {a.max()}]")


def omega_to_dense(triplets: pd.DataFrame | Mapping[str, Any], M: int, N: int, T: int) -> np.ndarray:
    """Dense boolean Ω (M, N, T) from triplets — for small cases and tests."""
    mm, nn, tt = _triplet_arrays(triplets)
    for name, a, s in (("model", mm, M), ("point", nn, N), ("feature", tt, T)):
        _check_range(name, a, s)
    out = np.zeros((M, N, T), dtype=bool)
    out[mm, nn, tt] = True
    return out


@dataclass
class InteractionResult:
    """Everything :func:`build_interaction` computes (§3, Algorithm 1)."""

    proj: np.ndarray          # (M, N, K) projections υ
    abs_corr: np.ndarray      # (M, M, K, K) Λ
    gamma_corr: float
    clusters: np.ndarray      # (M, K) int64 cluster ids
    normed: np.ndarray        # (M, N, K) ℓ∞-normalised projections
    gamma_data: float | np.ndarray
    omega: pd.DataFrame       # triplets model, point, feature
    T: int

    @property
    def M(self) -> int:
        return int(self.proj.shape[0])

    @property
    def N(self) -> int:
        return int(self.proj.shape[1])

    @property
    def K(self) -> int:
        return int(self.proj.shape[2])


def build_interaction(acts_list: Sequence[np.ndarray], k: int = 50, center: bool = False,
                      gamma_corr_fixed: float | None = None, corr_percentile: float = 90,
                      data_percentile: float = 90, per_model_data: bool = False,
                      gamma_corr_floor_alpha: float | None = None) -> InteractionResult:
    """Build Ω end to end from M models' (N, d_m) activations on the same N points.

    PCA (:func:`pca_project`) → Λ (:func:`correlation_tensor`) → γcorr
    (:func:`gamma_corr`) → clusters (:func:`cluster_features`) → normalisation and γdata
    → Ω triplets (:func:`interaction_tensor`). The d_m may differ between models.
    ``gamma_corr_floor_alpha``: raise the percentile γcorr to at least
    :func:`correlation_noise_floor` (N, M(M − 1)/2 · K², that α); None: no floor.
    """
    if len(acts_list) == 0:
        raise ValueError("need at least one model's activations")
    ns = {np.shape(a)[0] for a in acts_list}
    if len(ns) != 1:
        raise ValueError(f"all models must be evaluated on the same points, got N in {sorted(ns)}")
    proj = np.stack([pca_project(a, k, center=center) for a in acts_list])
    lam = correlation_tensor(proj)
    m_, n_, k_ = proj.shape
    floor = (None if gamma_corr_floor_alpha is None or m_ < 2 else
             correlation_noise_floor(n_, m_ * (m_ - 1) // 2 * k_ * k_, gamma_corr_floor_alpha))
    gc = gamma_corr(lam, corr_percentile, gamma_corr_fixed, floor=floor)
    clusters = cluster_features(lam, gc)
    normed = normalize_columns(proj)
    gd = gamma_data(normed, data_percentile, per_model=per_model_data)
    omega = interaction_tensor(normed, clusters, gd)
    return InteractionResult(proj, lam, gc, clusters, normed, gd, omega, int(clusters.max()) + 1)
