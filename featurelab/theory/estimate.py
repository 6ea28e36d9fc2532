"""Theory vs experiment: the framework's parameters estimated from an interaction tensor
(Jiang, Baek, Kolter (2024) §5).

The combinatorial framework (:mod:`featurelab.theory`) has six parameters — ``p_d``, ``c``,
``t_d``, ``t_r``, ``n_d``, ``n_r`` — and an agreement function ζ. Here they are read off an
interaction tensor Ω (:mod:`featurelab.interaction`), the closed forms turn them into a
predicted accuracy and agreement (:func:`predict`), and those are set beside the accuracy
and agreement the ensemble actually has (:func:`measured`, :func:`compare_table`,
:func:`fig_theory_vs_experiment`). On the synthetic world, whose data-side parameters are
known, :func:`score_against_truth` scores the estimates (:func:`synthetic_truth` reads the
truth). :func:`story_tensor` builds an Ω from the theory's own generative story, on which
the estimators must recover the parameters they were generated with (the tests do that).

Estimators (all in :func:`estimate_parameters`; every rule is an argument)
---------------------------------------------------------------------------
Notation: Ψ(n) = {t : Σ_m Ω[m, n, t] > 0} (features present at point n, models pooled),
``H[m, t]`` = model m *holds* feature t (from ``clusters``: some component of m lies in
cluster t; without clusters: t occurs in Ω for m), ``C`` = number of classes (distinct
labels), ``M`` = number of models.

The theory is one class's view, so everything is counted per class, "using the labels of
the holders": feature t *belongs to* class y when some point of class y holds it, and its
class frequency is ``f_y(t) = #{n : y_n = y, t ∈ Ψ(n)} / #{n : y_n = y}``. In the theory's
story a feature belongs to one class only; in a real tensor features are shared, and a
feature may then be dominant for one class and rare for another. Unobserved pairs
(f_y(t) = 0) are left out of everything. Per-class counts are averaged over the classes.

1. **Dominant vs rare features** (:func:`split_features` on the pooled (class, feature)
   pairs, :func:`class_frequencies`): one cut on f_y(t), log10 scale, for all classes.
   ``split="otsu"`` (default): Otsu's two-group threshold, the split that maximises the
   between-group variance of log10 f (no tuning constant; it separates the two frequency
   levels of the story and does not hinge on one pair of neighbours). ``"gap"``: the
   largest gap between consecutive distinct log10 f. ``"mass"``: the most frequent pairs
   that together hold a share ``mass`` (0.8, Pareto) of Σ f (incidences, classes weighted
   equally). ``"fixed"``: f ≥ ``threshold`` (a share of the class's points). Pairs at or
   above the cut are dominant. *One-level check* (our reading; before every rule but
   ``"fixed"``): the rules above always cut in two, so on a tensor with one frequency level
   (e.g. the story at p_d 0.9, c = 10: c_d = c/2, the models hold no rare feature) they cut
   sampling noise (p̂_d 0.32-0.51 instead of 0.9 on such seeds). :func:`one_level_pvalue`
   tests one level per class; with p > ``split_alpha`` (0.05) every observed pair is
   dominant. On trained tensors the features are not class-owned (every (class, feature)
   pair observed) and a point holds a dozen of them; estimator 2 then calls almost every
   point dominant (docs/theory.md, "Control: the estimator").
2. **Dominant vs rare points** (:func:`classify_points`): d(n), r(n) = number of features in
   Ψ(n) dominant / rare for n's class. A point is dominant iff d(n) ≥ 1 and d(n)/(d(n)+r(n))
   > ``point_threshold`` (0.5: "mostly dominant", ties rare). Points with empty Ψ(n) are
   rare (in the story M models cover almost all dominant features, so a dominant point
   almost never shows nothing). ``p_d_observed`` = share of dominant points.
3. **Per class counts**: ``U_d``, ``U_r`` = dominant / rare features per class (observed);
   ``h_d``, ``h_r`` = mean over models and classes of the held features dominant / rare
   for that class. ``n_d_observed``, ``n_r_observed`` = mean d(n) over dominant points,
   mean r(n) over rare points.
4. **c** = 2·round(mean over models and classes of the held features belonging to the
   class), at least 2 (the theory's model holds c/2 features per class; c is even).
   ``c_d, c_r`` then follow from p_d and c by the theory's rule round(p_d c/2)
   (:func:`featurelab.theory.split_capacity`); the observed h_d, h_r are reported beside.
5. **Coverage correction** (``coverage_correction=True``): Ω only shows features that at
   least one of the M models holds. In the story each model holds h of the t features of a
   kind uniformly, so the expected number of distinct held features is
   ``E[U] = t·(1 − (1 − h/t)^M)`` (exact: marginal inclusion h/t, models independent).
   ``t̂`` solves that equation for t (capture–recapture); when the models never overlap the
   equation has no finite root and ``t̂`` is capped at ``t_max_factor·U``. Coverage
   ``cov_d = U_d/t̂_d``. A dominant point shows none of its n_d features with probability
   ``miss_d = C(t̂_d − U_d, n_d)/C(t̂_d, n_d)`` (it is then counted rare), so
   ``p̂_d = p_d_observed/(1 − miss_d)``; the mean d(n) over dominant points is
   ``n_d cov_d/(1 − miss_d)`` and the mean r(n) over rare-classified points is
   ``(1 − p̂_d) n_r cov_r/(1 − p_d_observed)``; both are solved for n_d, n_r (fixed point in
   n_d). Without the correction: ``t = U``, ``n_d``/``n_r`` = mean d / r over the
   dominant / rare points, ``p_d = p_d_observed``.
6. **ζ** (:func:`estimate_zeta`), a constant ``ζ(k, c) = η·1{k>0}``. Model pairs sharing
   k > 0 features (from H) are pooled. ``"shared_error"``: s = P(f_i(n) = f_j(n) | both
   wrong), the rate at which two wrong models make the *same* mistake. Reading of the
   multi-class story: two guessing models copy one guess with probability κ, otherwise
   guess independently and uniformly over the C labels; then s = (κC + 1 − κ)/(κC + (1 −
   κ)(C − 1)), inverted as ``κ = (s(C−1) − 1)/(C − 1 − s)`` (0 at chance s = 1/(C−1), 1 at
   s = 1), clipped to [0, 1]. The binary theory's ζ is the agreement of two guessing models
   in the binary case, ``η = (1 + κ)/2``. Needs C > 2 (for C = 2 two wrong models always
   agree). ``"omega"``: agreement a of the pair on points where *neither* model has a
   feature in Ω (both guess, App. D.2 eq. 47), ``κ = (a − 1/C)/(1 − 1/C)``, same map.
   ``"auto"`` (default): shared_error for C > 2, omega for C = 2. A float fixes η.
   Without predictions (or with no usable pair) η = ``zeta_default`` (0.9, §5.2).
7. **Integers and validity**: n = max(1, round(n̂)); t = max(round(t̂), n, c_d or c_r, 1);
   p_d rounded to 6 decimals. Every change made to satisfy :class:`featurelab.theory.Params`
   is listed in ``adjustments``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Union

import numpy as np
import pandas as pd

from ..interaction.measures import incidence_matrix, model_feature_matrix
from ..interaction.tensor import triplet_arrays
from . import closed_forms

PARAM_NAMES = ("p_d", "c", "t_d", "t_r", "n_d", "n_r")
SPLIT_RULES = ("otsu", "gap", "mass", "fixed")
ZETA_METHODS = ("auto", "shared_error", "omega")
Triplets = Union[pd.DataFrame, Mapping[str, Any]]


def _otsu_cut(x: np.ndarray) -> float:
    """Smallest value of the upper group of Otsu's two-group split of ``x`` (distinct ≥ 2)."""
    xs = np.sort(x)
    n = xs.size
    cs = np.cumsum(xs)
    i = np.arange(1, n)                       # lower group = xs[:i]
    valid = xs[i] > xs[i - 1]
    w0 = i / n
    mu0 = cs[i - 1] / i
    mu1 = (cs[-1] - cs[i - 1]) / (n - i)
    between = np.where(valid, w0 * (1 - w0) * (mu1 - mu0) ** 2, -1.0)
    return float(xs[i[int(np.argmax(between))]])


