"""The O.4 control of the interaction study (Jiang, Baek, Kolter, ICLR 2024, §4, Observation 4:
"Models with similar features make similar mistakes").

Mechanism (``data.synthetic.rare_slice``, train-only): the *on* arm's members are split into G
parts, part g trained on a world whose training split's rare images carry only slice g of their
class's rare motifs; members of one part share their rare features by construction, members of
two parts share none. The *off* arm is the base world with only the seeds differing. Both arms
are evaluated on the same (base) test split.

The decision builds each arm's tensor with the study's own code
(:func:`featurelab.interaction.build_interaction`) with K by the paper's rule (App. E.2,
:func:`featurelab.interaction.k_retaining_accuracy`) and γcorr floored at the noise
(:func:`featurelab.interaction.correlation_noise_floor`), and decides O.4 as the study does
(:func:`featurelab.interaction.findings.o4_verdict`), once on Algorithm 1 in member order and
once on the shared features averaged over the cyclic rotations of the model order
(:func:`featurelab.interaction.measures.shared_features_over_orders`). It also reports the
share of cluster seeds per model (Algorithm 1's first-model bias) and, with the ground truth of
the parts, the mean shared features and shared error of pairs within and between parts.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..activations import read_ensemble
from ..controls import Arms, Part, control_result
from ..verdicts import LEVEL
from .findings import o4_verdict
from .measures import model_orders, shared_error, shared_features, shared_features_over_orders
from .tensor import build_interaction, cluster_seeds, k_retaining_accuracy, numerical_rank, seed_shares

FINDING = "O.4: shared error rises with shared features over model pairs (Spearman, Mantel test)"
SOURCE = ('Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and Features" (ICLR 2024), §4 '
          'Observation 4 and Fig 3c; K by App. E.2')
MECHANISM = ("rare_slice: the on arm's parts train on worlds whose training rare images carry only slice g "
             "of their class's rare motifs (within-part pairs share rare features, between-part pairs none); "
             "off: the base world, only seeds differ")

#: The settings decide_o4 reads, with their defaults.
DEFAULTS: dict[str, Any] = {"k": "auto", "k_tolerance": 0.01, "gamma_corr_floor": 0.05, "corr_percentile": 90.0,
                            "data_percentile": 90.0, "shared_error": "same_wrong", "orders": "cyclic",
                            "permutations": 9999}


def _pairs_within_between(groups: Sequence[int], mat: np.ndarray) -> tuple[float, float]:
    """Mean of ``mat`` over the pairs i < j within one group and between two groups."""
    g = np.asarray(groups)
    iu, ju = np.triu_indices(g.size, 1)
    same = g[iu] == g[ju]
    vals = np.asarray(mat, dtype=np.float64)[iu, ju]

    def mean(mask: np.ndarray) -> float:
        v = vals[mask & np.isfinite(vals)]
        return float(v.mean()) if v.size else math.nan

    return mean(same), mean(~same)


def o4_arm(parts: Mapping[str, Part], settings: Mapping[str, Any], *, level: float = LEVEL,
           seed: int = 0) -> dict[str, Any]:
    """O.4 on one arm: its parts' members in part order (the order Algorithm 1 visits them)."""
    s = {**DEFAULTS, **dict(settings or {})}
    paths, groups, names = [], [], []
    for gi, (name, part) in enumerate(parts.items()):
        if len(part.activations) != len(part.models) or not part.models:
            raise ValueError(f"part {name!r}: {len(part.models)} models but {len(part.activations)} activation files")
        paths += [str(p) for p in part.activations]
        groups += [gi] * len(part.models)
        names += list(part.models)
    if len(paths) < 3:
        raise ValueError(f"O.4 needs at least 3 models (3 pairs), got {len(paths)}")
    ens = read_ensemble(paths, logits=True)
    acts, labels, preds = ens.activations, ens.labels, ens.predictions
    if s["k"] == "auto":
        k = k_retaining_accuracy(acts, list(ens.logits), labels, tolerance=float(s["k_tolerance"]))
        k_rule = f"App. E.2: accuracy of the head on the K-projection within {s['k_tolerance']:g} of the full one"
    else:
        k, k_rule = int(s["k"]), "fixed"
    k = min(k, *(numerical_rank(a) for a in acts))
    floor = s["gamma_corr_floor"]
    res = build_interaction(acts, k=k, corr_percentile=float(s["corr_percentile"]),
                            data_percentile=float(s["data_percentile"]),
                            gamma_corr_floor_alpha=None if floor is None else float(floor))
    sf = shared_features(res.clusters, res.T)
    se = shared_error(preds, labels, mode=s["shared_error"])
    alpha = 1.0 - level
    perms = int(s["permutations"])
    v = o4_verdict(sf, se, alpha, permutations=perms, seed=seed)
    m = res.M
    orders = model_orders(m, s["orders"], n=m, seed=seed)
    sf_avg = shared_features_over_orders(res.abs_corr, res.gamma_corr, orders)
    v_avg = o4_verdict(sf_avg, se, alpha, permutations=perms, seed=seed)
    _, seeds = cluster_seeds(res.abs_corr, res.gamma_corr)
    shares = seed_shares(seeds)
    sf_in, sf_out = _pairs_within_between(groups, sf)
    sfa_in, sfa_out = _pairs_within_between(groups, sf_avg)
    se_in, se_out = _pairs_within_between(groups, se)
    acc = (preds == labels[None, :]).mean(axis=1)
    return {"verdict": v, "order_averaged": v_avg,
            "M": m, "N": res.N, "K": res.K, "K_rule": k_rule, "T": res.T, "gamma_corr": float(res.gamma_corr),
            "parts": list(parts), "members": names, "accuracy_mean": float(acc.mean()),
            "accuracy_min": float(acc.min()), "accuracy_max": float(acc.max()),
            "seed_share_per_model": [float(x) for x in shares], "seed_share_first_model": float(shares[0]),
            "seed_share_uniform": 1.0 / m,
            "shared_features_within": sf_in, "shared_features_between": sf_out,
            "shared_features_avg_within": sfa_in, "shared_features_avg_between": sfa_out,
            "shared_error_within": se_in, "shared_error_between": se_out,
            "order_kind": s["orders"], "n_orders": int(orders.shape[0])}


