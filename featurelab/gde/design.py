"""Designing a world in which GDE holds, from the closed form of Jiang, Baek, Kolter, "On the
Joint Interaction of Models, Data, and Features" (ICLR 2024) §5, before any network is trained.

Prop. 5.1 / 5.2 give a member's accuracy and a pair's agreement from the world's ``p_d, t_d,
t_r, n_d, n_r``, the model's capacity ``c`` and the agreement function ζ of two models that
share features but both miss the point's. We read them with ``K`` classes
(:func:`featurelab.theory.compare.predict`: a guesser is right with probability 1/K; two
guessers sharing features copy one guess with probability κ = 2ζ − 1). The paper: GDE holds
"when p_d is large" (few points left to guess on) and ζ is high (the guesses shared).

* :func:`world_params`: the closed form's parameters of a synthetic world; the blue tie's
  rare pool grows with the blue level, so ``t_r`` is its mean pool (rounded);
* :func:`capacity_from_accuracy`: the even ``c`` whose predicted accuracy is nearest a
  measured one (the small networks' capacity, read off a trained ensemble);
* :func:`gde_design`: agreement − accuracy over a grid of ``p_d`` at that ``c`` and ζ, and the
  smallest ``p_d`` at which ``|agreement − accuracy| ≤ tol``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..theory.closed_forms import Params
from ..theory.compare import predict


def world_params(world: Mapping[str, Any] | Any) -> dict[str, Any]:
    """``{p_d, t_d, t_r, n_d, n_r, num_classes}`` of a synthetic world (a dict or
    :class:`featurelab.data.synthetic.WorldConfig`). With the blue tie on, ``t_r`` is the
    mean rare pool over blue levels u ~ U(0, 1) (:func:`featurelab.data.synthetic.rare_pool_size`
    on a fine grid of u), rounded; ``t_r_nominal`` keeps the world's own."""
    from ..data.synthetic import WorldConfig, rare_pool_size

    cfg = world if isinstance(world, WorldConfig) else WorldConfig.from_dict(dict(world))
    cfg.validate()
    u = (np.arange(100000) + 0.5) / 100000
    t_r = int(round(float(rare_pool_size(cfg, u).mean())))
    return {"p_d": cfg.p_d, "t_d": cfg.t_d, "t_r": t_r, "n_d": cfg.n_d, "n_r": cfg.n_r,
            "num_classes": cfg.num_classes, "t_r_nominal": cfg.t_r}


def _predict(params: Mapping[str, Any], p_d: float, c: int, zeta: Any, num_classes: int) -> dict[str, Any] | None:
    try:
        prm = Params(p_d=p_d, c=c, t_d=params["t_d"], t_r=params["t_r"], n_d=params["n_d"], n_r=params["n_r"])
    except ValueError:  # c_d > t_d or c_r > t_r: a model cannot hold that many features
        return None
    r = predict(prm, zeta, num_classes=num_classes)
    return {"p_d": float(p_d), "c": int(c), "c_d": prm.c_d, "c_r": prm.c_r, "accuracy": r["accuracy"],
            "agreement": r["agreement"], "gap": r["agreement"] - r["accuracy"]}


def capacity_from_accuracy(accuracy: float, params: Mapping[str, Any], num_classes: int,
                           candidates: Iterable[int] = range(2, 41, 2), zeta: Any = None) -> dict[str, Any]:
    """The capacity ``c`` (even, from ``candidates``) whose closed-form accuracy at ``params``
    (:func:`world_params`) is nearest the measured ``accuracy``; returns ``c``, its predicted
    accuracy and every candidate's. Capacities the world cannot hold (c_d > t_d) are skipped."""
    if not 0.0 <= float(accuracy) <= 1.0:
        raise ValueError(f"accuracy must lie in [0, 1], got {accuracy}")
    rows = [r for c in candidates if (r := _predict(params, params["p_d"], int(c), zeta, num_classes))]
    if not rows:
        raise ValueError("no candidate capacity fits the world (c_d ≤ t_d and c_r ≤ t_r)")
    best = min(rows, key=lambda r: (abs(r["accuracy"] - accuracy), r["c"]))
    return {"c": best["c"], "predicted_accuracy": best["accuracy"], "measured_accuracy": float(accuracy),
            "candidates": {r["c"]: r["accuracy"] for r in rows}}


def gde_design(params: Mapping[str, Any], c: int, zeta: Any, num_classes: int, tol: float = 0.01,
               p_grid: Iterable[float] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))) -> dict[str, Any]:
    """Agreement − accuracy of the closed form (§5, read with ``num_classes`` classes) at
    ``params`` (:func:`world_params`), capacity ``c`` and agreement function ``zeta`` (any spec
    of :func:`featurelab.theory.make_zeta`) for each ``p_d`` of ``p_grid``; ``chosen``: the
    smallest ``p_d`` with ``|gap| ≤ tol`` (None if none). Rows where the model cannot hold
    ``c_d = round(p_d c/2)`` dominant features are left out."""
    if tol < 0:
        raise ValueError(f"tol must be ≥ 0, got {tol}")
    rows = [r for p in p_grid if (r := _predict(params, p, c, zeta, num_classes))]
    for r in rows:
        r["within"] = bool(abs(r["gap"]) <= tol)
    ok = [r["p_d"] for r in rows if r["within"]]
    return {"rows": rows, "chosen": min(ok) if ok else None, "tol": float(tol), "c": int(c),
            "zeta": zeta, "num_classes": int(num_classes)}
