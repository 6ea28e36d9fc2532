"""The gde control (Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and
Features", ICLR 2024, §5-6): GDE on the base condition with the look-alike mechanism, and
only then the §6 comparison of superclass merges against blue groups.

Each arm (``on``: the world with ``lookalike``; ``off``: the same world without) has parts
named by the study's conditions: ``super<k>`` (K̃ = k superclasses; the base, K̃ = C, is
``settings["base"]``, default ``super10``) and ``blue<g>`` (blue group g). Per arm:

1. **GDE on the base** (:func:`gde_verdict`): the Student-t interval over the base
   ensemble's member pairs of agr_ij − (acc_i + acc_j)/2 (:func:`featurelab.gde.metrics.pair_differences`)
   lies inside (−tol, tol) (``settings["tolerance"]``, default 0.05, the paper's own K̃ = 10
   gap, Table 1): holds; wholly outside on one side: fails; else undecided.
2. **The comparison** (§6): the study's :func:`featurelab.gde.summary.compare_spreads` on the
   parts' rows (:func:`featurelab.gde.summary.condition_row`): blue range − superclass range
   > 0 on its redrawn interval. Decided only when 1 holds; otherwise reported as computed
   but with ``no verdict`` (the paper's comparison presumes GDE).
3. **The finding**: 1 and 2 together (a conjunction, :func:`featurelab.verdicts.verdict`).

The control passes when the finding holds with the mechanism on and not with it off.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..activations import read_ensemble
from ..controls import Arms, control_result
from ..verdicts import LEVEL, NO_VERDICT, t_interval, verdict
from .metrics import pair_differences
from .summary import compare_spreads, condition_row

FINDING = ("GDE holds on the base condition (|agreement − accuracy| < tolerance) and agreement − accuracy "
           "varies more across blue groups than across superclass merges (§5-6)")
MECHANISM = ("lookalike: rare motifs of class c are near copies of class c+1's dominant motifs (flips pixels "
             "flipped, same colour), so members without a rare point's features share their wrong answer (ζ)")
SOURCE = ("Jiang, Baek, Kolter, 'On the Joint Interaction of Models, Data, and Features', ICLR 2024, §5 "
          "(ζ: two models that share features but miss the point's agree with probability ζ; GDE when p_d "
          "is large) and §6 (superclasses keep GDE, blue groups break it)")
DESIGN = ("p_d 0.85 chosen before training from the §5 closed form read with 10 classes at c = 6 (the "
          "capacity whose accuracy is nearest the default's 0.518), κ = 0.49: |agr − acc| ≤ 0.01 "
          "(featurelab.gde.design; docs/gde.md, 'Control: GDE and the interventions')")


def gde_verdict(predictions: Any, labels: Any, tolerance: float, level: float = LEVEL) -> dict[str, Any]:
    """GDE on one ensemble: the t-interval over its member pairs of agr_ij − (acc_i + acc_j)/2
    inside (−tolerance, tolerance)."""
    if tolerance <= 0:
        raise ValueError(f"the GDE tolerance must be > 0, got {tolerance}")
    stat = t_interval(pair_differences(predictions, labels), level)
    return verdict(f"|agreement − accuracy| < {tolerance:g} on the base condition (GDE)",
                   (stat, ">", -tolerance), (stat, "<", tolerance),
                   note="Student-t over the member pairs' agr_ij − (acc_i + acc_j)/2")


def _arm(parts: Mapping[str, Any], base: str, tolerance: float, level: float) -> dict[str, Any]:
    if base not in parts:
        raise ValueError(f"the arm has no base part {base!r} (parts: {', '.join(parts) or 'none'})")
    bad = [n for n in parts if not (n.startswith("super") or n.startswith("blue"))]
    if bad:
        raise ValueError(f"parts must be named super<k> or blue<g> (the study's conditions), got {bad}")
    rows, ensembles = [], {}
    for name, part in parts.items():
        if not part.activations:
            raise ValueError(f"part {name!r} has no activation files")
        ens = read_ensemble(part.activations, logits=True, activations=False)
        if ens.M < 2:
            raise ValueError(f"part {name!r} has {ens.M} member; GDE needs pairs")
        ensembles[name] = ens
        rows.append(condition_row(name, ens)[0])
    table = pd.DataFrame(rows)
    b = ensembles[base]
    gde = gde_verdict(b.predictions, b.labels, tolerance, level)
    cmp = compare_spreads(table, "difference_mean", "difference_se", level)
    iv = cmp["interval"]
    cstat = ({"mean": iv["difference"], "lo": iv["difference_lo"], "hi": iv["difference_hi"],
              "n": min(cmp["superclass_spread"]["conditions"], cmp["blue_spread"]["conditions"])}
             if iv else {"mean": None, "lo": None, "hi": None, "n": 1})
    comparison = dict(cmp["verdict"])
    if gde["holds"] is not True:
        comparison.update(computed_verdict=comparison["verdict"], computed_holds=comparison["holds"],
                          verdict=NO_VERDICT, holds=None,
                          basis=f"GDE is {gde['verdict']} on the base condition: the comparison is not decided")
    gstat = {"mean": gde["estimate"], "lo": gde["lo"], "hi": gde["hi"], "n": gde["conditions"][0]["n"]}
    finding = verdict(FINDING.replace("tolerance", f"{tolerance:g}"), (gstat, ">", -tolerance),
                      (gstat, "<", tolerance), (cstat, ">", 0.0))
    return {"finding": finding, "gde_base": gde, "comparison": comparison,
            "spreads": {k: cmp[k] for k in ("superclass_spread", "blue_spread", "blue_over_superclass_range")},
            "interval": iv, "conditions": table.to_dict(orient="records")}


def decide_gde(arms: Arms, settings: Mapping[str, Any], *, level: float = LEVEL, resamples: int = 2000,
               seed: int = 0) -> dict[str, Any]:
    """The gde control: per arm GDE on the base, then the §6 comparison (module doc).
    ``settings``: ``base`` (the base part, default ``super10``), ``tolerance`` (default 0.05).
    ``resamples`` and ``seed`` are not used: the comparison's interval is the study's own
    (each condition redrawn from Normal(mean, se²), 20,000 draws, seed 0)."""
    for a in ("on", "off"):
        if a not in arms:
            raise ValueError(f"the gde control needs the arm {a!r}; got {sorted(map(str, arms))}")
    base = str(settings.get("base", "super10"))
    tol = float(settings.get("tolerance", 0.05))
    res = {a: _arm(arms[a], base, tol, level) for a in ("on", "off")}
    sizes = {a: {n: {"members": len(p.activations), "n_test": res[a]["conditions"][i]["n_test"]}
                 for i, (n, p) in enumerate(arms[a].items())} for a in ("on", "off")}
    seeds = {a: {n: p.info.get("seed") for n, p in arms[a].items()} for a in ("on", "off")}
    return control_result("gde", "gde", FINDING, MECHANISM, SOURCE, res["on"]["finding"], res["off"]["finding"],
                          sizes=sizes, seeds=seeds, design=DESIGN,
                          extra={"arms": res, "settings": {"base": base, "tolerance": tol, "level": level}})