def split_features(freq: np.ndarray, rule: str = "otsu", mass: float = 0.8,
                   threshold: float | None = None) -> tuple[np.ndarray, float]:
    """Dominant vs rare by frequency (module doc, estimator 1).

    ``freq``: any array of non-negative frequencies (counts or shares of points), e.g.
    :func:`featurelab.interaction.feature_frequency`. Entries equal to 0 are unobserved and
    never dominant. Returns ``(dominant, cut)``: a bool mask of ``freq``'s shape and the
    smallest frequency counted dominant (``inf`` if none). Rules: ``"otsu"`` and ``"gap"`` on
    log10 freq; ``"mass"``: the most frequent entries that together hold a share ``mass`` of
    the total; ``"fixed"``: freq ≥ ``threshold``. With fewer than two distinct observed
    values no split exists and every observed entry is dominant.
    """
    f = np.asarray(freq, dtype=np.float64)
    obs = f > 0
    dom = np.zeros(f.shape, dtype=bool)
    if not obs.any():
        return dom, math.inf
    fo = f[obs]
    if rule not in SPLIT_RULES:
        raise ValueError(f"split must be one of {SPLIT_RULES}, got {rule!r}")
    if rule == "fixed":
        if threshold is None:
            raise ValueError("split='fixed' needs a threshold")
        dom = obs & (f >= float(threshold))
        return dom, float(f[dom].min()) if dom.any() else math.inf
    if np.unique(fo).size < 2:
        return obs.copy(), float(fo.min())
    if rule == "otsu":
        cut = 10 ** _otsu_cut(np.log10(fo))
    elif rule == "gap":
        u = np.unique(np.log10(fo))
        k = int(np.argmax(np.diff(u)))
        cut = 10 ** u[k + 1]
    else:  # mass
        if not 0 < mass <= 1:
            raise ValueError(f"mass must lie in (0, 1], got {mass}")
        srt = np.sort(fo)[::-1]
        k = int(np.searchsorted(np.cumsum(srt), mass * srt.sum() * (1 - 1e-12)))
        cut = srt[min(k, srt.size - 1)]
    dom = obs & (f >= cut * (1 - 1e-9))
    return dom, float(f[dom].min())


