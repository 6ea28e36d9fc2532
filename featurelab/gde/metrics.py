"""Accuracy, agreement and their difference for an ensemble, with their uncertainty
(Jiang, Baek, Kolter, ICLR 2024, §6, Tables 1-2).

Generalization disagreement equality (GDE, Jiang et al. 2022): the test error of a member
of a deep ensemble ≈ the disagreement rate of two members, i.e. agreement ≈ accuracy.
:func:`ensemble_metrics` scores one condition; :func:`difference_standard_error` gives its
agreement − accuracy a standard error (member jackknife and test sample);
:func:`class_count_free_difference` divides out the 1 − 1/K that merging classes puts on
any gap; :func:`range_ratio_interval` says how sure a comparison of spreads is.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def _predictions(predictions: Any, labels: Any | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    p = np.asarray(predictions)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2:
        raise ValueError(f"predictions must be (members, points), got shape {p.shape}")
    if labels is None:
        return p, None
    y = np.asarray(labels)
    if y.shape != (p.shape[1],):
        raise ValueError(f"labels must have shape ({p.shape[1]},), got {y.shape}")
    return p, y


def _pairs(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The M(M−1)/2 pairs of distinct members (i < j) and, per pair and point, whether the
    two predict the same label: (iu, ju, same (pairs, N) bool)."""
    iu, ju = np.triu_indices(p.shape[0], k=1)
    return iu, ju, p[iu] == p[ju]


def pairwise_agreement(predictions: np.ndarray) -> np.ndarray:
    """(M, M) matrix of agreement rates: fraction of points where members i and j predict the
    same label (diagonal 1) (§6)."""
    p, _ = _predictions(predictions)
    iu, ju, same = _pairs(p)
    out = np.ones((p.shape[0], p.shape[0]))
    out[iu, ju] = out[ju, iu] = same.mean(axis=1)
    return out


def _std(x: np.ndarray, ddof: int) -> float:
    return float(np.std(x, ddof=ddof)) if len(x) > ddof else float("nan")


def ensemble_metrics(predictions: np.ndarray, labels: np.ndarray, ddof: int = 1) -> dict[str, float]:
    """Accuracy, agreement and their difference for one ensemble (§6, Tables 1-2).

    ``predictions``: (M, N) predicted labels of M members on the same N test points;
    ``labels``: (N,) true labels. Returns floats:

    * ``accuracy_mean`` / ``accuracy_std``: over members;
    * ``agreement_mean`` / ``agreement_std``: over the M(M−1)/2 pairs of distinct members,
      agreement of a pair = fraction of points with equal predicted labels;
    * ``difference_mean`` / ``difference_std``: over pairs of agr_ij − (acc_i + acc_j)/2
      (the mean equals agreement_mean − accuracy_mean);
    * ``n_members``, ``n_points``, ``n_pairs``.

    Standard deviations use ``ddof`` (default 1, the sample std); a std over fewer than
    ``ddof + 1`` values, and every agreement entry of a one-member ensemble, is NaN.
    """
    p, y = _predictions(predictions, labels)
    m, n = p.shape
    if n == 0:
        raise ValueError("no test points")
    acc = (p == y[None, :]).mean(axis=1)
    iu, ju, same = _pairs(p)
    agr = same.mean(axis=1)
    diff = agr - (acc[iu] + acc[ju]) / 2.0
    nan = float("nan")
    return {
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": _std(acc, ddof),
        "agreement_mean": float(agr.mean()) if len(agr) else nan,
        "agreement_std": _std(agr, ddof),
        "difference_mean": float(diff.mean()) if len(diff) else nan,
        "difference_std": _std(diff, ddof),
        "n_members": int(m),
        "n_points": int(n),
        "n_pairs": int(len(agr)),
    }


