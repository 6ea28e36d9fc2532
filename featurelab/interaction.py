"""The interaction tensor of paper 000 (Jiang et al. 2024, §3, Algorithm 1; SPEC 4).

For M models evaluated on the same N points:

1. :func:`pca_project` — per model, ``υ_m = Φ_m V[:, :K]`` from the SVD ``Φ_m = U Σ Vᵀ``
   of its (N, d) activations (SPEC 4.1; paper §3.1).
2. :func:`correlation_tensor` — ``Λ[i, j, a, b] = |corr_n(υ_i[:, a], υ_j[:, b])|``, shape
   (M, M, K, K) (SPEC 4.2; paper eqs. 1-2).
3. :func:`gamma_corr` — the 90th percentile of all entries of Λ, or a fixed value (SPEC 4.3).
4. :func:`cluster_features` — greedy clustering, Algorithm 1 with its indices restored
   (SPEC 4.4); :func:`cluster_features_loops` is the loop-by-loop reference.
5. :func:`normalize_columns`, :func:`gamma_data` — ℓ∞ column normalisation and the
   presence threshold γdata (SPEC 4.5).
6. :func:`interaction_tensor` — the sparse triplets of ``Ω[m, n, t]`` (SPEC 4.6), with
   :func:`write_omega` / :func:`read_omega` (Parquet) and :func:`omega_to_dense`.

:func:`build_interaction` runs steps 1-6. The per-point / per-pair quantities behind
the figures (SPEC 4, "Quantities behind the figures") follow: :func:`confidence`,
:func:`features_per_point`, :func:`feature_frequency`, :func:`models_per_feature`,
:func:`shared_features`, :func:`shared_error`, :func:`similarity` and
:func:`similarity_matrix`.

Triplets are a :class:`pandas.DataFrame` with int32 columns ``model``, ``point`` and
``feature`` (deduplicated, sorted by model, point, feature). Functions taking triplets
also accept any mapping with those three keys (e.g. a dict of arrays).
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk

__all__ = [
    "pca_project", "correlation_tensor", "gamma_corr", "cluster_features",
    "cluster_features_loops", "normalize_columns", "gamma_data", "interaction_tensor",
    "interaction_tensor_loops", "omega_to_dense", "write_omega", "read_omega", "OmegaFile",
    "InteractionResult", "build_interaction", "confidence", "features_per_point",
    "feature_frequency", "models_per_feature", "model_feature_matrix", "shared_features",
    "shared_error", "mantel_test", "similarity", "incidence_matrix", "similarity_matrix", "TRIPLET_COLUMNS",
]

TRIPLET_COLUMNS = ("model", "point", "feature")
META_KEY = b"featurelab"

# A column whose standard deviation is below this fraction of its mean magnitude is
# treated as constant (float64 cannot resolve variation that small anyway).
_CONST_RTOL = 1e-12


# --------------------------------------------------------------------------- 1. PCA

def _single_thread_blas():
    """Context limiting BLAS to one thread (threadpoolctl, a scikit-learn dependency)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def pca_project(acts: np.ndarray, k: int, center: bool = False) -> np.ndarray:
    """Project one model's activations on its top-``k`` principal directions (SPEC 4.1).

    ``acts`` is Φ (N, d). With the SVD ``Φ = U Σ Vᵀ`` the result is
    ``υ = Φ V[:, :k] = U[:, :k] Σ[:k]`` (N, k), float64, components in decreasing order of
    singular value (paper §3.1). With ``center=True`` the column means are subtracted
    first and the centred data are projected (SPEC 9: default no centring, the paper's text).

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


# --------------------------------------------------------------------------- 2. Λ

def correlation_tensor(proj: np.ndarray) -> np.ndarray:
    """Absolute Pearson correlations Λ (SPEC 4.2; paper eqs. 1-2).

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
               fixed: float | None = None) -> float:
    """Correlation threshold γcorr (SPEC 4.3, SPEC 9).

    Default: the ``percentile``-th percentile (numpy's linear interpolation) of all
    M·M·K·K entries of Λ, the diagonal blocks and self-correlations included. With
    ``fixed`` (e.g. 0.5 or 0.7, paper App. F.10) that value is returned unchanged.
    """
    if fixed is not None:
        g = float(fixed)
        if not np.isfinite(g):
            raise ValueError(f"fixed gamma_corr must be finite, got {fixed}")
        return g
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must lie in [0, 100], got {percentile}")
    return float(np.percentile(np.asarray(abs_corr, dtype=np.float64), percentile))


# --------------------------------------------------------------------------- 3. clustering

def _check_lambda(abs_corr: np.ndarray) -> np.ndarray:
    lam = np.asarray(abs_corr, dtype=np.float64)
    if lam.ndim != 4 or lam.shape[0] != lam.shape[1] or lam.shape[2] != lam.shape[3]:
        raise ValueError(f"abs_corr must have shape (M, M, K, K), got {lam.shape}")
    return lam


def cluster_features(abs_corr: np.ndarray, gamma: float) -> np.ndarray:
    """Greedy feature clustering, paper Algorithm 1 with its indices restored (SPEC 4.4).

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
    return assign.reshape(m, k)


def cluster_features_loops(abs_corr: np.ndarray, gamma: float) -> np.ndarray:
    """Loop-by-loop pure-Python reference of :func:`cluster_features` (same semantics).

    Written as Algorithm 1 reads (SPEC 4.4), one comparison at a time, on Python lists
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


# --------------------------------------------------------------------------- 4. normalisation

def normalize_columns(proj: np.ndarray) -> np.ndarray:
    """ℓ∞-normalise every column υ_m[:, k] over the N points, sign kept (SPEC 4.5).

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
    """Presence threshold γdata (SPEC 4.5, SPEC 9).

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


