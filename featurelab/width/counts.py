"""Member counts of the width study (Duzgun, Jelassi, Li, "How Does Overparameterization Affect
Features?", arXiv 2407.00968, 2024, §2.4), from the real parameter counts and without PyTorch
(the planner needs them while it plans the DAG).

``N_f(α) = ⌈1/α⌉`` members match the base model's number of features; ``N_p(α)`` = smallest
``N`` with ``N·params(M_α) ≥ params(M_1)``, counted on the networks of
:mod:`featurelab.models` (:func:`featurelab.architecture.parameter_count`).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

from ..architecture import feature_dim, parameter_count

if TYPE_CHECKING:
    import pandas as pd


def _as_fraction(alpha: float | str | Fraction) -> Fraction:
    """``alpha`` (float, Fraction or a string such as ``"1/16"``) as an exact fraction.

    Floats are read as the short fraction they stand for (``1/3`` → 1/3, ``0.0625`` → 1/16).
    """
    if isinstance(alpha, str):
        frac = Fraction(alpha.strip())
    elif isinstance(alpha, Fraction):
        frac = alpha
    else:
        frac = Fraction(float(alpha)).limit_denominator(1_000_000)
    if frac <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    return frac


def n_f(alpha: float | str) -> int:
    """``N_f(α) = ⌈1/α⌉`` (paper §2.4): members whose concatenated penultimate
    features are at least as many as the base model's (each ``M_α`` has ``α·d`` features)."""
    return math.ceil(1 / _as_fraction(alpha))


def model_parameters(arch: str, alpha: float | str = 1.0, num_classes: int = 10,
                     in_channels: int = 3, base_width: float = 1.0) -> int:
    """``params(M_α)``: the parameter count of ``featurelab.models.build_model(arch,
    num_classes, base_width·α)`` (every trainable tensor, batch-norm affine parameters
    included), by :func:`featurelab.architecture.parameter_count` — the same number without
    importing PyTorch (tests check the two agree)."""
    return parameter_count(arch, float(base_width) * float(_as_fraction(alpha)), int(num_classes),
                           int(in_channels))


def n_p(alpha: float | str, arch: str, num_classes: int = 10, in_channels: int = 3,
        base_width: float = 1.0) -> int:
    """``N_p(α)``: smallest ``N`` with ``N·params(M_α) ≥ params(M_1)`` (
    paper §2.4), from the real parameter counts of :mod:`featurelab.models`; ``M_1`` is the
    network at ``base_width`` and ``M_α`` the one at ``base_width·α``."""
    base = model_parameters(arch, 1.0, num_classes, in_channels, base_width)
    low = model_parameters(arch, alpha, num_classes, in_channels, base_width)
    return -(-base // low)


def member_counts(arch: str, alphas: Sequence[float | str], num_classes: int = 10,
                  in_channels: int = 3, base_width: float = 1.0) -> "pd.DataFrame":
    """Table of ``alpha, width, feature_dim, params, params_ratio, n_f, n_p`` for ``arch``
    (the N_f/N_p table in Duzgun, Jelassi, Li's appendix).

    ``width`` is the absolute width factor ``base_width·α``, ``feature_dim`` the penultimate
    width of ``M_α``, ``params_ratio`` is ``params(M_1)/params(M_α)`` (so
    ``n_p = ⌈params_ratio⌉``).
    """
    import pandas as pd

    base = model_parameters(arch, 1.0, num_classes, in_channels, base_width)
    rows = []
    for a in alphas:
        frac = _as_fraction(a)
        params = model_parameters(arch, frac, num_classes, in_channels, base_width)
        rows.append({
            "alpha": float(frac),
            "width": float(base_width) * float(frac),
            "feature_dim": feature_dim(arch, float(base_width) * float(frac)),
            "params": params,
            "params_ratio": base / params,
            "n_f": n_f(frac),
            "n_p": -(-base // params),
        })
    return pd.DataFrame(rows, columns=["alpha", "width", "feature_dim", "params", "params_ratio", "n_f", "n_p"])


def counts_table(plan_counts: dict) -> "pd.DataFrame":
    """The N_f/N_p table of every architecture (:func:`member_counts`), with the members the
    workflow trains beside it; ``plan_counts``: :meth:`featurelab.plan.Plan.width_counts`."""
    import pandas as pd

    c = plan_counts
    tables = []
    for arch in c["archs"]:
        t = member_counts(arch, c["alphas"], num_classes=c["num_classes"], in_channels=c["in_channels"],
                          base_width=c["base_width"])
        t.insert(0, "arch", arch)
        t["members_trained"] = c["members"][arch]
        tables.append(t)
    return pd.concat(tables, ignore_index=True)