def pair_differences(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """agr_ij − (acc_i + acc_j)/2 for each of the M(M−1)/2 pairs i < j (the replicates of
    GDE's check on one ensemble; their mean is agreement − accuracy). In the guessing story
    it is P(both wrong, same answer) − P(exactly one right)/2 of the pair, exactly."""
    p, y = _predictions(predictions, labels)
    right = p == y[None, :]
    iu, ju, same = _pairs(p)
    acc = right.mean(axis=1)
    return same.mean(axis=1) - (acc[iu] + acc[ju]) / 2.0


def class_count_free_difference(difference: Any, num_classes: Any) -> np.ndarray:
    """Agreement − accuracy with the class count divided out: ``difference / (1 − 1/K)``.

    Why (our reading; the paper states the superclass prediction only in words, §6): take
    the guessing story of §5 with ``K`` classes — on a point, a model holding one of its
    features is right; a model holding none guesses, right with probability ``1/K``, and two
    guessing models agree with probability ``κ + (1 − κ)/K`` (they copy one guess with
    probability κ). For *any* joint law of which models hold a feature of which point, with
    ``q0`` = P(neither model of a pair holds one) and ``r`` = P(the first holds one and the
    second none),

        Acc = a + (1 − a)/K,  Agr = q1 + 2r/K + q0 (κ + (1 − κ)/K),  a = q1 + r,
        so  Agr − Acc = (κ q0 − r) · (1 − 1/K).

    Merging classes "does not change the ratios" (§6) — leaves ``κ q0 − r`` alone — yet
    scales the difference by ``1 − 1/K̃``: a world whose members break GDE (``κ q0 ≠ r``)
    shows a superclass spread the paper's CIFAR-10 members (difference ≈ 0.05, spread
    ×0.4 ≈ 0.02, inside its noise) barely could. Dividing by ``1 − 1/K`` leaves the part the
    framework ties to the features. The multi-class reading of
    :func:`featurelab.theory_empirical.predict` factorises the same way. ``num_classes``
    ≥ 2 (scalars or arrays, broadcast).
    """
    k = np.asarray(num_classes, dtype=np.float64)
    if np.any(k < 2):
        raise ValueError(f"num_classes must be ≥ 2, got {num_classes}")
    return np.asarray(difference, dtype=np.float64) / (1.0 - 1.0 / k)


def difference_standard_error(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """How far chance moves a condition's agreement − accuracy (Table 2's uncertainty).

    Two independent sources, added in quadrature (``se``):

    * ``se_members``: the delete-one jackknife over members (other seeds would give other
      members): ``sqrt((M−1)/M · Σ_i (d_(i) − d̄_(·))²)``, ``d_(i)`` the difference of the
      ensemble without member ``i``; NaN below three members (a one-member ensemble has
      no difference);
    * ``se_points``: the test sample (other test points would give other rates): the
      difference is the mean over points of ``a(x) − c(x)`` (``a`` the fraction of member
      pairs agreeing on ``x``, ``c`` the fraction of members right on it), so its standard
      error is ``std(a − c) / sqrt(N)``.
    """
    p, y = _predictions(predictions, labels)
    m, n = p.shape
    nan = float("nan")
    if m < 2:
        return {"se_members": nan, "se_points": nan, "se": nan}
    right = p == y[None, :]
    iu, ju, same = _pairs(p)
    per_point = same.mean(axis=0) - right.mean(axis=0)
    se_points = float(np.std(per_point, ddof=1) / math.sqrt(n)) if n > 1 else nan
    se_members = nan
    if m >= 3:
        # pair differences d_ij = agr_ij − (acc_i + acc_j)/2; leaving member i out keeps the
        # pairs without i
        acc = right.mean(axis=1)
        d = same.mean(axis=1) - (acc[iu] + acc[ju]) / 2.0
        loo = np.array([d[(iu != i) & (ju != i)].mean() for i in range(m)])
        se_members = float(math.sqrt((m - 1) / m * np.sum((loo - loo.mean()) ** 2)))
    se = math.sqrt(se_members ** 2 + se_points ** 2) if not math.isnan(se_members) else se_points
    return {"se_members": se_members, "se_points": se_points, "se": float(se)}


def range_ratio_interval(blue: Sequence[float], blue_se: Sequence[float],
                         superclass: Sequence[float], superclass_se: Sequence[float],
                         draws: int = 20000, seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """How sure the comparison "agreement − accuracy varies more across blue groups than
    across superclass merges" (§6) is, given each condition's standard error.

    Each condition's difference is redrawn as Normal(mean, se²) ``draws`` times; returned:
    ``ratio`` (the observed blue range / superclass range), ``ratio_q05`` / ``ratio_q50`` /
    ``ratio_q95`` (quantiles of the redrawn ratio) and ``p_blue_larger`` (the fraction of
    draws whose blue range exceeds the superclass range), and the range difference blue −
    superclass: ``difference`` (observed) with ``difference_lo`` / ``difference_hi``, the
    central ``level`` interval of the redrawn difference (the verdict's interval). A NaN
    standard error counts as 0.
    """
    b, sb = np.asarray(blue, float), np.nan_to_num(np.asarray(blue_se, float))
    s, ss = np.asarray(superclass, float), np.nan_to_num(np.asarray(superclass_se, float))
    if b.shape != sb.shape or s.shape != ss.shape:
        raise ValueError("each difference needs one standard error")
    if len(b) < 2 or len(s) < 2:
        raise ValueError("a range needs at least two conditions on each side")
    rng = np.random.default_rng(seed)
    rb = np.ptp(b + sb * rng.standard_normal((draws, len(b))), axis=1)
    rs = np.ptp(s + ss * rng.standard_normal((draws, len(s))), axis=1)
    with np.errstate(divide="ignore"):
        ratio = rb / rs
    q05, q50, q95 = np.quantile(ratio, [0.05, 0.5, 0.95])
    observed = float(np.ptp(b) / np.ptp(s)) if np.ptp(s) > 0 else float("inf")
    dlo, dhi = np.quantile(rb - rs, [0.5 - level / 2, 0.5 + level / 2])
    return {"ratio": observed, "ratio_q05": float(q05), "ratio_q50": float(q50),
            "ratio_q95": float(q95), "p_blue_larger": float(np.mean(rb > rs)),
            "difference": float(np.ptp(b) - np.ptp(s)), "difference_lo": float(dlo), "difference_hi": float(dhi),
            "level": float(level), "draws": int(draws)}