# --------------------------------------------------------------------------- 5. Ω

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
    """Sparse interaction tensor Ω (SPEC 4.6; paper §3.2).

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


def _triplet_arrays(triplets: pd.DataFrame | Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    if isinstance(triplets, OmegaFile):
        triplets = triplets.triplets
    try:
        return tuple(np.asarray(triplets[c], dtype=np.int64) for c in TRIPLET_COLUMNS)
    except KeyError as e:
        raise ValueError(f"triplets need the columns {TRIPLET_COLUMNS}") from e


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


class OmegaFile(NamedTuple):
    """What :func:`read_omega` returns."""

    triplets: pd.DataFrame
    M: int
    N: int
    T: int
    meta: dict[str, Any]


def write_omega(path: str | os.PathLike, triplets: pd.DataFrame | Mapping[str, Any],
                M: int, N: int, T: int, meta: Mapping[str, Any] | None = None) -> Path:
    """Write Ω triplets to Parquet atomically (temporary name, then rename).

    Columns ``model``, ``point``, ``feature`` (int32, not null). The schema's key-value
    metadata holds ``M``, ``N``, ``T`` (decimal strings) and ``featurelab`` (``meta`` as a
    JSON object, e.g. γcorr, γdata, K, centring). Readable by pyarrow, pandas and DuckDB.
    """
    mm, nn, tt = _triplet_arrays(triplets)
    for name, a, s in (("model", mm, M), ("point", nn, N), ("feature", tt, T)):
        _check_range(name, a, s)
    if max(M, N, T) > np.iinfo(np.int32).max:
        raise ValueError("M, N and T must fit in int32")
    md = {b"M": str(int(M)).encode(), b"N": str(int(N)).encode(), b"T": str(int(T)).encode(),
          META_KEY: json.dumps(dict(meta or {}), sort_keys=True, default=_json_default).encode()}
    schema = pa.schema([pa.field(c, pa.int32(), nullable=False) for c in TRIPLET_COLUMNS],
                       metadata=md)
    table = pa.Table.from_arrays([pa.array(a.astype(np.int32)) for a in (mm, nn, tt)],
                                 schema=schema)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def read_omega(path: str | os.PathLike) -> OmegaFile:
    """Read a file written by :func:`write_omega`: (triplets DataFrame, M, N, T, meta)."""
    table = pq.read_table(path)
    md = table.schema.metadata or {}
    missing = [k.decode() for k in (b"M", b"N", b"T") if k not in md]
    if missing:
        raise ValueError(f"{path}: not an Ω file, metadata lacks {missing}")
    df = pd.DataFrame({c: table.column(c).to_numpy().astype(np.int32) for c in TRIPLET_COLUMNS})
    meta = json.loads(md[META_KEY]) if META_KEY in md else {}
    return OmegaFile(df, int(md[b"M"]), int(md[b"N"]), int(md[b"T"]), meta)


# --------------------------------------------------------------------------- pipeline

@dataclass
class InteractionResult:
    """Everything :func:`build_interaction` computes (SPEC 4.1-4.6)."""

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
                      data_percentile: float = 90, per_model_data: bool = False) -> InteractionResult:
    """Build Ω end to end from M models' (N, d_m) activations on the same N points.

    PCA (:func:`pca_project`) → Λ (:func:`correlation_tensor`) → γcorr
    (:func:`gamma_corr`) → clusters (:func:`cluster_features`) → normalisation and γdata
    → Ω triplets (:func:`interaction_tensor`). The d_m may differ between models.
    """
    if len(acts_list) == 0:
        raise ValueError("need at least one model's activations")
    ns = {np.shape(a)[0] for a in acts_list}
    if len(ns) != 1:
        raise ValueError(f"all models must be evaluated on the same points, got N in {sorted(ns)}")
    proj = np.stack([pca_project(a, k, center=center) for a in acts_list])
    lam = correlation_tensor(proj)
    gc = gamma_corr(lam, corr_percentile, gamma_corr_fixed)
    clusters = cluster_features(lam, gc)
    normed = normalize_columns(proj)
    gd = gamma_data(normed, data_percentile, per_model=per_model_data)
    omega = interaction_tensor(normed, clusters, gd)
    return InteractionResult(proj, lam, gc, clusters, normed, gd, omega, int(clusters.max()) + 1)


# --------------------------------------------------------------------------- quantities

def confidence(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """confidence(n) = fraction of the M models whose prediction at n is correct (SPEC 4).

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
    """nfeat(n) = |Ψ(n)|, Ψ(n) = {t : Σ_m Ω[m, n, t] > 0} (SPEC 4). Returns (N,) int64."""
    _, nn, tt = _triplet_arrays(triplets)
    _check_range("point", nn, N)
    t_size = int(tt.max()) + 1 if tt.size else 1
    pts, _ = _unique_pairs(nn, tt, t_size)
    return np.bincount(pts, minlength=N).astype(np.int64)


def feature_frequency(triplets: pd.DataFrame | Mapping[str, Any], T: int) -> np.ndarray:
    """freq(t) = number of points n with t ∈ Ψ(n) (SPEC 4, Fig 2b). Returns (T,) int64."""
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


def shared_error(predictions: np.ndarray, labels: np.ndarray,
                 mode: Literal["same_wrong", "both_wrong"] = "same_wrong") -> np.ndarray:
    """Pairwise shared error (SPEC 4, Fig 3c; SPEC 9), an (M, M) float64 matrix.

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
    """s(x1, x2) = 2|Ψ(x1) ∩ Ψ(x2)| / (|Ψ(x1)| + |Ψ(x2)|) (SPEC 4, Fig 9); 0.0 if both empty."""
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
