"""The datasets of the GDE interventions of Jiang, Baek, Kolter ("On the Joint Interaction of
Models, Data, and Features", ICLR 2024, §6, App. B, F.8, F.9).

* **merging classes** into K̃ superclasses (App. F.8) should *not* break GDE —
  :data:`SUPERCLASSES`, :func:`superclass_map`, :func:`relabel`;
* **re-partitioning data by blue intensity** into five quantile groups G_1..G_5
  (App. F.9) *does* — :func:`blue_intensity`, :func:`blue_thresholds`,
  :func:`blue_groups`, :func:`blue_group_split`;
* **training on a fraction** of the data (App. B, Fig 5b) — :data:`DEFAULT_FRACTIONS`
  (the sizes: :func:`featurelab.plan.fraction_size`).

Pure NumPy; no model code.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data.prepared import Split

if TYPE_CHECKING:
    import pandas as pd

from ..plan import fraction_size  # noqa: F401  (the sizes, computed by the planner)

#: The superclasses of App. F.8, as lists of CIFAR-10 class indices
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


def superclass_groups(num_classes: int, k: int) -> list[list[int]]:
    """The class-index groups of the K̃ = ``k`` superclass partition (App. F.8).

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


def _rgb(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 1):
        raise ValueError("grayscale dataset: the blue-intensity study needs RGB images "
                         f"(got images of shape {images.shape})")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be an NHWC array with 3 channels, got shape {images.shape}")
    return images


def blue_intensity(images: np.ndarray) -> np.ndarray:
    """Per-image blue intensity b(x) = Σ blue / Σ all channels (App. F.9 eq. 49).

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
    """Thresholds of the blue groups from the training set (App. F.9 eq. 50).

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
    test points, both cut with the *training* thresholds (App. F.9).
    """
    n_groups = len(np.asarray(thresholds)) + 1
    group = int(group)
    if not 0 <= group < n_groups:
        raise ValueError(f"group must lie in [0, {n_groups}), got {group}")
    keep = np.flatnonzero(blue_groups(split.images, thresholds) == group)
    return Split(split.images[keep], split.labels[keep], split.classes)



def blue_group_info(train: Split, n_groups: int, group: int, truth: "pd.DataFrame | None" = None) -> dict:
    """What a blue-group dataset records about itself: its group (1-based, G1 = least blue),
    the number of groups, the thresholds of b(x) cut on ``train``, and, on a synthetic world
    (``truth`` with the generator's ``dominant`` and ``rare_pool`` per training image), the
    mean size of the rare-motif pool its rare training images draw from."""
    if not 1 <= group <= n_groups:
        raise ValueError(f"blue group {group} does not exist; there are {n_groups} (gde.blue_groups)")
    thresholds = blue_thresholds(train.images, n_groups)
    info: dict = {"group": int(group), "n_groups": int(n_groups), "thresholds": thresholds}
    if truth is not None:
        rare = (blue_groups(train.images, thresholds) == group - 1) & ~truth["dominant"].to_numpy(dtype=bool)
        info["rare_pool_mean"] = float(truth["rare_pool"].to_numpy()[rare].mean()) if rare.any() else float("nan")
    return info