def one_level_pvalue(counts: np.ndarray, sizes: np.ndarray) -> tuple[float, int]:
    """Is there a frequency split at all? (module doc, estimator 1, the one-level check).

    ``counts`` (C, T): class-y points holding feature t; ``sizes`` (C,): class sizes. Under
    *one* frequency level per class (no dominant/rare split), the observed counts of class y
    are draws of Binomial(n_y, f_y) with a common f_y; the index of dispersion
    ``D = Σ_y Σ_t (k_yt − k̄_y)² / (k̄_y (1 − k̄_y/n_y))`` over the observed pairs (k > 0) is
    then about χ² with ``Σ_y T_y`` degrees of freedom, not ``Σ_y (T_y − 1)``: in the story a
    point carries exactly n of its class's features, so the counts of a class have a fixed
    sum, are negatively correlated (ρ = −1/(T_y − 1)) and ``E Σ_t (k_yt − k̄_y)² = T_y σ²``
    (measured on the story: with T_y − 1 the check rejected one level in 20 % of 40 one-level
    tensors at α = 0.05). Returns ``(p, dof)``: the upper tail of D (p = 1 without a class of
    two observed features). Our reading: the paper does not estimate the split.
    """
    from scipy.stats import chi2

    k = np.asarray(counts, dtype=np.float64)
    n = np.asarray(sizes, dtype=np.float64)
    D, dof = 0.0, 0
    for y in range(k.shape[0]):
        ky = k[y][k[y] > 0]
        if ky.size < 2:
            continue
        m = ky.mean()
        var = m * (1 - m / n[y]) if n[y] > 0 else 0.0
        if var <= 0:
            continue
        D += float(((ky - m) ** 2).sum() / var)
        dof += ky.size
    return (float(chi2.sf(D, dof)) if dof else 1.0), dof


