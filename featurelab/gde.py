"""GDE interventions of paper 000 (Jiang, Baek, Kolter 2024, §6, App. B, F.8, F.9; SPEC 6).

Generalization disagreement equality (GDE, Jiang et al. 2022): the test error of a member
of a deep ensemble ≈ the disagreement rate of two members, i.e. agreement ≈ accuracy.
Paper 000 §6 predicts which interventions keep it and which break it:

* **merging classes** into K̃ superclasses (App. F.8) should *not* break it —
  :data:`SUPERCLASSES`, :func:`superclass_map`, :func:`relabel`;
* **re-partitioning data by blue intensity** into five quantile groups G_1..G_5
  (App. F.9) *does* — :func:`blue_intensity`, :func:`blue_thresholds`,
  :func:`blue_groups`, :func:`blue_group_split`;
* **training on a fraction** of the data (App. B, Fig 5b) — :func:`fraction_size`,
  :data:`DEFAULT_FRACTIONS`.

Per condition the ensemble is scored by :func:`ensemble_metrics` (accuracy, agreement and
their difference, SPEC 6 line 1) and :func:`calibration` (reliability, ECE and the
class-aggregated calibration error that bounds the GDE gap, Jiang et al. 2022 Thm 4.2);
:func:`results_table`, :func:`format_markdown` and :func:`format_latex` give Tables 1-2.

Condition names used across the study (and by :mod:`featurelab.data.paper_numbers`):
``super2``, ``super3``, ``super5``, ``super10`` (K̃ superclasses) and ``blue1``..``blue5``
(``blue1`` = G_1 = the *least* blue fifth, group index 0). :func:`superclass_condition`,
:func:`blue_condition` and :func:`parse_condition` convert.

Everything here is pure NumPy/pandas; no model code.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from featurelab.data.prepared import Split
from featurelab.data.sources import CIFAR10_CLASSES

__all__ = [
    "CIFAR10_CLASSES", "SUPERCLASSES", "DEFAULT_FRACTIONS", "METRIC_COLUMNS",
    "superclass_groups", "superclass_map", "relabel",
    "blue_intensity", "blue_thresholds", "blue_groups", "blue_group_split",
    "fraction_size", "pairwise_agreement", "ensemble_metrics", "class_count_free_difference",
    "difference_standard_error",
    "range_ratio_interval", "calibration",
    "results_table", "format_markdown", "format_latex",
    "superclass_condition", "blue_condition", "parse_condition", "condition_label",
]

#: The superclasses of App. F.8 (SPEC 6), as lists of CIFAR-10 class indices
#: (label order of :data:`CIFAR10_CLASSES`: airplane 0, automobile 1, bird 2, cat 3, deer 4,
#: dog 5, frog 6, horse 7, ship 8, truck 9):
#: K̃=2 {airplane, automobile, bird, cat, deer} {dog, frog, horse, ship, truck};
#: K̃=3 {airplane, automobile, bird} {cat, deer, dog} {frog, horse, ship, truck};
#: K̃=5 {airplane, automobile} {bird, cat} {deer, dog} {frog, horse} {ship, truck};
#: K̃=10 the original labels.
SUPERCLASSES: dict[int, list[list[int]]] = {
    2: [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]],
    3: [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]],
    5: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]],
    10: [[i] for i in range(10)],
}

#: Training fractions of Fig 5b (App. B: "5% increment from 5% to 100%").
DEFAULT_FRACTIONS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 21))

#: The columns of :func:`results_table` (Tables 1-2), in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "condition", "accuracy_mean", "accuracy_std", "agreement_mean", "agreement_std",
    "difference_mean", "difference_std",
)


# ---------------------------------------------------------------------------------------
# Condition names
# ---------------------------------------------------------------------------------------

def superclass_condition(k: int) -> str:
    """``super{k}``: the condition name of the K̃ = k superclass run."""
    return f"super{int(k)}"


def blue_condition(group: int) -> str:
    """``blue{group+1}``: the condition name of blue group index ``group`` (0 = G_1, least blue)."""
    return f"blue{int(group) + 1}"


def parse_condition(name: str) -> tuple[str, int]:
    """``"super5"`` → ``("superclass", 5)``; ``"blue1"`` → ``("blue", 0)`` (0-based group index)."""
    m = re.fullmatch(r"(super|blue)(\d+)", str(name))
    if not m:
        raise ValueError(f"not a gde condition name: {name!r} (expected superK or blueI)")
    if m.group(1) == "super":
        return "superclass", int(m.group(2))
    if int(m.group(2)) < 1:
        raise ValueError(f"blue groups are numbered from 1 (blue1 = G1), got {name!r}")
    return "blue", int(m.group(2)) - 1


def condition_label(name: str, latex: bool = False) -> str:
    """Display label of a condition: ``super2`` → ``K̃=2``, ``blue1`` → ``G1``; anything else as is."""
    try:
        study, v = parse_condition(name)
    except ValueError:
        return str(name)
    if study == "superclass":
        return rf"$\tilde K={v}$" if latex else f"K̃={v}"
    return f"$G_{v + 1}$" if latex else f"G{v + 1}"


# ---------------------------------------------------------------------------------------
# Superclasses (App. F.8)
# ---------------------------------------------------------------------------------------

def superclass_groups(num_classes: int, k: int) -> list[list[int]]:
    """The class-index groups of the K̃ = ``k`` superclass partition (App. F.8, SPEC 6 line 2).

    * ``num_classes == 10`` (CIFAR-10, SVHN, Fashion-MNIST, the default synthetic world):
      :data:`SUPERCLASSES` for k ∈ {2, 3, 5, 10} — "the same grouping by class index" —
      and contiguous blocks (below) for any other k;
    * any other ``num_classes``: ``k`` contiguous blocks of class indices whose sizes differ by
      at most one, the larger blocks last (10 → 3 gives 3, 3, 4 exactly like the paper's
      K̃ = 3; 10 → 2 and 10 → 5 also reproduce the paper's partitions).

    ``k == num_classes`` is the identity. Raises ``ValueError`` unless
    ``2 <= k <= num_classes`` (one superclass makes every prediction right, more superclasses
    than classes would leave some empty).
    """
    num_classes, k = int(num_classes), int(k)
    if num_classes < 2:
        raise ValueError(f"superclasses need at least 2 classes, got num_classes={num_classes}")
    if not 2 <= k <= num_classes:
        raise ValueError(
            f"number of superclasses K̃ must lie in [2, {num_classes}] for a "
            f"{num_classes}-class dataset, got {k}"
        )
    if num_classes == 10 and k in SUPERCLASSES:
        return [list(g) for g in SUPERCLASSES[k]]
    base, extra = divmod(num_classes, k)
    sizes = [base] * (k - extra) + [base + 1] * extra  # larger blocks last, as K̃=3 in F.8
    groups, start = [], 0
    for s in sizes:
        groups.append(list(range(start, start + s)))
        start += s
    return groups


def superclass_map(num_classes: int, k: int) -> np.ndarray:
    """int64 array of length ``num_classes``: old label → superclass label (see :func:`superclass_groups`)."""
    out = np.full(int(num_classes), -1, dtype=np.int64)
    for new, group in enumerate(superclass_groups(num_classes, k)):
        out[group] = new
    assert (out >= 0).all()
    return out


def relabel(split: Split, k: int) -> Split:
    """The split with labels merged into K̃ = ``k`` superclasses (App. F.8).

    Images are untouched (shared, not copied); superclass names join the member classes'
    names with ``+`` (``"airplane+automobile"``).
    """
    groups = superclass_groups(split.num_classes, k)
    mapping = superclass_map(split.num_classes, k)
    names = tuple("+".join(split.classes[c] for c in g) for g in groups)
    return Split(split.images, mapping[split.labels], names)


# ---------------------------------------------------------------------------------------
# Blue intensity (App. F.9)
# ---------------------------------------------------------------------------------------

def _rgb(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 1):
        raise ValueError("grayscale dataset: the blue-intensity study needs RGB images "
                         f"(got images of shape {images.shape})")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be an NHWC array with 3 channels, got shape {images.shape}")
    return images


def blue_intensity(images: np.ndarray) -> np.ndarray:
    """Per-image blue intensity b(x) = Σ blue / Σ all channels (App. F.9 eq. 49, SPEC 6 line 3).

    ``images``: uint8 NHWC RGB (N, H, W, 3); pixel values are read on [0, 1] (÷255, which
    cancels in the ratio, so the sums are taken exactly in integers). Returns float64 (N,)
    in [0, 1]. An all-black image (Σ = 0) gets b = 1/3, the value of any grey image (our
    convention; the paper's formula is 0/0 there). One-channel (grayscale) images raise
    ``ValueError`` — the study needs RGB.
    """
    images = _rgb(images)
    if images.dtype == np.uint8 or np.issubdtype(images.dtype, np.integer):
        blue = images[..., 2].reshape(len(images), -1).sum(axis=1, dtype=np.int64)
        total = images.reshape(len(images), -1).sum(axis=1, dtype=np.int64)
    else:  # float images on [0, 1] are accepted too
        blue = images[..., 2].reshape(len(images), -1).sum(axis=1, dtype=np.float64)
        total = images.reshape(len(images), -1).sum(axis=1, dtype=np.float64)
    out = np.full(len(images), 1.0 / 3.0)
    nz = total > 0
    out[nz] = blue[nz] / total[nz]
    return out


def _b_values(images_or_b: np.ndarray) -> np.ndarray:
    a = np.asarray(images_or_b)
    if a.ndim == 1:
        return a.astype(np.float64)
    return blue_intensity(a)


def blue_thresholds(train_images: np.ndarray, n_groups: int = 5) -> np.ndarray:
    """Thresholds of the blue groups from the training set (App. F.9 eq. 50, SPEC 6 line 3).

    With F the empirical CDF of b over the training set, F(b) = #{j : b_j ≤ b} / n, group i is
    ``G_i = {x : i/n_groups < F(b(x)) ≤ (i+1)/n_groups}`` (0.2 i < F ≤ 0.2 (i+1) for 5 groups).
    Since F(b) > i/G ⟺ #{b_j ≤ b} ≥ ⌊i n / G⌋ + 1 ⟺ b ≥ b_(⌊i n/G⌋) (sorted, 0-based), the
    returned thresholds are those order statistics, t_i = sorted(b)[⌊i n / G⌋] for
    i = 1..G−1 (integer arithmetic, so 0.2·3 = 0.6000000000000001 plays no role), and
    :func:`blue_groups` puts x in group #{i : b(x) ≥ t_i}. This matches eq. 50 exactly,
    ties included (tied training points all fall in the same group, so groups may then be
    unequal).

    ``train_images``: uint8 NHWC RGB images, or a 1-D array of precomputed b values.
    Returns float64 (n_groups − 1,), non-decreasing.
    """
    n_groups = int(n_groups)
    if n_groups < 1:
        raise ValueError(f"n_groups must be ≥ 1, got {n_groups}")
    b = np.sort(_b_values(train_images))
    n = len(b)
    if n < n_groups:
        raise ValueError(f"need at least n_groups={n_groups} training images, got {n}")
    idx = np.array([(i * n) // n_groups for i in range(1, n_groups)], dtype=np.int64)
    return b[idx].astype(np.float64)


def blue_groups(images: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Group index (0 = G_1, least blue … len(thresholds) = most blue) of every image.

    ``images``: uint8 NHWC RGB or 1-D b values; ``thresholds`` from :func:`blue_thresholds`
    on the *training* set (test points use the training thresholds, App. F.9). A test image
    bluer than nothing in the training set (F = 0, in no G_i of eq. 50) goes to group 0.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or (len(t) > 1 and np.any(np.diff(t) < 0)):
        raise ValueError("thresholds must be a non-decreasing 1-D array (see blue_thresholds)")
    return np.searchsorted(t, _b_values(images), side="right").astype(np.int64)


def blue_group_split(split: Split, thresholds: np.ndarray, group: int) -> Split:
    """The points of ``split`` in blue group ``group`` (0-based; 0 = G_1, least blue).

    Labels are unchanged and every class stays in the class list (a group may lack some
    classes). Models train on a group's training points and are evaluated on the same group's
    test points, both cut with the *training* thresholds (App. F.9, SPEC 6).
    """
    n_groups = len(np.asarray(thresholds)) + 1
    group = int(group)
    if not 0 <= group < n_groups:
        raise ValueError(f"group must lie in [0, {n_groups}), got {group}")
    keep = np.flatnonzero(blue_groups(split.images, thresholds) == group)
    return Split(split.images[keep], split.labels[keep], split.classes)


# ---------------------------------------------------------------------------------------
# Data fraction (App. B, Fig 5b)
# ---------------------------------------------------------------------------------------

def fraction_size(n_train: int, fraction: float) -> int:
    """Training points for a data fraction (Fig 5b): round half up of n·fraction, ≥ 1, ≤ n.

    ``fraction`` must lie in (0, 1].
    """
    n_train = int(n_train)
    fraction = float(fraction)
    if n_train < 1:
        raise ValueError(f"n_train must be ≥ 1, got {n_train}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    # 1e-9 guards 0.35·100 = 35.00000000000001-style errors both ways
    return int(min(n_train, max(1, math.floor(n_train * fraction + 0.5 + 1e-9))))


# ---------------------------------------------------------------------------------------
# Accuracy, agreement, difference (§6, Tables 1-2)
# ---------------------------------------------------------------------------------------

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
    same label (diagonal 1). SPEC 6 line 1."""
    p, _ = _predictions(predictions)
    iu, ju, same = _pairs(p)
    out = np.ones((p.shape[0], p.shape[0]))
    out[iu, ju] = out[ju, iu] = same.mean(axis=1)
    return out


def _std(x: np.ndarray, ddof: int) -> float:
    return float(np.std(x, ddof=ddof)) if len(x) > ddof else float("nan")


def ensemble_metrics(predictions: np.ndarray, labels: np.ndarray, ddof: int = 1) -> dict[str, float]:
    """Accuracy, agreement and their difference for one ensemble (§6, Tables 1-2; SPEC 6 line 1).

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
                         draws: int = 20000, seed: int = 0) -> dict[str, float]:
    """How sure the comparison "agreement − accuracy varies more across blue groups than
    across superclass merges" (§6) is, given each condition's standard error.

    Each condition's difference is redrawn as Normal(mean, se²) ``draws`` times; returned:
    ``ratio`` (the observed blue range / superclass range), ``ratio_q05`` / ``ratio_q50`` /
    ``ratio_q95`` (quantiles of the redrawn ratio) and ``p_blue_larger`` (the fraction of
    draws whose blue range exceeds the superclass range). A NaN standard error counts as 0.
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
    return {"ratio": observed, "ratio_q05": float(q05), "ratio_q50": float(q50),
            "ratio_q95": float(q95), "p_blue_larger": float(np.mean(rb > rs))}


# ---------------------------------------------------------------------------------------
# Calibration (§6 last paragraph; Jiang et al. 2022 Thm 4.2)
# ---------------------------------------------------------------------------------------

def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins on [0, 1], right-closed: (0, 1/B], …, ((B−1)/B, 1]; 0 goes to bin 0."""
    return np.clip(np.ceil(conf * n_bins - 1e-12).astype(np.int64) - 1, 0, n_bins - 1)


def _reliability(conf: np.ndarray, correct: np.ndarray, n_bins: int, view: str,
                 total: int | None = None) -> tuple[pd.DataFrame, float]:
    """Reliability bins of (confidence, correctness) pairs and Σ_b (n_b / total) |acc_b − conf_b|."""
    idx = _bin_index(conf, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    s_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    s_corr = np.bincount(idx, weights=correct.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mconf = np.where(count > 0, s_conf / np.maximum(count, 1), np.nan)
        macc = np.where(count > 0, s_corr / np.maximum(count, 1), np.nan)
    total = len(conf) if total is None else total
    err = float(np.abs(s_corr - s_conf).sum() / total) if total else float("nan")
    df = pd.DataFrame({
        "view": view, "bin": np.arange(n_bins), "lower": np.arange(n_bins) / n_bins,
        "upper": np.arange(1, n_bins + 1) / n_bins, "count": count,
        "confidence": mconf, "accuracy": macc, "gap": macc - mconf,
    })
    return df, err


def _ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    conf = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    return _reliability(conf, correct, n_bins, "")[1]


def calibration(logits: np.ndarray, labels: np.ndarray, n_bins: int = 10
                ) -> tuple[dict[str, float], pd.DataFrame]:
    """Calibration of an ensemble (§6: GDE fails ⇒ the ensemble is not calibrated on the group).

    ``logits``: (M, N, C) logits of M members on N test points; ``labels``: (N,).
    Returns ``(summary, bins)``.

    ``summary`` (floats):

    * ``ece_ensemble``: expected calibration error of the ensemble's top label, the ensemble
      probability being the mean of the members' softmax; ``accuracy_ensemble``,
      ``confidence_ensemble`` (mean top-label probability);
    * ``ece_member_mean`` / ``ece_member_std``: each member's own top-label ECE, averaged;
      ``accuracy_member_mean``, ``confidence_member_mean``;
    * ``cace_vote``: the class-aggregated calibration error (Jiang et al. 2022, Def. 4.3) of
      the *vote* ensemble h̃_k(x) = fraction of members predicting k — the ensemble GDE is
      about. Bins are the M+1 vote levels q ∈ {0, 1/M, …, 1}, so that
      CACE = Σ_q |(1/N) Σ_{(x,k): h̃_k(x)=q} (1[y=k] − q)| and the GDE gap below obeys
      |gde_gap_iid| ≤ cace_vote exactly (their Thm 4.2);
    * ``test_error``: mean member error; ``disagreement_iid``: E_x[1 − Σ_k h̃_k(x)²], the
      disagreement of two members drawn independently *with replacement* (Jiang et al.'s
      definition); ``gde_gap_iid = disagreement_iid − test_error``;
    * ``cace_softmax``: the same class-aggregated error for the softmax ensemble on
      ``n_bins`` equal-width bins; ``n_members``, ``n_points``, ``n_bins``.

    ``bins`` (one row per view and bin; columns view, bin, lower, upper, count, confidence,
    accuracy, gap): view ``ensemble`` (top label of the softmax ensemble), ``member`` (top
    labels of all members pooled), ``class_aggregated`` (all (x, k) pairs of the softmax
    ensemble: confidence = p_k(x), accuracy = frequency of y = k). Bins are equal-width on
    [0, 1], right-closed; empty bins have NaN confidence/accuracy.
    """
    z = np.asarray(logits)
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3:
        raise ValueError(f"logits must be (members, points, classes), got shape {z.shape}")
    m, n, c = z.shape
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    if n == 0:
        raise ValueError("no test points")
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be ≥ 1, got {n_bins}")
    probs = _softmax(z)                      # (M, N, C)
    ens = probs.mean(axis=0)                 # (N, C)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), y] = 1.0

    ens_conf = ens.max(axis=1)
    ens_correct = ens.argmax(axis=1) == y
    bins_ens, ece_ens = _reliability(ens_conf, ens_correct, n_bins, "ensemble")

    mem_conf = probs.max(axis=2)             # (M, N)
    mem_pred = probs.argmax(axis=2)
    mem_correct = mem_pred == y[None, :]
    bins_mem, _ = _reliability(mem_conf.ravel(), mem_correct.ravel(), n_bins, "member")
    member_eces = np.array([_ece(probs[i], y, n_bins) for i in range(m)])

    bins_cls, cace_soft = _reliability(ens.ravel(), onehot.ravel() > 0.5, n_bins,
                                       "class_aggregated", total=n)

    votes = np.zeros((n, c))
    for i in range(m):
        votes[np.arange(n), mem_pred[i]] += 1.0
    level = votes.astype(np.int64).ravel()   # vote counts 0..M
    hv = votes / m
    resid = onehot.ravel() - hv.ravel()
    cace_vote = float(np.abs(np.bincount(level, weights=resid, minlength=m + 1)).sum() / n)
    test_error = float(1.0 - mem_correct.mean())
    dis_iid = float(np.mean(1.0 - (hv ** 2).sum(axis=1)))

    summary = {
        "ece_ensemble": ece_ens,
        "accuracy_ensemble": float(ens_correct.mean()),
        "confidence_ensemble": float(ens_conf.mean()),
        "ece_member_mean": float(member_eces.mean()),
        "ece_member_std": _std(member_eces, 1),
        "accuracy_member_mean": float(mem_correct.mean()),
        "confidence_member_mean": float(mem_conf.mean()),
        "cace_vote": cace_vote,
        "cace_softmax": cace_soft,
        "test_error": test_error,
        "disagreement_iid": dis_iid,
        "gde_gap_iid": dis_iid - test_error,
        "n_members": int(m),
        "n_points": int(n),
        "n_bins": n_bins,
    }
    bins = pd.concat([bins_ens, bins_mem, bins_cls], ignore_index=True)
    return summary, bins


# ---------------------------------------------------------------------------------------
# Tables 1-2
# ---------------------------------------------------------------------------------------

def results_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Tables 1-2 as a DataFrame: one row per condition.

    ``rows``: dicts holding ``condition`` and the keys of :func:`ensemble_metrics` (typically
    ``{"condition": name, **ensemble_metrics(pred, y)}``). Columns: :data:`METRIC_COLUMNS`
    first, then any further keys in first-seen order (e.g. ``n_members``, ``fraction``).
    Row order is kept.
    """
    rows = [dict(r) for r in rows]
    if not rows:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    for i, r in enumerate(rows):
        missing = [c for c in METRIC_COLUMNS if c not in r]
        if missing:
            raise ValueError(f"row {i} lacks {missing}")
    extra: list[str] = []
    for r in rows:
        extra += [k for k in r if k not in METRIC_COLUMNS and k not in extra]
    df = pd.DataFrame(rows, columns=list(METRIC_COLUMNS) + extra)
    df["condition"] = df["condition"].astype(str)
    return df


def _pm(mean: Any, std: Any, digits: int, pm: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    s = f"{float(mean):.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        s += f"{pm}{float(std):.{digits}f}"
    return s


def _num(x: Any, digits: int, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):+.{digits}f}" if signed else f"{float(x):.{digits}f}"


def _cells(df: pd.DataFrame, paper: pd.DataFrame | None, digits: int, latex: bool
           ) -> tuple[list[str], list[list[str]]]:
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing} (use results_table)")
    pm = r" $\pm$ " if latex else " ± "
    head = ["condition", "accuracy", "agreement", "agr − acc" if not latex else r"agr $-$ acc"]
    pap = None
    if paper is not None:
        if "condition" not in paper.columns or not {"accuracy", "agreement"} <= set(paper.columns):
            raise ValueError("paper must have columns condition, accuracy, agreement "
                             "(see featurelab.data.paper_numbers.paper_table)")
        pap = paper.set_index(paper["condition"].astype(str))
        if latex:
            head += ["paper acc.", "paper agr.", r"paper agr $-$ acc", r"$\Delta$ acc", r"$\Delta$ agr"]
        else:
            head += ["paper accuracy", "paper agreement", "paper agr − acc",
                     "Δ acc (ours − paper)", "Δ agr (ours − paper)"]
    body = []
    for _, r in df.iterrows():
        cond = str(r["condition"])
        label = condition_label(cond, latex=latex)
        row = [label,
               _pm(r["accuracy_mean"], r["accuracy_std"], digits, pm),
               _pm(r["agreement_mean"], r["agreement_std"], digits, pm),
               _pm(r["difference_mean"], r["difference_std"], digits, pm)]
        if pap is not None:
            if cond in pap.index:
                p = pap.loc[cond]
                pa, pg = float(p["accuracy"]), float(p["agreement"])
                pa_s = float(p["accuracy_std"]) if "accuracy_std" in pap.columns else None
                pg_s = float(p["agreement_std"]) if "agreement_std" in pap.columns else None
                pd_ = float(p["difference"]) if "difference" in pap.columns else pg - pa
                row += [_pm(pa, pa_s, digits, pm), _pm(pg, pg_s, digits, pm), _num(pd_, digits),
                        _num(float(r["accuracy_mean"]) - pa, digits, True),
                        _num(float(r["agreement_mean"]) - pg, digits, True)]
            else:
                row += ["—"] * 5
        body.append(row)
    return head, body


def format_markdown(df: pd.DataFrame, paper: pd.DataFrame | None = None, digits: int = 2) -> str:
    """Tables 1-2 as a Markdown table with "mean ± std" cells (std over members / pairs).

    ``df``: :func:`results_table`. ``paper``: optional DataFrame with columns condition,
    accuracy, agreement (and optionally accuracy_std, agreement_std, difference), e.g.
    :func:`featurelab.data.paper_numbers.paper_table`; its numbers are put beside ours
    with the differences ours − paper. Conditions are shown as K̃=k / G_i.
    """
    head, body = _cells(df, paper, digits, latex=False)
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def format_latex(df: pd.DataFrame, paper: pd.DataFrame | None = None, digits: int = 2,
                 caption: str | None = None) -> str:
    """Tables 1-2 as a LaTeX ``tabular`` (booktabs rules), same cells as :func:`format_markdown`.

    Wrapped in a ``table`` environment with ``caption`` when one is given.
    """
    head, body = _cells(df, paper, digits, latex=True)
    cols = "l" + "r" * (len(head) - 1)
    lines = [rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    def tex(cell: str) -> str:
        cell = cell.replace("—", "--")
        return "$-$" + cell[1:] if cell.startswith("-") else cell

    lines += [" & ".join(tex(c) for c in row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}"] + lines + [r"\end{table}"]
    return "\n".join(lines) + "\n"