def decide_o4(arms: Arms, settings: Mapping[str, Any], *, level: float = LEVEL, resamples: int = 2000,
              seed: int = 0) -> dict[str, Any]:
    """The O.4 control: O.4 decided (:func:`o4_arm`) in the ``on`` arm (parts sharing rare
    features by construction) and in the ``off`` arm (the base world). Passes when O.4 holds on
    and does not off (:func:`featurelab.controls.control_result`); the order-averaged
    verdicts are reported under ``order_averaged``. ``resamples`` is unused (the Mantel test's
    relabellings are ``settings['permutations']``)."""
    missing = [a for a in ("on", "off") if a not in arms or not arms[a]]
    if missing:
        raise ValueError(f"the O.4 control needs parts in both arms; missing: {missing}")
    out = {a: o4_arm(arms[a], settings, level=level, seed=seed) for a in ("on", "off")}
    sizes = {a: {"members": out[a]["M"], "parts": {n: len(p.models) for n, p in arms[a].items()},
                 "N": out[a]["N"], "K": out[a]["K"], "T": out[a]["T"]} for a in ("on", "off")}
    seeds = {a: {n: p.info.get("seed") for n, p in arms[a].items()} for a in ("on", "off")}
    design = ("K by App. E.2 (tolerance {t}), gamma_corr = max(90th percentile of Lambda, noise floor at alpha "
              "{f}); on: {on} parts sharing rare slices; expected on holds, off undecided").format(
        t={**DEFAULTS, **dict(settings or {})}["k_tolerance"],
        f={**DEFAULTS, **dict(settings or {})}["gamma_corr_floor"], on=len(arms["on"]))
    return control_result("o4", "interaction", FINDING, MECHANISM, SOURCE, out["on"]["verdict"],
                          out["off"]["verdict"], sizes=sizes, seeds=seeds, design=design,
                          extra={"order_averaged": {a: out[a]["order_averaged"] for a in ("on", "off")},
                                 "order_averaged_passes": bool(out["on"]["order_averaged"]["holds"] is True
                                                               and out["off"]["order_averaged"]["holds"] is not True),
                                 "arms": {a: {k: v for k, v in out[a].items() if k not in ("verdict", "order_averaged")}
                                          for a in ("on", "off")}})
