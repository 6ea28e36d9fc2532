"""The width study's control: features that only width captures (Duzgun, Jelassi, Li, "How Does
Overparameterization Affect Features?", 2024, §3 findings 3.1-3.2 and the mechanism of §4).

The mechanism is the synthetic world's ``cooccurrence`` key
(:mod:`featurelab.data.synthetic`): pairs of classes whose evidence is two motifs together,
neither alone, the image form of the toy's product of signs, which only the wide network
learns. Each arm holds two parts: ``base`` (M_1 and M_1', two seeds of the wide network) and
``narrow`` (at least ``n_concat`` networks of width α·base, the first ``n_concat``
concatenated into A). In each arm, with the study's own measures
(:mod:`featurelab.width.measures`), on the parts' penultimate features (``features: true``):

1. FSG(α) = FSE(A → M_1) − FSE(M_1' → M_1), ridge fitted on the training split, on the
   validation points, > 0 (finding 3.1 at one small α);
2. FP(M_1) − FP(A) on the test points > 0 (finding 3.2);
3. FP(A ⊕ R) − FP(A) > 0 with R the residual of M_1 that A cannot express (fitted on train,
   evaluated on test): the residual adds predictive power (App. D.1-D.2, Fig 4).

The finding holds in an arm when all three hold. Each interval is a percentile bootstrap
over the paired evaluation points (fits fixed; :func:`featurelab.width.measures.fse_bootstrap`
for (1), resampled per-point correctness for (2)-(3)): the two base seeds give one
repetition, which has no Student-t interval. The control passes when the finding holds with
the pair classes and not without them.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..controls import ARMS, Part, control_result
from ..verdicts import LEVEL, bootstrap_interval, verdict
from .measures import concat_features, fse_bootstrap, probe_correct, residuals

SPLITS = ("train", "val", "test")
DEFAULTS: dict[str, Any] = {"base": "base", "narrow": "narrow", "n_concat": None, "select": "loo",
                            "probe_c": 1.0, "probe_max_iter": 1000, "state": "trained"}
FINDING = ("3.1 and 3.2 at one small α: FSG(α) > 0 (validation), FP(M_1) − FP(concat M_α) > 0 and "
           "FP(concat M_α ⊕ residual of M_1) − FP(concat M_α) > 0 (test)")
MECHANISM = ("cooccurrence: pairs of classes whose evidence is two motifs together, neither alone "
             "(the product of signs that only width captures)")
SOURCE = ("Duzgun, Jelassi, Li, \"How Does Overparameterization Affect Features?\" (2024), §3 findings 3.1-3.2, "
          "App. D.1-D.2; §4 (the toy's multiplication features)")


def read_part_features(part: Part, n: int | None = None, state: str = "trained"
                       ) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The first ``n`` members' penultimate features of a part, ``[{split: (N, d)}]``, and the
    labels per split (checked to agree across members by
    :func:`featurelab.activations.read_ensemble`)."""
    from ..activations import read_ensemble

    feats = part.features
    if not feats:
        raise ValueError(f"part {part.name!r} has no width features: the control needs `features: true`")
    n = len(feats) if n is None else n
    if len(feats) < n:
        raise ValueError(f"part {part.name!r} has {len(feats)} members with features, the control needs {n}")
    members: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
    labels = {}
    for split in SPLITS:
        key = f"{state}/{split}"
        missing = [i for i, f in enumerate(feats[:n]) if key not in f]
        if missing:
            raise ValueError(f"part {part.name!r}: members {missing} have no {key} features")
        ens = read_ensemble([Path(f[key]) for f in feats[:n]])
        labels[split] = ens.labels
        for m, acts in zip(members, ens.activations):
            m[split] = acts.astype(np.float64)
    return members, labels


def _diff(a: np.ndarray, b: np.ndarray, idx: np.ndarray) -> tuple[float, np.ndarray]:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(d.mean()), d[idx].mean(axis=1)


