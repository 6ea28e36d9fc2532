"""The numerical setting's sizes, optimiser settings and runs (Zhang et al., "Feature
Contamination: Neural Networks Learn Uncorrelated Features and Fail to Generalize", ICML 2024,
Sec. 3.2 and App. F.1), without PyTorch, so that a config is checked before any job
(:mod:`featurelab.config`); the engine is :mod:`.numerical`."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

TASKS: tuple[str, ...] = ("classification", "regression", "spheres")
ACTIVATIONS: tuple[str, ...] = ("relu", "identity", "gelu", "sigmoid", "tanh")
VARIANTS: tuple[str, ...] = ("code", "theory")


@dataclass(frozen=True)
class NumericalSetting:
    """Sizes and optimiser settings (defaults: Zhang et al. (ICML 2024), Sec. 3.2 and App. F.1,
    and the authors' released script ``toy.py``).

    ``d``: the input dimension; ``core``/``background``: the numbers of core and background
    dictionary vectors; ``width``: m; ``n_train``: the fixed training points of the
    full-batch (``code``) runs; ``batch_size``: the fresh i.i.d. ID batch the ``theory``
    variant draws at every iteration (Sec. 3.2, Eq. 3; the paper's batch size is a
    polynomial in d whose value our copy lost, so by default as many points as the code
    variant's full batch); ``n_test``: ID and OOD test points; ``lr``/``momentum``/
    ``weight_decay``: the SGD of the code variant (App. F.1: learning rate 1e-3, weight decay
    1e-3; the released script's momentum 0.9); the theory variant uses ``lr`` and
    ``weight_decay`` with momentum 0 (Eq. 4); ``iterations``: SGD/AdamW steps (20,000 in
    the paper); ``record_every``: iterations between two points of the curves; ``radii``:
    (r_{+1}, r_{−1}) of the spheres task; ``adam_lr``/``adam_weight_decay``: AdamW's for
    the spheres task (the released script's: 1e-3 and 1e-3).
    """

    d: int = 256
    core: int = 32
    background: int = 32
    width: int = 256
    n_train: int = 1000
    batch_size: int = 1000
    n_test: int = 2000
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-3
    iterations: int = 20000
    record_every: int = 100
    radii: tuple[float, float] = (1.0, 2.0)
    adam_lr: float = 1e-3
    adam_weight_decay: float = 1e-3

    def __post_init__(self) -> None:
        if isinstance(self.radii, (str, bytes)) or not hasattr(self.radii, "__len__"):
            raise ValueError(f"radii must be two numbers (r for y=+1, r for y=-1), got {self.radii!r}")
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))
        if len(self.radii) != 2 or min(self.radii) <= 0:
            raise ValueError(f"radii must be two positive numbers (r for y=+1, r for y=-1), got {self.radii}")
        for name in ("d", "core", "background", "width", "n_test", "record_every", "batch_size", "iterations",
                     "n_train"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {v!r}")
        for name in ("d", "core", "background", "width", "n_test", "record_every", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.n_train < 2:
            raise ValueError(f"n_train must be at least 2 (one point of each label), got {self.n_train!r}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations!r}")
        for name in ("lr", "adam_lr"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        for name in ("momentum", "weight_decay", "adam_weight_decay"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {v!r}")
        if self.momentum >= 1:
            raise ValueError(f"momentum must be below 1, got {self.momentum!r}")
        if self.core + self.background > self.d:
            raise ValueError(f"core + background = {self.core + self.background} orthonormal vectors do not fit "
                             f"in R^{self.d}")

    @property
    def features(self) -> int:
        """d0 = core + background, the size of the dictionary."""
        return self.core + self.background

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, strict: bool = False) -> "NumericalSetting":
        """The setting with the fields that ``d`` names; other keys are ignored, or refused
        (naming them) with ``strict``."""
        d = d or {}
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if strict and unknown:
            raise ValueError(f"unknown keys {unknown}; allowed: {', '.join(sorted(names))}")
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class Run:
    """One network: ``task`` in :data:`TASKS`, ``activation`` in :data:`ACTIVATIONS`,
    ``variant`` in :data:`VARIANTS` (the spheres task has only ``"code"``: PyTorch's
    default init, both layers trained), ``seed`` a non-negative integer."""

    task: str
    activation: str = "relu"
    variant: str = "code"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        if self.task == "spheres" and self.variant != "code":
            raise ValueError(f"variant {self.variant!r} is not defined for the spheres task (both layers trained "
                             "from PyTorch's default init); use 'code'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def label(self) -> str:
        return f"{self.task}/{self.activation}/{self.variant}/seed{self.seed}"


#: The curves of a result: 1-D arrays, one entry per recorded iteration.
CURVES: tuple[str, ...] = ("iteration", "train_loss", "id_loss", "ood_loss", "id_error", "ood_error",
                           "core_norm", "bg_norm", "perp_norm", "asymmetry", "bg_signed", "bg_signed_pos",
                           "bg_signed_neg", "core_signed", "id_zero_risk", "ood_zero_risk")
