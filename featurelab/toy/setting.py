"""The toy setting of Duzgun, Jelassi, Li ("How Does Overparameterization Affect Features?", arXiv
2407.00968, 2024, §4 and App. C): wide networks learn features that a concatenation of narrow
networks cannot.

Data (:func:`generate`). Five orthonormal *signal vectors* w_1..w_5 ∈ R^d
(:func:`signal_vectors`); w_1, w_2 are the *addition* vectors, w_3, w_4, w_5 the
*multiplication* vectors. A sample is P patches x = (x_1, ..., x_P), x_p ∈ R^d:

1. signs s_1..s_5 uniform in {−1, +1}, independently;
2. label y = sign(s_1 + s_2 + s_3 s_4 s_5) (:func:`label`);
3. signal patches: five distinct patch indices p_1..p_5 drawn uniformly, x_{p_j} = s_j w_j;
4. noise patches: every other patch is ξ − Π ξ with ξ ~ N(0, σ_n² I_d) and Π the
   projection onto span(w_1..w_5), so noise is orthogonal to every signal vector;
   σ_n² = noise_norm² / (d − 5), so E‖x_p‖² = noise_norm², a little above the signal
   norm 1 (App. C: noise patches activate neurons a little more easily than signal).

The paper's label formula was lost from our copy; y = sign(s_1 + s_2 + s_3 s_4 s_5) is
*our reconstruction* from its text: the label is a linear combination of a sum and a
product of the signs, it is never tied, knowing one addition sign (or both) gives 75%
accuracy, knowing all but one multiplication sign adds nothing (y is independent of any
two of s_3, s_4, s_5), and knowing all five gives 100%.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Indices (0-based) of the addition and multiplication signal vectors among w_1..w_5.
ADDITION: tuple[int, ...] = (0, 1)
MULTIPLICATION: tuple[int, ...] = (2, 3, 4)
N_SIGNALS = 5
#: The kind of each signal vector w_1..w_5.
KIND: tuple[str, ...] = tuple("addition" if j in ADDITION else "multiplication" for j in range(N_SIGNALS))


@dataclass(frozen=True)
class ToyData:
    """One split of the toy distribution.

    ``x`` (N, P, d) float32 patches, ``y`` (N,) int8 labels in {−1, +1}, ``signs`` (N, 5)
    int8 s_1..s_5, ``positions`` (N, 5) int64 patch index of each signal vector's patch,
    ``signals`` (5, d) float64 orthonormal w_1..w_5 (rows).
    """

    x: np.ndarray
    y: np.ndarray
    signs: np.ndarray
    positions: np.ndarray
    signals: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def signal_vectors(d: int, rng: np.random.Generator, k: int = N_SIGNALS) -> np.ndarray:
    """k orthonormal vectors of R^d as rows (QR of a Gaussian matrix), a uniformly random frame."""
    if d < k + 1:
        raise ValueError(f"dimension d={d} must exceed the {k} signal vectors (noise lives in the complement)")
    q, r = np.linalg.qr(rng.standard_normal((d, k)))
    return (q * np.sign(np.diag(r))).T.copy()


def label(signs: np.ndarray) -> np.ndarray:
    """y = sign(s_1 + s_2 + s_3 s_4 s_5) for signs (..., 5) in {−1, +1}; never 0 (the sum is odd)."""
    s = np.asarray(signs, dtype=np.int64)
    return np.sign(s[..., 0] + s[..., 1] + s[..., 2] * s[..., 3] * s[..., 4]).astype(np.int8)


def make_samples(n: int, signals: np.ndarray, patches: int, noise_norm: float,
                 rng: np.random.Generator) -> ToyData:
    """n samples of the toy distribution around the given signal vectors (see the module docstring)."""
    k, d = signals.shape
    if patches < k:
        raise ValueError(f"{patches} patches cannot hold the {k} signal patches")
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, k))
    positions = np.argsort(rng.random((n, patches)), axis=1)[:, :k]  # k distinct patches, uniformly
    sigma_n = noise_norm / math.sqrt(d - k)
    xi = rng.standard_normal((n, patches, d)) * sigma_n
    x = xi - (xi @ signals.T) @ signals  # project out span(w_1..w_5)
    rows = np.arange(n)[:, None]
    x[rows, positions] = signs[..., None] * signals[None]
    return ToyData(x.astype(np.float32), label(signs), signs, positions.astype(np.int64), signals)


@dataclass(frozen=True)
class ToySetting:
    """Sizes of the distribution (defaults: the workflow's CPU-sized setting)."""

    dim: int = 30
    patches: int = 7
    noise_norm: float = 1.1
    n_train: int = 20000
    n_test: int = 2000

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ToySetting":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def generate(setting: ToySetting, seed: int) -> tuple[ToyData, ToyData]:
    """Train and test splits for ``seed``: the same signal vectors, independent samples.

    Deterministic: the signal vectors come from ``default_rng([seed, 0])``, the training
    split from ``[seed, 1]``, the test split from ``[seed, 2]``.
    """
    signals = signal_vectors(setting.dim, np.random.default_rng([seed, 0]))
    train = make_samples(setting.n_train, signals, setting.patches, setting.noise_norm,
                         np.random.default_rng([seed, 1]))
    test = make_samples(setting.n_test, signals, setting.patches, setting.noise_norm,
                        np.random.default_rng([seed, 2]))
    return train, test


def activation_probability(bias: float, sigma: float, norm: float = 1.0) -> float:
    """P(⟨W_r, v⟩ > b) for W_r ~ N(0, σ² I) and a fixed v of norm ``norm``: Q(b / (σ‖v‖)).

    For a signal vector (norm 1) a neuron fires on s_j w_j for one sign when
    |⟨W_r, w_j⟩| > b, probability 2 Q(b/σ).
    """
    return 0.5 * math.erfc(bias / (sigma * norm) / math.sqrt(2))
