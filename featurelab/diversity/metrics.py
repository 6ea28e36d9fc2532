"""Pairwise diversity metrics of Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule
Them All: Overlapping Features of Training Methods" (ICLR 2022), pure NumPy (+ SciPy).

Notation: ``M`` models, ``N`` test points, ``K`` classes; ``probs`` is an ``(M, N, K)`` array of
*calibrated* class probabilities (temperature scaling on a held-out split, :func:`fit_temperatures`,
as in the paper's set-up), ``labels`` an ``(N,)`` integer array. A model's prediction is the
``np.argmax`` of its probabilities (ties resolve to the lowest class index) and its correctness
``c(n) = 1[pred(n) == label(n)]``.

Error inconsistency (Fig 1)
    ``EI(a, b) = mean_n 1[c_a(n) != c_b(n)]``, the fraction of test points where exactly one
    of the two models is correct (DESlib's ``disagreement_measure``; ``1 − c_obs`` of
    Geirhos et al., NeurIPS 2020). It obeys ``|acc_a − acc_b| <= EI <= min(acc_a + acc_b,
    2 − acc_a − acc_b)``: the *floor* ``|acc_a − acc_b|`` is the part an accuracy gap alone
    forces (the more accurate model is right where the other is not on at least that share of
    points), so the paper matches accuracies (74-78%); the *excess* ``EI − |acc_a − acc_b|``
    (:func:`ei_floor_excess`) is the inconsistency beyond it, twice the share of points where
    the less accurate model is right and the other wrong.

Ensemble gain and conversion rate (Fig 2)
    The two-model ensemble predicts ``argmax_k (p_a(n, k) + p_b(n, k)) / 2``; its accuracy
    minus the mean of the members' accuracies is the *gain*. The *conversion rate* is the
    fraction of the inconsistent points (``c_a != c_b``) that the ensemble gets right.

Specialisation (Figs 3-4)
    ``θ(n) = atan2(p_b(n), p_a(n))`` in degrees, where ``p_m(n)`` is the calibrated probability
    model ``m`` gives its own top-1 class (45° = equal confidence), histogrammed separately on
    the four correctness groups (:func:`angle_histograms`); per-subgroup (e.g. per-class)
    accuracy differences and their spread (:func:`group_accuracy_difference`,
    :func:`specialisation_spread`).

Greedy ensembling (Fig 5): :func:`greedy_ensemble`. Paired bootstrap over test points for
category means of EI, gain and conversion rate: :func:`paired_bootstrap`,
:func:`bootstrap_pair_metrics`.

All pairwise functions are vectorised over pairs (matrix products of the ``(M, N)`` correctness
matrix; the ensemble's argmax only where the two models' top-1 classes differ) and process
pairs in chunks so that 30 models × 10,000 points × 10 classes stay within a few tens of MB.
"""
from __future__ import annotations

from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

DEFAULT_ANGLE_BINS = np.linspace(0.0, 90.0, 19)
GROUPS = ("both_correct", "both_wrong", "only_i", "only_j")
_CHUNK_ELEMENTS = 1 << 22  # elements of the largest temporary (pairs × points × classes) per chunk


# ----------------------------------------------------------------------------- scalar metrics