def class_frequencies(incidence, labels: np.ndarray | None, num_classes: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class feature frequencies (module doc, estimator 1).

    ``incidence``: (N, T) 0/1 point × feature matrix (e.g.
    :func:`featurelab.interaction.incidence_matrix`); ``labels`` (N,) ints in
    [0, num_classes) (None: one class). Returns ``(counts, share, class_sizes)``: (C, T)
    number of class-y points holding t, the same divided by the class size, and (C,) sizes.
    """
    import scipy.sparse as sp

    a = sp.csr_matrix(incidence)
    n = a.shape[0]
    y = np.zeros(n, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    C = int(num_classes) if num_classes is not None else (int(y.max()) + 1 if n else 1)
    if n and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"labels must lie in [0, {C})")
    onehot = sp.csr_matrix((np.ones(n), (y, np.arange(n))), shape=(C, n))
    counts = np.asarray((onehot @ a).todense())
    sizes = np.bincount(y, minlength=C).astype(np.float64)
    share = counts / np.maximum(sizes, 1)[:, None]
    return counts, share, sizes


def classify_points(incidence, dominant: np.ndarray, observed: np.ndarray | None = None,
                    labels: np.ndarray | None = None, point_threshold: float = 0.5
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dominant vs rare points (module doc, estimator 2).

    ``incidence``: (N, T) 0/1 point × feature matrix (sparse or dense); ``dominant``: (T,)
    or, with ``labels``, (C, T) bool — feature t is dominant for points of class y;
    ``observed``: same shape, the features that count at all (default: dominant or seen in
    ``incidence``). Returns ``(d, r, point_dominant)``: dominant and rare feature counts
    per point and the (N,) mask ``d ≥ 1 and d/(d+r) > point_threshold``.
    """
    import scipy.sparse as sp

    a = sp.csr_matrix(incidence, dtype=np.float64)
    n, t = a.shape
    dom = np.atleast_2d(np.asarray(dominant, dtype=bool))
    if observed is None:
        seen = np.asarray(a.sum(axis=0)).ravel() > 0
        obs = dom | seen[None, :]
    else:
        obs = np.atleast_2d(np.asarray(observed, dtype=bool))
    if dom.shape[1] != t or obs.shape != dom.shape:
        raise ValueError(f"dominant/observed must have {t} columns and equal shapes")
    rare = obs & ~dom
    if dom.shape[0] == 1:
        y = np.zeros(n, dtype=np.int64)
    else:
        if labels is None:
            raise ValueError("per-class dominance (C, T) needs labels")
        y = np.asarray(labels, dtype=np.int64)
    d = np.asarray(a.multiply(dom[y].astype(np.float64)).sum(axis=1)).ravel().round().astype(np.int64)
    r = np.asarray(a.multiply(rare[y].astype(np.float64)).sum(axis=1)).ravel().round().astype(np.int64)
    tot = d + r
    share = np.where(tot > 0, d / np.maximum(tot, 1), 0.0)
    return d, r, (d >= 1) & (share > point_threshold)


def solve_total_features(U: float, h: float, M: int, t_max_factor: float = 10.0
                         ) -> tuple[float, bool]:
    """Capture–recapture (module doc, estimator 5): t solving ``t(1 − (1 − h/t)^M) = U``.

    ``U``: distinct features seen (per class), ``h``: features per model (per class), ``M``:
    models. Returns ``(t, capped)``; ``t = U`` when nothing can be corrected (M ≤ 1, h = 0
    or U ≤ h), ``t = t_max_factor·U`` and ``capped=True`` when the models never overlap
    (U ≥ M h: no finite root) or the root exceeds the cap.
    """
    if U <= 0:
        return 0.0, False
    if M <= 1 or h <= 0 or U <= h:
        return float(max(U, h)), False
    cap = t_max_factor * U

    def f(t: float) -> float:
        return t * -math.expm1(M * math.log1p(-h / t))

    if U >= M * h * (1 - 1e-12) or f(cap) < U:
        return float(cap), True
    lo, hi = max(U, h), cap
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < U:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9 * hi:
            break
    return 0.5 * (lo + hi), False


def _miss(t: float, U: float, n: int) -> float:
    """C(t − U, n)/C(t, n) for real t, U (product form): a point's n features all unseen."""
    p = 1.0
    for i in range(max(0, n)):
        den = t - i
        if den <= 0:
            return 0.0
        p *= max(0.0, (t - U - i) / den)
    return p


def estimate_zeta(predictions: np.ndarray, labels: np.ndarray, num_classes: int | None = None,
                  holdings: np.ndarray | None = None, featureless: np.ndarray | None = None,
                  method: str = "auto", default: float = 0.9) -> dict[str, Any]:
    """Constant agreement function ζ = η·1{k>0} from the models' errors (module doc, 6).

    ``predictions`` (M, N), ``labels`` (N,); ``holdings`` (M, T) bool: pairs sharing no
    feature are left out (all pairs when None); ``featureless`` (M, N) bool, point n has no
    feature of model m in Ω (needed by ``method="omega"``). Returns eta, kappa, method (the
    one used), rate (s or a), chance (its value at κ = 0), n_pairs, n_events (pooled
    both-wrong or both-featureless points) and note.
    """
    pr = np.asarray(predictions)
    y = np.asarray(labels)
    if pr.ndim != 2 or y.shape != (pr.shape[1],):
        raise ValueError(f"predictions must be (M, N) and labels (N,), got {pr.shape} and {y.shape}")
    m = pr.shape[0]
    C = int(num_classes) if num_classes is not None else int(np.unique(np.concatenate([pr.ravel(), y])).size)
    C = max(C, 2)
    if method not in ZETA_METHODS:
        raise ValueError(f"zeta method must be one of {ZETA_METHODS} or a number, got {method!r}")
    used = method
    if method == "auto":
        used = "shared_error" if C > 2 else "omega"
    if used == "omega" and featureless is None:
        raise ValueError("zeta method 'omega' needs the featureless (M, N) mask")
    iu, ju = np.triu_indices(m, 1)
    if holdings is not None:
        h = np.asarray(holdings, dtype=np.int64)
        k = h @ h.T
        keep = k[iu, ju] > 0
        iu, ju = iu[keep], ju[keep]
    out: dict[str, Any] = {"method": used, "num_classes": C, "n_pairs": int(iu.size)}
    if used == "shared_error":
        if C <= 2:
            raise ValueError("zeta from shared errors needs more than 2 classes (two wrong "
                             "binary models always make the same mistake); use 'omega'")
        wrong = pr != y[None, :]
        both = same = 0
        for i, j in zip(iu, ju):
            bw = wrong[i] & wrong[j]
            both += int(bw.sum())
            same += int((bw & (pr[i] == pr[j])).sum())
        chance = 1.0 / (C - 1)
        rate = same / both if both else math.nan
        kappa = (rate * (C - 1) - 1) / (C - 1 - rate) if both else math.nan
    else:
        fl = np.asarray(featureless, dtype=bool)
        if fl.shape != pr.shape:
            raise ValueError(f"featureless must have shape {pr.shape}, got {fl.shape}")
        both = agree = 0
        for i, j in zip(iu, ju):
            bf = fl[i] & fl[j]
            both += int(bf.sum())
            agree += int((bf & (pr[i] == pr[j])).sum())
        chance = 1.0 / C
        rate = agree / both if both else math.nan
        kappa = (rate - chance) / (1 - chance) if both else math.nan
    out.update(rate=float(rate), chance=chance, n_events=int(both))
    if not math.isfinite(kappa):
        out.update(kappa=math.nan, eta=float(default),
                   note=f"no usable pair/event; eta set to the default {default}")
        return out
    out.update(kappa=float(min(1.0, max(0.0, kappa))), note="")
    out["eta"] = 0.5 * (1.0 + out["kappa"])
    return out


def _holdings(triplets: Triplets, clusters: np.ndarray | None, M: int, T: int) -> np.ndarray:
    if clusters is not None:
        h = model_feature_matrix(np.asarray(clusters), T)
        if h.shape[0] != M:
            raise ValueError(f"clusters has {h.shape[0]} models, expected M = {M}")
        return h
    mm, _, tt = triplet_arrays(triplets)
    h = np.zeros((M, T), dtype=bool)
    h[mm, tt] = True
    return h


def estimate_parameters(triplets: Triplets, M: int, N: int, T: int,
                        clusters: np.ndarray | None = None,
                        predictions: np.ndarray | None = None,
                        labels: np.ndarray | None = None, *,
                        num_classes: int | None = None, split: str = "otsu",
                        split_alpha: float | None = 0.05, mass: float = 0.8, threshold: float | None = None,
                        point_threshold: float = 0.5, coverage_correction: bool = True,
                        t_max_factor: float = 10.0, zeta: Union[str, float] = "auto",
                        zeta_default: float = 0.9, return_points: bool = False) -> dict[str, Any]:
    """Estimate p_d, c, t_d, t_r, n_d, n_r and a constant ζ from an interaction tensor.

    ``triplets``: Ω as (model, point, feature) triplets for M models, N points, T features;
    ``clusters``: (M, K) cluster id of every component (what a model *holds*; from Ω when
    None); ``predictions`` (M, N) and ``labels`` (N,) for ζ and the number of classes.
    The estimators and every option are described in the module docstring.

    Returns a JSON-serialisable dict (non-finite floats become None): the valid integer parameters ``p_d, c, t_d, t_r, n_d,
    n_r`` (they pass :class:`featurelab.theory.Params`), ``c_d, c_r`` implied by them,
    ``zeta`` (``{"family": "constant", "eta": η}``) and ``zeta_eta``; the continuous
    estimates ``p_d_hat, c_hat, t_d_hat, t_r_hat, n_d_hat, n_r_hat``; the raw observations
    ``p_d_observed, t_d_observed, t_r_observed`` (U_d, U_r), ``n_d_observed, n_r_observed``
    (mean d over dominant / r over rare points), ``h_d, h_r`` (held per model and class),
    ``coverage_d, coverage_r``, ``miss_d``; the ζ details ``zeta_method, zeta_rate,
    zeta_chance, zeta_kappa, zeta_pairs, zeta_events``; bookkeeping ``num_classes, M, N, T,
    n_features_observed, n_dominant_features (dominant for some class), n_rare_features (for
    no class), n_dominant_pairs, n_rare_pairs ((class, feature) pairs), n_dominant_points,
    n_empty_points, frequency_cut (a share of the class's points), split, mass, threshold,
    point_threshold, coverage_correction, t_d_capped, t_r_capped`` and ``adjustments``
    (list of str: every clip or fallback applied). ``labels`` None: all points are one
    class and ζ falls back to ``zeta_default``. ``num_classes``: labels are then taken as
    0..num_classes−1 (default: the distinct labels, in sorted order). ``return_points``: add
    ``point_dominant``, the (N,) bool array of points classified dominant (estimator 2).
    ``split_alpha``: the one-level check (:func:`one_level_pvalue`) comes before the split
    rules other than ``"fixed"``; p above it = one level, every observed feature dominant
    (``None``: always split); ``split_p``, ``split_dof``, ``split_one_level`` report it.
    """
    M, N, T = int(M), int(N), int(T)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (N,):
            raise ValueError(f"labels must have shape ({N},), got {labels.shape}")
        if num_classes is None:
            _, y = np.unique(labels, return_inverse=True)
            C = int(y.max()) + 1 if N else 1
        else:
            C, y = int(num_classes), labels.astype(np.int64)
            if N and (y.min() < 0 or y.max() >= C):
                raise ValueError(f"labels must lie in [0, num_classes = {C})")
    else:
        C, y = 1, np.zeros(N, dtype=np.int64)
    adjustments: list[str] = []
    if labels is None:
        adjustments.append("no labels: all points treated as one class")

    # ---- per-class frequencies; one split over all observed (class, feature) pairs
    inc = incidence_matrix(triplets, N, T)
    counts, share, class_sizes = class_frequencies(inc, y, C)
    observed = counts > 0                                      # (C, T)
    split_p, split_dof = one_level_pvalue(counts, class_sizes) if split != "fixed" else (math.nan, 0)
    one_level = split_alpha is not None and split != "fixed" and split_p > split_alpha
    if one_level:
        # no evidence of two frequency levels: a forced split would cut sampling noise
        dom_f = observed.copy()
        cut = float(share[observed].min()) if observed.any() else math.inf
        adjustments.append(f"split: the observed frequencies are one level (dispersion test "
                           f"p = {split_p:.3g} > split_alpha = {split_alpha:g}); every observed "
                           f"feature counted dominant")
    else:
        dom_f, cut = split_features(share, split, mass=mass, threshold=threshold)
    rare_f = observed & ~dom_f
    d, r, dom_p = classify_points(inc, dom_f, observed, y, point_threshold)
    p_obs = float(dom_p.mean()) if N else 0.0
    n_d_obs = float(d[dom_p].mean()) if dom_p.any() else 0.0
    n_r_obs = float(r[~dom_p].mean()) if (~dom_p).any() else 0.0

    # ---- holdings per model and class
    H = _holdings(triplets, clusters, M, T)                    # (M, T)
    Hf = H.astype(np.float64)
    h_d = float((Hf @ dom_f.T.astype(np.float64)).mean()) if M else 0.0
    h_r = float((Hf @ rare_f.T.astype(np.float64)).mean()) if M else 0.0
    c_hat = 2.0 * float((Hf @ observed.T.astype(np.float64)).mean()) if M else 0.0
    U_d, U_r = float(dom_f.sum(axis=1).mean()), float(rare_f.sum(axis=1).mean())

    if coverage_correction:
        t_d_hat, cap_d = solve_total_features(U_d, h_d, M, t_max_factor)
        t_r_hat, cap_r = solve_total_features(U_r, h_r, M, t_max_factor)
        cov_d = U_d / t_d_hat if t_d_hat > 0 else 1.0
        cov_r = U_r / t_r_hat if t_r_hat > 0 else 1.0
        n_d_hat, miss_d = n_d_obs / cov_d if cov_d > 0 else 0.0, 0.0
        for _ in range(50):
            miss_d = _miss(t_d_hat, U_d, max(1, int(round(n_d_hat))))
            new = n_d_obs * (1 - miss_d) / cov_d if cov_d > 0 else 0.0
            if abs(new - n_d_hat) < 1e-12:
                break
            n_d_hat = new
        p_d_hat = min(1.0, p_obs / (1 - miss_d)) if miss_d < 1 else p_obs
        if p_d_hat < 1 and cov_r > 0:
            n_r_hat = n_r_obs * (1 - p_obs) / ((1 - p_d_hat) * cov_r)
        else:
            n_r_hat = n_r_obs / cov_r if cov_r > 0 else 0.0
        for name, capped in (("t_d", cap_d), ("t_r", cap_r)):
            if capped:
                adjustments.append(f"{name}: the models' holdings never overlap enough to "
                                   f"estimate it; capped at t_max_factor·U = {t_max_factor:g}·U")
    else:
        t_d_hat, t_r_hat, cap_d, cap_r = float(U_d), float(U_r), False, False
        cov_d = cov_r = 1.0
        miss_d = 0.0
        n_d_hat, n_r_hat, p_d_hat = n_d_obs, n_r_obs, p_obs

    # ---- integers satisfying closed_forms.Params
    p_d = round(min(1.0, max(0.0, p_d_hat)), 6)
    c = 2 * max(1, int(round(c_hat / 2)))
    if c_hat < 2:
        adjustments.append(f"c: estimate {c_hat:.3g} below 2; set to 2")
    c_d, c_r = closed_forms.split_capacity(p_d, c)
    ints: dict[str, int] = {}
    for kind, n_hat, t_hat, c_k in (("d", n_d_hat, t_d_hat, c_d), ("r", n_r_hat, t_r_hat, c_r)):
        n_i = int(round(n_hat))
        if n_i < 1:
            adjustments.append(f"n_{kind}: estimate {n_hat:.3g} rounds below 1; set to 1")
            n_i = 1
        t_i = int(round(t_hat))
        need = max(n_i, c_k, 1)
        if t_i < need:
            adjustments.append(f"t_{kind}: estimate {t_hat:.3g} raised to {need} "
                               f"(needs t_{kind} ≥ n_{kind} = {n_i}, c_{kind} = {c_k}, 1)")
            t_i = need
        ints[f"n_{kind}"], ints[f"t_{kind}"] = n_i, t_i
    prm = closed_forms.Params(p_d, c, ints["t_d"], ints["t_r"], ints["n_d"], ints["n_r"])

    # ---- zeta
    if isinstance(zeta, (int, float)) and not isinstance(zeta, bool):
        z = {"method": "fixed", "eta": float(zeta), "kappa": 2 * float(zeta) - 1,
             "rate": math.nan, "chance": math.nan, "n_pairs": 0, "n_events": 0, "note": ""}
    elif predictions is None or labels is None:
        z = {"method": "default", "eta": float(zeta_default), "kappa": math.nan,
             "rate": math.nan, "chance": math.nan, "n_pairs": 0, "n_events": 0,
             "note": "no predictions; eta set to the default"}
    else:
        pr = np.asarray(predictions)
        if pr.shape != (M, N):
            raise ValueError(f"predictions must have shape ({M}, {N}), got {pr.shape}")
        mm, nn, _ = triplet_arrays(triplets)
        featureless = np.ones((M, N), dtype=bool)
        featureless[mm, nn] = False
        z = estimate_zeta(pr, labels, max(C, 2), H & observed.any(axis=0)[None, :],
                          featureless, method=str(zeta), default=zeta_default)
    if z.get("note"):
        adjustments.append(f"zeta: {z['note']}")
    eta = round(float(z["eta"]), 6)

    out: dict[str, Any] = {
        **{k: (float(v) if k == "p_d" else int(v)) for k, v in prm.as_dict().items()},
        "c_d": int(prm.c_d), "c_r": int(prm.c_r),
        "zeta": {"family": "constant", "eta": eta}, "zeta_eta": eta,
        "p_d_hat": float(p_d_hat), "c_hat": float(c_hat), "t_d_hat": float(t_d_hat),
        "t_r_hat": float(t_r_hat), "n_d_hat": float(n_d_hat), "n_r_hat": float(n_r_hat),
        "p_d_observed": p_obs, "t_d_observed": float(U_d), "t_r_observed": float(U_r),
        "n_d_observed": n_d_obs, "n_r_observed": n_r_obs, "h_d": h_d, "h_r": h_r,
        "coverage_d": float(cov_d), "coverage_r": float(cov_r), "miss_d": float(miss_d),
        "zeta_method": z["method"], "zeta_rate": float(z["rate"]),
        "zeta_chance": float(z["chance"]), "zeta_kappa": float(z["kappa"]),
        "zeta_pairs": int(z["n_pairs"]), "zeta_events": int(z["n_events"]),
        "num_classes": C, "M": M, "N": N, "T": T,
        "n_features_observed": int(observed.any(axis=0).sum()),
        "n_dominant_features": int(dom_f.any(axis=0).sum()),
        "n_rare_features": int((rare_f.any(axis=0) & ~dom_f.any(axis=0)).sum()),
        "n_dominant_pairs": int(dom_f.sum()), "n_rare_pairs": int(rare_f.sum()),
        "n_dominant_points": int(dom_p.sum()),
        "n_empty_points": int(((d + r) == 0).sum()), "frequency_cut": float(cut),
        "split": split, "split_alpha": None if split_alpha is None else float(split_alpha),
        "split_p": float(split_p), "split_dof": int(split_dof), "split_one_level": bool(one_level),
        "mass": float(mass),
        "threshold": None if threshold is None else float(threshold),
        "point_threshold": float(point_threshold),
        "coverage_correction": bool(coverage_correction),
        "t_d_capped": bool(cap_d), "t_r_capped": bool(cap_r), "adjustments": adjustments,
    }
    # strict JSON: undefined quantities (e.g. zeta_rate without predictions) become None
    out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
    if return_points:
        out["point_dominant"] = dom_p          # (N,) bool array, not JSON: drop before writing
    return out


def params_of(estimates: Mapping[str, Any]) -> closed_forms.Params:
    """The :class:`featurelab.theory.Params` inside a parameter dict (extra keys ignored)."""
    missing = [k for k in PARAM_NAMES if k not in estimates]
    if missing:
        raise ValueError(f"parameters {missing} missing; need {list(PARAM_NAMES)}")
    return closed_forms.Params(**{k: estimates[k] for k in PARAM_NAMES})
