"""The prepared-dataset format shared by every loader.

A prepared split is one uncompressed ``.npz`` file holding

* ``images``: uint8 array, NHWC (N, H, W, C), C = 3 for colour, 1 for grayscale;
* ``labels``: int64 array (N,);
* ``classes``: unicode array (num_classes,) with the class names, in label order.

Uncompressed ``.npz`` is read with one ``np.load``; a CIFAR-10-sized split
(50,000 × 32 × 32 × 3 = 153 MB) loads in a fraction of a second.
The file is written to a temporary name and renamed, so a killed job never
leaves a half-written split that looks complete.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Split:
    """One prepared split: images (uint8 NHWC), labels (int64) and class names."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(
                f"images must be a uint8 NHWC array, got dtype {self.images.dtype} "
                f"and shape {self.images.shape}"
            )
        if self.images.shape[-1] not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got shape {self.images.shape}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape ({self.images.shape[0]},), got {self.labels.shape}"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(
                f"labels must lie in [0, {len(self.classes)}), got range "
                f"[{self.labels.min()}, {self.labels.max()}]"
            )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def save_split(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray,
               classes: list[str] | tuple[str, ...]) -> Path:
    """Validate and write one prepared split atomically (temp file + rename)."""
    split = Split(np.ascontiguousarray(images, dtype=np.uint8) if images.dtype == np.uint8 else images,
                  np.asarray(labels, dtype=np.int64), tuple(str(c) for c in classes))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, images=split.images, labels=split.labels,
             classes=np.array(split.classes, dtype=np.str_))
    os.replace(tmp, path)
    return path


def load_split(path: str | os.PathLike) -> Split:
    """Read a split written by :func:`save_split`."""
    with np.load(Path(path), allow_pickle=False) as z:
        return Split(z["images"], z["labels"].astype(np.int64, copy=False),
                     tuple(str(c) for c in z["classes"]))


def holdout_indices(labels: np.ndarray, n_val: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(len(labels))`` into (train, validation) index arrays, sorted, with
    ``n_val`` validation points drawn at random *stratified by class*: class ``c`` gets its
    largest-remainder share of ``n_val`` in proportion to its count."""
    labels = np.asarray(labels)
    n = labels.size
    if not 0 < n_val < n:
        raise ValueError(f"a validation split of {n_val} points needs 0 < n_val < {n}")
    classes, counts = np.unique(labels, return_counts=True)
    exact = n_val * counts / n
    quota = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[: n_val - quota.sum()]] += 1
    rng = np.random.default_rng(seed)
    val = np.concatenate([rng.choice(np.flatnonzero(labels == c), q, replace=False)
                          for c, q in zip(classes, quota)])
    val.sort()
    train = np.setdiff1d(np.arange(n), val, assume_unique=True)
    return train, val
