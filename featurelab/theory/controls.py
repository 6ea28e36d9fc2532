"""The theory control: does the estimator of :mod:`featurelab.theory.estimate` recover the
world's p_d within a tolerance (0.1)? (docs/theory.md, "Control: the estimator").

The parameter is the one of Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data,
and Features" (ICLR 2024) §5: p_d, the probability that a data point is dominant. The
estimator is our reading (the paper estimates no parameter from Ω). No new mechanism is
planted: the switch is the world's own, known p_d. The ``on`` arm holds worlds with a
dominant/rare split and different p_d (the finding must hold on every one); the ``off`` arm
worlds where no split exists (``t_r = t_d``, ``n_r = n_d``: every motif of a class equally
frequent, so p_d is a label without a trace in any frequency; the finding must not hold).

For each part Ω is built by the interaction study's own code
(:func:`featurelab.interaction.io.build_variant`, the main variant's settings) from the
members' activations of the test split, and the parameters are estimated with
:func:`featurelab.theory.estimate.estimate_parameters`. The error ``p̂_d − p_d`` gets a
percentile bootstrap interval over the test points (points resampled with replacement, Ω's
classification of features into dominant and rare found on all points held); the interval
covers the sampling of the test points given that split, not the split's own variability nor
the members. Verdict per arm (:func:`featurelab.verdicts.verdict`): every part's
interval inside (−tolerance, tolerance).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .. import verdicts as V
from ..controls import ARMS, Arms, Part, control_result
from .compare import synthetic_truth
from .estimate import estimate_parameters

FINDING = "the estimator recovers the world's p_d within the tolerance (0.1)"
MECHANISM = ("none planted: the switch is the world's known p_d (on: worlds with a dominant/rare "
             "split and different p_d; off: a world with no split, t_r = t_d, n_r = n_d)")
SOURCE = ("Jiang, Baek, Kolter, 'On the Joint Interaction of Models, Data, and Features', ICLR 2024, "
          "§5 (p_d, t_d, t_r, n_d, n_r of the generative story)")
DESIGN = "docs/theory.md, 'Control: the estimator'"
#: the interaction study's main settings (config.yaml ``interaction``), used when the control's
#: settings name none
INTERACTION_DEFAULTS = {"k": 50, "center": False, "gamma_corr": None, "corr_percentile": 90,
                        "data_percentile": 90, "gamma_data_pool": "all"}
REPORTED = ("p_d", "t_d", "t_r", "n_d", "n_r")


def part_tensor(part: Part, interaction: Mapping[str, Any]):
    """The part's Ω by the interaction study's own code (a tensor bundle in a temp folder)."""
    from ..interaction.io import Tensor, build_variant

    if not part.activations:
        raise ValueError(f"part {part.name!r} has no activation files")
    settings = {**INTERACTION_DEFAULTS, **dict(interaction or {})}
    with tempfile.TemporaryDirectory(prefix="theory-control-") as d:
        build_variant([str(p) for p in part.activations], d, settings, log=lambda s: None)
        return Tensor(Path(d))


def _estimate(t, triplets, idx, estimator):
    preds = t.predictions if idx is None else t.predictions[:, idx]
    labels = t.labels if idx is None else t.labels[idx]
    n = t.N if idx is None else idx.size
    return estimate_parameters(triplets, t.M, n, t.T, t.clusters, preds, labels,
                               num_classes=int(t.labels.max()) + 1, **estimator)



def score_part(part: Part, settings: Mapping[str, Any], *, level: float, resamples: int,
               rng: np.random.Generator) -> dict[str, Any]:
    """Estimates, truth and the bootstrap draws of p̂_d for one part."""
    if part.world is None:
        raise ValueError(f"part {part.name!r} has no world: its true p_d is unknown")
    estimator = dict(settings.get("estimator") or {})
    t = part_tensor(part, settings.get("interaction") or {})
    truth_df = pd.read_parquet(part.test_truth) if part.test_truth is not None else None
    truth = synthetic_truth(part.world, truth_df)
    est = _estimate(t, t.triplets, None, {**estimator, "return_points": True})
    # the points are resampled with the feature split found on all points held: p̂_d* is the
    # share of dominant-classified points among the drawn ones, over (1 − miss_d). Rerunning the
    # whole estimator on a resample is not an interval of p̂_d: a point drawn twice doubles its
    # features' counts, which moves Otsu's cut (on the story at p_d 0.5 the draws sat 0.03-0.15
    # above the estimate) and doubles the dispersion the one-level check reads (at p_d 0.9 it
    # then cut one level in two in a third of the draws); the split's own variability is
    # therefore not in the interval.
    flags = np.asarray(est.pop("point_dominant"), dtype=np.float64)
    scale = 1.0 / (1.0 - est["miss_d"]) if est["miss_d"] < 1 else 1.0
    idx = rng.integers(0, t.N, size=(int(resamples), t.N))
    draws = np.minimum(1.0, flags[idx].mean(axis=1) * scale) if t.N else np.full(int(resamples), np.nan)
    p_true = float(truth["p_d"])
    err = V.bootstrap_interval(est["p_d_hat"] - p_true, draws - p_true, level, n=t.N)
    return {"part": part.name, "models": list(part.models), "truth": truth,
            "estimates": {k: est[f"{k}_hat"] for k in REPORTED},
            "p_d_error": err, "p_d_draws": draws,
            "accuracy": float((t.predictions == t.labels[None]).mean()),
            "T": t.T, "features_per_point": float(len(t.triplets.drop_duplicates(["point", "feature"])) / t.N),
            "split_one_level": est["split_one_level"], "split_p": est["split_p"],
            "frequency_cut": est["frequency_cut"], "adjustments": est["adjustments"]}


def decide_estimator(arms: Arms, settings: Mapping[str, Any], *, level: float = 0.95,
                     resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The theory control (module doc). ``settings``: ``tolerance`` (0.1), ``interaction``
    (Ω's settings, default the main variant's), ``estimator`` (keyword arguments of
    :func:`estimate_parameters`). Every part needs its ``world`` (the true p_d) and
    activations; ``test_truth`` adds the split's empirical p_d to the report."""
    tol = float(settings.get("tolerance", 0.1))
    if not tol > 0:
        raise ValueError(f"tolerance must be > 0, got {tol}")
    missing = [a for a in ARMS if not arms.get(a)]
    if missing:
        raise ValueError(f"the theory control needs parts in both arms; empty: {missing}")
    rng = np.random.default_rng(seed)
    scored = {a: {n: score_part(p, settings, level=level, resamples=resamples, rng=rng)
                  for n, p in arms[a].items()} for a in ARMS}
    rule = f"|p̂_d − p_d| < {tol:g} on every world of the arm"
    out = {}
    for a in ARMS:
        conds = []
        for s in scored[a].values():
            conds += [(s["p_d_error"], ">", -tol), (s["p_d_error"], "<", tol)]
        out[a] = V.verdict(rule, *conds, note=", ".join(f"{n}: p_d {s['truth']['p_d']:g} → "
                                                          f"{s['estimates']['p_d']:.3f}"
                                                          for n, s in scored[a].items()))
    # does the estimate move with the truth? (reported, not part of the pass)
    on = sorted(scored["on"].values(), key=lambda s: s["truth"]["p_d"])
    moves = None
    if len(on) >= 2 and on[-1]["truth"]["p_d"] > on[0]["truth"]["p_d"]:
        lo, hi = on[0], on[-1]
        moves = {"parts": [lo["part"], hi["part"]], "true_difference": hi["truth"]["p_d"] - lo["truth"]["p_d"],
                 **V.verdict("p̂_d(higher p_d) − p̂_d(lower p_d) > 0",
                             (V.bootstrap_interval(hi["estimates"]["p_d"] - lo["estimates"]["p_d"],
                                                   hi["p_d_draws"] - lo["p_d_draws"], level), ">", 0.0))}
    parts = {a: {n: {k: v for k, v in s.items() if k != "p_d_draws"} for n, s in scored[a].items()}
             for a in ARMS}
    sizes = {a: {n: {"members": len(p.models), "points": int(scored[a][n]["p_d_error"]["n"] or 0)}
                 for n, p in arms[a].items()} for a in ARMS}
    seeds = {"bootstrap": int(seed), "resamples": int(resamples),
             **{f"{a}/{n}": p.info.get("seed") for a in ARMS for n, p in arms[a].items()}}
    return control_result("theory", "theory", FINDING, MECHANISM, SOURCE, out["on"], out["off"],
                          sizes=sizes, seeds=seeds, design=DESIGN,
                          extra={"tolerance": tol, "parts": parts, "moves_with_truth": moves})