def correctness(pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``pred == labels`` as a bool array (``pred`` of shape ``(..., N)``, ``labels`` ``(N,)``)."""
    return np.asarray(pred) == np.asarray(labels)


def error_inconsistency(pred_a: np.ndarray, pred_b: np.ndarray, labels: np.ndarray) -> float:
    """Error inconsistency (Gontijo-Lopes et al., ICLR 2022, Fig 1): the fraction of points where
    exactly one of the two models' (integer) predictions is correct."""
    ca, cb = correctness(pred_a, labels), correctness(pred_b, labels)
    return float(np.mean(ca != cb))


def ei_floor_excess(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[float, float, float]:
    """Error inconsistency, its floor ``|acc_a − acc_b|`` and its excess ``EI − |acc_a − acc_b|``
    (Gontijo-Lopes et al., ICLR 2022, Fig 1, with the accuracy gap taken out) from two models'
    correctness on the same points. With ``n10`` (only a right) and ``n01`` (only b right),
    EI = (n10 + n01)/N, |Δacc| = |n10 − n01|/N, so the excess is 2·min(n10, n01)/N ≥ 0."""
    ca, cb = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    ei = float(np.mean(ca != cb))
    floor = float(abs(ca.mean() - cb.mean()))
    return ei, floor, ei - floor


def conversion_rate(pred_a: np.ndarray, pred_b: np.ndarray, pred_ensemble: np.ndarray,
                    labels: np.ndarray) -> float:
    """Conversion rate (Gontijo-Lopes et al., ICLR 2022, Fig 2): among the points where exactly one
    of ``a``, ``b`` is correct, the fraction the ensemble predicts correctly. NaN when the two
    models are never inconsistent."""
    ca, cb = correctness(pred_a, labels), correctness(pred_b, labels)
    ce = correctness(pred_ensemble, labels)
    inconsistent = ca != cb
    n = int(np.count_nonzero(inconsistent))
    if n == 0:
        return float("nan")
    return float(np.count_nonzero(inconsistent & ce) / n)


def softmax(logits: np.ndarray, temperature: float | np.ndarray = 1.0) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature`` over the last axis (a temperature
    array broadcasts against the leading axes, e.g. shape ``(M, 1, 1)`` for ``(M, N, K)``)."""
    z = np.asarray(logits, dtype=np.result_type(logits, np.float32)) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top1_confidence(probs: np.ndarray) -> np.ndarray:
    """The probability a model gives its own top-1 class: ``max_k probs[..., k]``, shape ``(..., N)``."""
    return np.asarray(probs).max(axis=-1)


def specialisation_angle(conf_i: np.ndarray, conf_j: np.ndarray) -> np.ndarray:
    """``θ(n) = atan2(p_j(n), p_i(n))`` in degrees (Gontijo-Lopes et al., ICLR 2022, Figs 4-5),
    with ``p_m(n)`` the calibrated top-1 confidence of model ``m`` (:func:`top1_confidence`):
    45° is equal confidence, above 45° model ``j`` is the more confident."""
    return np.degrees(np.arctan2(np.asarray(conf_j, dtype=float), np.asarray(conf_i, dtype=float)))


# ----------------------------------------------------------------------------- temperature scaling

_T_BOUNDS = (1e-2, 1e2)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = _T_BOUNDS,
                    xatol: float = 1e-9) -> float:
    """Temperature scaling (Guo, Pleiss, Sun, Weinberger, ICML 2017), used by Gontijo-Lopes et
    al. (ICLR 2022) to calibrate every model on a held-out split: the ``T > 0`` minimising the
    mean negative log-likelihood of ``softmax(logits / T)`` (``logits`` ``(N, K)``).

    Bounded Brent search (``scipy.optimize.minimize_scalar``) on ``log T`` in ``log(bounds)``;
    the NLL is convex in ``1/T``, hence unimodal in ``log T``, so the search finds the global
    minimum (a minimum outside the bounds returns a temperature at the nearer bound)."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.intp)
    m = z.max(axis=1)
    zc = z - m[:, None]  # <= 0, so exp(zc / T) never overflows
    shift = float(np.mean(m - z[np.arange(len(y)), y]))  # mean(max - z_y) >= 0

    def nll(log_t: float) -> float:
        t = np.exp(log_t)
        return float(np.mean(np.log(np.exp(zc / t).sum(axis=1)))) + shift / t

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    res = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": xatol})
    return float(np.exp(res.x))


def fit_temperatures(logits: np.ndarray, labels: np.ndarray, bounds: tuple[float, float] = _T_BOUNDS,
                     rtol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """:func:`fit_temperature` for every model at once: ``logits`` ``(M, N, K)`` -> ``(M,)``.

    With ``β = 1/T`` the mean NLL ``f(β) = mean_n[logsumexp(β z_n) − β z_{n,y}]`` is convex,
    ``f'(β) = mean_n(E_{p_β}[z_n] − z_{n,y})`` and ``f''(β) = mean_n Var_{p_β}[z_n] >= 0``, so
    the optimum is the root of ``f'`` in ``[1/T_max, 1/T_min]`` (or the bound where ``f'`` has no
    sign change). Safeguarded Newton on all models together, from ``T = 1``: a Newton step that
    leaves the current bracket goes to the bracket's end if ``f'`` was not yet evaluated there,
    else is replaced by a geometric bisection of the bracket."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 3:
        raise ValueError(f"logits must be (M, N, K), got shape {z.shape}")
    y = np.asarray(labels, dtype=np.intp)
    zc = z - z.max(axis=2, keepdims=True)
    zy = np.take_along_axis(zc, y[None, :, None], axis=2)[..., 0]  # (M, N)
    M = z.shape[0]

    def derivatives(beta: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zi = zc if idx.size == M else zc[idx]
        p = np.exp(zi * beta[:, None, None])
        p /= p.sum(axis=2, keepdims=True)
        p *= zi
        ez = p.sum(axis=2)  # E_p[z]
        ez2 = np.einsum("mnk,mnk->mn", p, zi)  # E_p[z^2]
        g = (ez - (zy if idx.size == M else zy[idx])).mean(axis=1)
        h = np.maximum(ez2 - ez ** 2, 0.0).mean(axis=1)
        return g, h

    b_lo, b_hi = 1.0 / bounds[1], 1.0 / bounds[0]
    beta = np.empty(M)
    active = np.arange(M)
    lo, hi = np.full(M, b_lo), np.full(M, b_hi)  # the bracket; an end is "seen" once f' was evaluated there
    lo_seen, hi_seen = np.zeros(M, bool), np.zeros(M, bool)
    b = np.full(M, min(max(1.0, b_lo), b_hi))
    for _ in range(max_iter):
        if active.size == 0:
            break
        g, h = derivatives(b, active)
        lo, lo_seen = np.where(g < 0, b, lo), lo_seen | (g < 0)
        hi, hi_seen = np.where(g > 0, b, hi), hi_seen | (g > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = b - g / h
        newton = np.where(np.isfinite(newton), newton, np.where(g > 0, -np.inf, np.inf))
        # a Newton step beyond the bracket goes to that end if f' was never evaluated there (this is
        # how an optimum outside the bounds ends at the bound), else the bracket is bisected
        new = np.where(newton < lo, np.where(lo_seen, np.sqrt(lo * hi), lo),
                       np.where(newton > hi, np.where(hi_seen, np.sqrt(lo * hi), hi), newton))
        done = (np.abs(new - b) <= rtol * b) | (g == 0) | (hi - lo <= rtol * lo)
        beta[active[done]] = np.where(g[done] == 0, b[done], new[done])
        keep = ~done
        active, lo, hi, lo_seen, hi_seen, b = (x[keep] for x in (active, lo, hi, lo_seen, hi_seen, new))
    beta[active] = b
    return 1.0 / beta


# ----------------------------------------------------------------------------- pairs

def _pair_arrays(M: int, pairs) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)`` index arrays: all ``i < j`` by default; a 2-tuple is always read as ``(i, j)``
    (two index sequences), anything else (list, array) as ``(P, 2)`` pairs."""
    if pairs is None:
        i, j = np.triu_indices(M, 1)
    elif isinstance(pairs, tuple) and len(pairs) == 2:
        i, j = np.atleast_1d(pairs[0]), np.atleast_1d(pairs[1])
    else:
        arr = np.asarray(pairs).reshape(-1, 2)
        i, j = arr[:, 0], arr[:, 1]
    i, j = i.astype(np.intp), j.astype(np.intp)
    if i.ndim != 1 or i.shape != j.shape:
        raise ValueError(f"pairs: i and j must be 1-D of equal length, got shapes {i.shape} and {j.shape}")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= M):
        raise ValueError(f"pair indices must lie in [0, {M})")
    return i, j


def _chunks(P: int, per_pair: int) -> Iterator[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(per_pair, 1))
    for s in range(0, P, step):
        yield slice(s, min(P, s + step))


def _top1_and_margin(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per model and point: the argmax class and the gap between the largest and the second
    largest probability (0 for a tie at the top)."""
    pred = probs.argmax(axis=-1)
    K = probs.shape[-1]
    if K < 2:
        return pred, np.full(pred.shape, np.inf)
    part = np.partition(probs, K - 2, axis=-1)
    return pred, part[..., K - 1] - part[..., K - 2]


def _ensemble_pred_chunk(probs, pred, margin, tol, i, j) -> np.ndarray:
    """``argmax((p_i + p_j) / 2)`` for pairs ``(i, j)``, shape ``(P, N)``, exactly as np.argmax.

    Where both top-1 classes agree on ``c`` the sum's argmax is ``c`` too, as floating-point
    addition is monotone, unless rounding turns a strict inequality at a lower index into a tie;
    that needs the exact margins to sum to below about one ulp, so points with
    ``margin_i + margin_j <= tol`` are evaluated in full as well as those with differing top-1s."""
    pi, pj = pred[i], pred[j]
    need = (pi != pj) | (margin[i] + margin[j] <= tol)
    out = pi.copy()
    pp, nn = np.nonzero(need)
    if pp.size:
        s = (probs[i[pp], nn] + probs[j[pp], nn]) / 2
        out[pp, nn] = s.argmax(axis=-1)
    return out


def _margin_tol(probs: np.ndarray) -> float:
    eps = np.finfo(probs.dtype).eps if np.issubdtype(probs.dtype, np.floating) else np.finfo(float).eps
    return float(8 * eps * max(1.0, float(np.max(np.abs(probs))) if probs.size else 1.0))


def ensemble_correct(probs: np.ndarray, labels: np.ndarray, pairs=None) -> np.ndarray:
    """Correctness ``(P, N)`` of each pair's two-model ensemble ``argmax((p_i + p_j) / 2)``."""
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    i, j = _pair_arrays(probs.shape[0], pairs)
    pred, margin = _top1_and_margin(probs)
    tol = _margin_tol(probs)
    out = np.empty((i.size, probs.shape[1]), dtype=bool)
    for sl in _chunks(i.size, probs.shape[1] * probs.shape[2]):
        out[sl] = _ensemble_pred_chunk(probs, pred, margin, tol, i[sl], j[sl]) == labels
    return out


def pairwise_metrics(probs: np.ndarray, labels: np.ndarray, pairs=None, *,
                     return_correct: bool = False) -> dict[str, np.ndarray]:
    """Pairwise metrics of Gontijo-Lopes, Dauphin, Cubuk (ICLR 2022, Figs 1-3) for every
    pair of models, vectorised over pairs.

    ``probs`` ``(M, N, K)`` calibrated probabilities, ``labels`` ``(N,)``; ``pairs`` a list or array
    ``(P, 2)``, or a tuple ``(i, j)`` of two index arrays (a 2-tuple is always read this way);
    default all ``i < j``. Returns 1-D arrays over pairs:
    ``i``, ``j``; ``acc_i``, ``acc_j``; ``ei`` (error inconsistency), ``ei_floor`` (``|acc_i −
    acc_j|``) and ``ei_excess`` (``ei − ei_floor``); ``both_correct``,
    ``both_wrong``, ``only_i``, ``only_j`` (fractions of points); ``ens_acc`` (accuracy of
    ``argmax((p_i + p_j) / 2)``, np.argmax tie-breaking); ``gain = ens_acc − (acc_i + acc_j) / 2``;
    ``conversion`` (fraction of the inconsistent points the ensemble gets right; NaN without any).
    With ``return_correct`` also ``correct`` ``(M, N)`` and ``ens_correct`` ``(P, N)`` bool arrays
    (the inputs of :func:`bootstrap_pair_metrics`).

    Every fraction is an integer count divided by ``N``, so the values equal a naive per-pair loop
    with ``np.mean`` bit for bit."""
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    if probs.ndim != 3 or labels.shape != probs.shape[1:2]:
        raise ValueError(f"probs must be (M, N, K) and labels (N,), got {probs.shape} and {labels.shape}")
    M, N, K = probs.shape
    i, j = _pair_arrays(M, pairs)
    pred, margin = _top1_and_margin(probs)
    correct = pred == labels  # (M, N)
    cf = correct.astype(np.float64)
    n_correct = cf.sum(axis=1)
    n11_all = cf @ cf.T  # exact integer counts
    n11 = n11_all[i, j]
    ni, nj = n_correct[i], n_correct[j]
    n10, n01 = ni - n11, nj - n11
    n00 = N - ni - nj + n11
    n_incons = n10 + n01
    n_ens = np.empty(i.size)
    n_conv = np.empty(i.size)
    ens_correct = np.empty((i.size, N), dtype=bool) if return_correct else None
    tol = _margin_tol(probs)
    for sl in _chunks(i.size, N * K):
        ec = _ensemble_pred_chunk(probs, pred, margin, tol, i[sl], j[sl]) == labels
        n_ens[sl] = np.count_nonzero(ec, axis=1)
        n_conv[sl] = np.count_nonzero((correct[i[sl]] != correct[j[sl]]) & ec, axis=1)
        if ens_correct is not None:
            ens_correct[sl] = ec
    acc_i, acc_j = ni / N, nj / N
    ens_acc = n_ens / N
    with np.errstate(invalid="ignore", divide="ignore"):
        conversion = np.where(n_incons > 0, n_conv / n_incons, np.nan)
    out = {"i": i, "j": j, "acc_i": acc_i, "acc_j": acc_j, "ei": n_incons / N,
           "ei_floor": np.abs(n10 - n01) / N, "ei_excess": 2 * np.minimum(n10, n01) / N,
           "both_correct": n11 / N, "both_wrong": n00 / N, "only_i": n10 / N, "only_j": n01 / N,
           "ens_acc": ens_acc, "gain": ens_acc - (acc_i + acc_j) / 2, "conversion": conversion}
    if return_correct:
        out["correct"] = correct
        out["ens_correct"] = ens_correct
    return out


# ----------------------------------------------------------------------------- specialisation

def angle_histograms(probs: np.ndarray, labels: np.ndarray, pairs=None,
                     bins: np.ndarray | Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """Histograms of the specialisation angle θ (Gontijo-Lopes et al., ICLR 2022, Figs 4-5;
    :func:`specialisation_angle`) of every pair, split by the pair's correctness on each point.

    Returns ``i``, ``j``, ``bins`` and, for each of ``both_correct``, ``both_wrong``, ``only_i``
    (only model ``i`` correct) and ``only_j``, a ``(P, len(bins) − 1)`` int64 array of counts with
    ``np.histogram``'s bin convention (half-open bins, the last one closed; points outside the
    edges are not counted). ``bins`` defaults to 5° bins on ``[0, 90]``."""
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    M, N = probs.shape[:2]
    i, j = _pair_arrays(M, pairs)
    edges = np.asarray(DEFAULT_ANGLE_BINS if bins is None else bins, dtype=float)
    nb = edges.size - 1
    conf = top1_confidence(probs).astype(float)
    code = (2 * (probs.argmax(axis=-1) == labels)).astype(np.int8)  # 2 * c_m, add c_j below
    counts = np.zeros((i.size, 4, nb), dtype=np.int64)
    for sl in _chunks(i.size, 8 * N):
        ii, jj = i[sl], j[sl]
        theta = specialisation_angle(conf[ii], conf[jj])
        b = np.searchsorted(edges, theta, side="right") - 1
        b[theta == edges[-1]] = nb - 1
        g = code[ii] + code[jj] // 2  # 0 both wrong, 1 only j, 2 only i, 3 both correct
        valid = (b >= 0) & (b < nb)
        p = np.broadcast_to(np.arange(ii.size)[:, None], b.shape)
        flat = ((p * 4 + g) * nb + b)[valid]
        counts[sl] = np.bincount(flat, minlength=ii.size * 4 * nb).reshape(ii.size, 4, nb)
    return {"i": i, "j": j, "bins": edges, "both_wrong": counts[:, 0], "only_j": counts[:, 1],
            "only_i": counts[:, 2], "both_correct": counts[:, 3]}


def group_accuracy_difference(correct_i: np.ndarray, correct_j: np.ndarray, groups: np.ndarray,
                              n_groups: int | None = None) -> np.ndarray:
    """Specialisation by subgroup (Gontijo-Lopes et al., ICLR 2022, Fig 4: per-class accuracy
    differences): for every group ``g`` of points, ``acc_i(g) − acc_j(g)``.

    ``correct_i``, ``correct_j`` are bool arrays of shape ``(..., N)`` (e.g. ``(P, N)`` for many
    pairs), ``groups`` an ``(N,)`` integer array in ``[0, n_groups)`` (default ``max + 1``).
    Returns ``(..., n_groups)``; NaN for empty groups."""
    ci = np.asarray(correct_i, dtype=np.float64)
    cj = np.asarray(correct_j, dtype=np.float64)
    ci, cj = np.broadcast_arrays(ci, cj)
    g = np.asarray(groups, dtype=np.intp)
    G = int(g.max()) + 1 if n_groups is None else int(n_groups)
    n_g = np.bincount(g, minlength=G).astype(float)
    lead = ci.shape[:-1]
    d = (ci - cj).reshape(-1, ci.shape[-1])
    L = d.shape[0]
    flat = (np.arange(L)[:, None] * G + g[None, :]).ravel()
    sums = np.bincount(flat, weights=d.ravel(), minlength=L * G).reshape(L, G)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n_g > 0, sums / n_g, np.nan)
    return out.reshape(*lead, G)


def specialisation_spread(correct_i: np.ndarray, correct_j: np.ndarray, groups: np.ndarray,
                          n_groups: int | None = None) -> np.ndarray | float:
    """The standard deviation (ddof 0) over non-empty groups of :func:`group_accuracy_difference`:
    how unevenly two models' accuracies differ across subgroups (a number per pair)."""
    d = group_accuracy_difference(correct_i, correct_j, groups, n_groups)
    with np.errstate(invalid="ignore"):
        valid = ~np.isnan(d)
        n = valid.sum(axis=-1)
        mean = np.where(valid, d, 0.0).sum(axis=-1) / n
        var = (np.where(valid, d - mean[..., None], 0.0) ** 2).sum(axis=-1) / n
    out = np.sqrt(var)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------- paired bootstrap

def resample_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``(size, n)`` int64 counts: row ``r`` is ``np.bincount(idx_r, minlength=n)`` for
    ``idx_r = rng.integers(0, n, n)``, the indices of one bootstrap resample. The rows use the
    generator's stream exactly as ``size`` successive ``rng.integers(0, n, n)`` calls would."""
    idx = rng.integers(0, n, size=(size, n))
    idx += (np.arange(size) * n)[:, None]
    return np.bincount(idx.ravel(), minlength=size * n).reshape(size, n)


def paired_bootstrap(indicators: Mapping[str, np.ndarray], statistic: Callable[[dict], np.ndarray],
                     n_boot: int = 1000, seed: int = 0, chunk: int | None = None) -> np.ndarray:
    """Paired bootstrap over test points (Efron & Tibshirani 1993, resampling points with
    replacement), as used for the intervals of the category means of Gontijo-Lopes et al.
    (ICLR 2022, Figs 1-3).

    ``indicators`` maps names to ``(P, N)`` (or ``(N,)``) arrays of per-point quantities (e.g.
    0/1 indicators ``c_i != c_j``). Resample ``b`` draws point indices ``rng.integers(0, N, N)``
    from ``np.random.default_rng(seed)`` -- the *same* indices for every row of every indicator
    (paired across pairs and quantities) -- and ``statistic`` receives a dict of the resampled
    means, name -> ``(B_c, P)`` (or ``(B_c,)``) float64 arrays for a chunk of ``B_c`` resamples,
    and returns a ``(B_c, ...)`` array; the result stacks the chunks to ``(n_boot, ...)``.

    Vectorised as ``counts @ X.T / N`` with the ``(B_c, N)`` resample-count matrix
    (:func:`resample_counts`); float32 when every indicator is boolean and ``N < 2**24`` (every
    partial sum is then an integer below 2**24, so exact), float64 otherwise."""
    arrays = {k: np.asarray(v) for k, v in indicators.items()}
    if not arrays:
        raise ValueError("no indicators")
    N = next(iter(arrays.values())).shape[-1]
    if any(a.shape[-1] != N for a in arrays.values()):
        raise ValueError("all indicators need the same number of points (last axis)")
    exact32 = N < (1 << 24) and all(a.dtype == bool for a in arrays.values())
    dt = np.float32 if exact32 else np.float64
    mats = {k: np.ascontiguousarray(np.atleast_2d(a), dtype=dt) for k, a in arrays.items()}
    one_d = {k for k, a in arrays.items() if a.ndim == 1}
    if chunk is None:
        chunk = max(1, min(n_boot, (1 << 21) // max(N, 1)))
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        w = resample_counts(rng, N, b).astype(dt)
        means = {}
        for k, x in mats.items():
            s = (w @ x.T).astype(np.float64) / N
            means[k] = s[:, 0] if k in one_d else s
        out.append(np.asarray(statistic(means)))
    return np.concatenate(out, axis=0)


def _summary(samples: np.ndarray, estimate: float) -> dict[str, float]:
    s = samples[~np.isnan(samples)]
    if s.size == 0:
        return {"estimate": estimate, "mean": np.nan, "se": np.nan, "lo": np.nan, "hi": np.nan}
    lo, hi = np.percentile(s, [2.5, 97.5])
    return {"estimate": estimate, "mean": float(s.mean()), "se": float(s.std(ddof=1)) if s.size > 1 else np.nan,
            "lo": float(lo), "hi": float(hi)}


def _nanmean_cols(x: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(x)
    n = valid.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(valid, x, 0.0).sum(axis=-1) / n, np.nan)


def bootstrap_pair_metrics(correct: np.ndarray, ens_correct: np.ndarray, pairs, n_boot: int = 1000,
                           seed: int = 0, groups_of_pairs: Mapping[str, Sequence[int]] | None = None,
                           chunk: int | None = None, return_samples: bool = False) -> dict:
    """Paired-bootstrap intervals for category means of error inconsistency, ensemble gain and
    conversion rate (Gontijo-Lopes et al., ICLR 2022, Figs 1-3: pairs grouped by how their
    training methods differ).

    ``correct`` ``(M, N)`` bool (model correctness), ``ens_correct`` ``(P, N)`` bool (each pair's
    two-model ensemble, e.g. from :func:`pairwise_metrics` with ``return_correct``), ``pairs``
    ``(P, 2)`` or ``(i, j)``; ``groups_of_pairs`` maps a category name to indices into the ``P``
    pairs (default one group ``"all"``). Per resample ``b`` (:func:`paired_bootstrap`, the same
    resampled points for every pair and quantity):

    * ``ei_b(p)`` = resampled mean of ``1[c_i != c_j]``;
    * ``gain_b(p)`` = resampled ensemble accuracy − mean of the two resampled accuracies;
    * ``conversion_b(p)`` = Σ w·1[c_i != c_j]·e / Σ w·1[c_i != c_j] (a ratio of weighted sums;
      NaN when the resample has no inconsistent point);
    * ``ei_floor_b(p)`` = |resampled acc_i − resampled acc_j| and ``ei_excess_b(p)`` = ``ei_b −
      ei_floor_b`` (error inconsistency beyond what the accuracy gap forces);

    and a category's statistic is the mean over its pairs (conversion: over the pairs where it
    is defined). Returns ``{"groups": {name: {metric: {estimate, mean, se, lo, hi}}},
    "pair_ei_se": (P,)}`` -- ``estimate`` on the full sample, ``mean``/``se`` the mean and
    standard deviation (ddof 1) of the bootstrap distribution, ``lo``/``hi`` its 2.5/97.5
    percentiles -- and with ``return_samples`` also ``samples``: metric -> ``(n_boot, P)``."""
    correct = np.asarray(correct, dtype=bool)
    ens_correct = np.asarray(ens_correct, dtype=bool)
    M, N = correct.shape
    i, j = _pair_arrays(M, pairs)
    if ens_correct.shape != (i.size, N):
        raise ValueError(f"ens_correct must be (P, N) = {(i.size, N)}, got {ens_correct.shape}")
    groups = {"all": np.arange(i.size)} if groups_of_pairs is None else \
        {k: np.asarray(v, dtype=np.intp) for k, v in groups_of_pairs.items()}
    incons = correct[i] != correct[j]
    ind = {"acc": correct, "ens": ens_correct, "incons": incons, "conv": incons & ens_correct}
    P = i.size

    def per_pair(m: dict) -> np.ndarray:
        ei = m["incons"]
        gain = m["ens"] - (m["acc"][:, i] + m["acc"][:, j]) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            conv = np.where(ei > 0, m["conv"] / ei, np.nan)
        floor = np.abs(m["acc"][:, i] - m["acc"][:, j])
        return np.concatenate([ei, gain, conv, floor, ei - floor], axis=1)

    full = per_pair({k: v.mean(axis=-1, dtype=np.float64)[None] for k, v in ind.items()})[0]
    samples = paired_bootstrap(ind, per_pair, n_boot=n_boot, seed=seed, chunk=chunk)
    names = ("ei", "gain", "conversion", "ei_floor", "ei_excess")
    per = {n: samples[:, k * P:(k + 1) * P] for k, n in enumerate(names)}
    est = {n: full[k * P:(k + 1) * P] for k, n in enumerate(names)}
    out_groups = {}
    for g, idx in groups.items():
        res = {}
        for n in names:
            dist = _nanmean_cols(per[n][:, idx])
            res[n] = _summary(dist, float(_nanmean_cols(est[n][idx][None])[0]))
        out_groups[g] = res
    out = {"groups": out_groups, "pair_ei_se": per["ei"].std(axis=0, ddof=1)}
    if return_samples:
        out["samples"] = per
    return out


# ----------------------------------------------------------------------------- greedy ensembles

def greedy_ensemble(probs_val: np.ndarray, labels_val: np.ndarray, probs_test: np.ndarray,
                    labels_test: np.ndarray, start: int, candidates: Sequence[int],
                    steps: int | None = None) -> dict:
    """Greedy ensemble construction (Gontijo-Lopes et al., ICLR 2022, Fig 5): from model ``start``,
    add one of ``candidates`` at a time (without replacement), each step the candidate whose
    addition maximises the held-out (validation) accuracy of the mean of the calibrated
    probabilities of the chosen set (ties: the first in ``candidates`` order).

    ``probs_val`` ``(M, Nv, K)``, ``probs_test`` ``(M, Nt, K)``. Returns ``order`` (the added model
    indices), ``val_acc`` and ``test_acc`` (lists of length ``steps + 1``; index 0 is ``start``
    alone); ``steps`` defaults to ``len(candidates)``."""
    pv, pt = np.asarray(probs_val, dtype=np.float64), np.asarray(probs_test, dtype=np.float64)
    yv, yt = np.asarray(labels_val), np.asarray(labels_test)
    cand = [int(c) for c in candidates]
    if int(start) in cand:
        raise ValueError(f"start model {start} is also a candidate")
    if len(set(cand)) != len(cand):
        raise ValueError("candidates must be distinct")
    steps = len(cand) if steps is None else int(steps)
    if not 0 <= steps <= len(cand):
        raise ValueError(f"steps must be in [0, {len(cand)}], got {steps}")
    sum_v, sum_t = pv[start].copy(), pt[start].copy()
    n = 1
    val_acc = [float(np.mean(sum_v.argmax(-1) == yv))]
    test_acc = [float(np.mean(sum_t.argmax(-1) == yt))]
    order: list[int] = []
    remaining = list(cand)
    for _ in range(steps):
        trial = (sum_v[None] + pv[remaining]) / (n + 1)
        hits = np.count_nonzero(trial.argmax(-1) == yv, axis=1)
        best = remaining[int(np.argmax(hits))]  # first maximum = first in candidates order
        remaining.remove(best)
        order.append(best)
        sum_v += pv[best]
        sum_t += pt[best]
        n += 1
        val_acc.append(float(np.mean((sum_v / n).argmax(-1) == yv)))
        test_acc.append(float(np.mean((sum_t / n).argmax(-1) == yt)))
    return {"order": order, "val_acc": val_acc, "test_acc": test_acc}