def arm_finding(base: Sequence[Mapping[str, np.ndarray]], narrow: Sequence[Mapping[str, np.ndarray]],
                labels: Mapping[str, np.ndarray], *, n_concat: int, pair_classes: int = 0, select: str = "loo",
                probe_c: float = 1.0, probe_max_iter: int = 1000, level: float = LEVEL,
                resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The finding (module docstring) in one arm: ``base`` = [M_1, M_1', …], ``narrow`` the
    low-width members (the first ``n_concat`` concatenated), each ``{split: features}`` on the
    same points; ``labels`` per split. ``pair_classes``: the classes 0 .. k−1 of the
    co-occurrence pairs (for the per-class FPs beside the verdict). Returns the verdict, the
    three conditions' verdicts and the numbers."""
    if len(base) < 2:
        raise ValueError(f"the base part needs two members (M_1, M_1'), got {len(base)}")
    if n_concat < 1 or len(narrow) < n_concat:
        raise ValueError(f"need {n_concat} ≥ 1 low-width members, got {len(narrow)}")
    B, B_ref = base[0], base[1]
    A = {s: concat_features([narrow[m][s] for m in range(n_concat)]) for s in SPLITS}
    y_tr, y_te = np.asarray(labels["train"]), np.asarray(labels["test"])
    rng = np.random.default_rng(seed)

    # 1. FSG on the validation points (3.1)
    main = residuals(A["train"], B["train"], A["val"], B["val"], select=select)
    ref = residuals(B_ref["train"], B["train"], B_ref["val"], B["val"], select=select)
    pred_main, pred_ref = B["val"] - main["eval"], B["val"] - ref["eval"]
    draws = fse_bootstrap(B["val"], [pred_main, pred_ref], resamples, seed)
    fsg = bootstrap_interval(main["fse"] - ref["fse"], draws[:, 0] - draws[:, 1], level, n=len(B["val"]))

    # 2-3. FP of M_1, of A, of A with M_1's residual appended, of the residual alone (3.2, App. D)
    R = residuals(A["train"], B["train"], A["test"], B["test"], select=select)
    probe = dict(C=probe_c, max_iter=probe_max_iter)
    c = {"base": probe_correct(B["train"], y_tr, B["test"], y_te, **probe),
         "concat": probe_correct(A["train"], y_tr, A["test"], y_te, **probe),
         "appended": probe_correct(concat_features([A["train"], R["fit"]]), y_tr,
                                   concat_features([A["test"], R["eval"]]), y_te, **probe),
         "residual": probe_correct(R["fit"], y_tr, R["eval"], y_te, **probe)}
    idx = rng.integers(0, len(y_te), (resamples, len(y_te)))
    gap_est, gap_draws = _diff(c["base"], c["concat"], idx)
    gain_est, gain_draws = _diff(c["appended"], c["concat"], idx)
    chance = float(np.bincount(y_te).max() / len(y_te))
    res_est, res_draws = _diff(c["residual"], np.full(len(y_te), chance), idx)
    gap = bootstrap_interval(gap_est, gap_draws, level, n=len(y_te))
    gain = bootstrap_interval(gain_est, gain_draws, level, n=len(y_te))
    res_above = bootstrap_interval(res_est, res_draws, level, n=len(y_te))

    conds = {"fsg": verdict("3.1: FSG(α) = FSE(concat M_α → M_1) − FSE(M_1' → M_1) on validation > 0",
                            (fsg, ">", 0.0)),
             "fp_gap": verdict("3.2: FP(M_1) − FP(concat M_α) on test > 0", (gap, ">", 0.0)),
             "residual_gain": verdict("App. D.2: FP(concat M_α ⊕ R) − FP(concat M_α) > 0, R = residual of M_1",
                                      (gain, ">", 0.0)),
             "residual_above_chance": verdict("App. D.1 (reported, not in the finding): FP(R) − majority share > 0",
                                              (res_above, ">", 0.0))}
    out = {"verdict": verdict(FINDING, (fsg, ">", 0.0), (gap, ">", 0.0), (gain, ">", 0.0)),
           "conditions": conds,
           "fse": {"concat_to_base": main["fse"], "base_ref_to_base": ref["fse"]},
           "fp": {k: float(v.mean()) for k, v in c.items()}, "majority_share": chance,
           "points": {s: int(len(labels[s])) for s in SPLITS},
           "features": {"base": int(B["train"].shape[1]), "concat": int(A["train"].shape[1])}}
    if pair_classes:
        pair = y_te < pair_classes
        out["fp_pair_classes"] = {k: float(v[pair].mean()) for k, v in c.items()}
        out["fp_other_classes"] = {k: float(v[~pair].mean()) for k, v in c.items()} if (~pair).any() else {}
    return out


def _pair_classes(part: Part) -> int:
    co = (part.world or {}).get("cooccurrence") or {}
    return int(co.get("classes", 0) or 0)


def decide_width(arms: Mapping[str, Mapping[str, Part]], settings: Mapping[str, Any], *, level: float = LEVEL,
                 resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The control's decision (module docstring). ``settings``: ``base`` and ``narrow`` (part
    names, default ``base``/``narrow``), ``n_concat`` (members concatenated, default: all of the
    narrow part's; N_f = ⌈1/α⌉ in the design), ``select`` (ridge λ: ``loo``), ``probe_c``,
    ``probe_max_iter``, ``state`` (``trained``)."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"width control: unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    s = {**DEFAULTS, **settings}
    results, sizes, seeds = {}, {}, {}
    for arm in ARMS:
        parts = arms.get(arm) or {}
        for role in ("base", "narrow"):
            if s[role] not in parts:
                raise ValueError(f"width control: arm {arm!r} has no part {s[role]!r} ({role}); "
                                 f"it has {sorted(parts) or 'none'}")
        bp, np_ = parts[s["base"]], parts[s["narrow"]]
        base, labels = read_part_features(bp, 2, s["state"])
        n = int(s["n_concat"] or len(np_.features) or len(np_.models))
        narrow, labels_n = read_part_features(np_, n, s["state"])
        for split in SPLITS:
            if not np.array_equal(labels[split], labels_n[split]):
                raise ValueError(f"width control, arm {arm!r}: base and narrow features disagree on the "
                                 f"{split} labels (different worlds?)")
        results[arm] = arm_finding(base, narrow, labels, n_concat=n, pair_classes=_pair_classes(bp),
                                   select=s["select"], probe_c=s["probe_c"], probe_max_iter=s["probe_max_iter"],
                                   level=level, resamples=resamples, seed=seed)
        sizes[arm] = {"base": {"members": 2, "width": bp.info.get("width"), "features": results[arm]["features"]["base"]},
                      "narrow": {"members": n, "width": np_.info.get("width"),
                                 "features": results[arm]["features"]["concat"]},
                      "points": results[arm]["points"], "pair_classes": _pair_classes(bp)}
        seeds[arm] = {"base": bp.info.get("seed"), "narrow": np_.info.get("seed")}
    on_b, on_n = sizes["on"]["base"], sizes["on"]["narrow"]
    design = ("docs/width.md, 'Control: width-only features': base ResNet at width "
              f"{on_b['width']} (two seeds, trained to training accuracy 1.0), {on_n['members']} members of width "
              f"{on_n['width']} concatenated; on: cooccurrence.classes = {sizes['on']['pair_classes']}, off: "
              f"{sizes['off']['pair_classes']}; percentile bootstrap over the paired evaluation points")
    return control_result("width_only", "width", FINDING, MECHANISM, SOURCE, results["on"]["verdict"],
                          results["off"]["verdict"], sizes=sizes, seeds=seeds, design=design,
                          extra={"arms": {a: {k: v for k, v in r.items() if k != "verdict"}
                                          for a, r in results.items()},
                                 "resamples": int(resamples), "level": float(level)})
