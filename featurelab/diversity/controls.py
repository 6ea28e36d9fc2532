"""The diversity control (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them
All: Overlapping Features of Training Methods", ICLR 2022, §3-4, Fig 1): models trained on
different data (the Dataset category) specialise on different features and make more
uncorrelated errors, a higher error inconsistency, than models that differ only in their
initialisation (Reinit).

Mechanism (:class:`featurelab.data.synthetic.TrainOnly`): the on arm's Dataset world trains on a
split whose frequent (dominant) motifs are rotated by ``frequent_offset`` (another draw as well);
the off arm's trains on another draw of the base world, identical in distribution. Both are
train-only: every model is scored on the base world's test split, the same points.

Measure: error inconsistency excess, EI − |acc_a − acc_b| (:func:`.metrics.ei_floor_excess`: the
inconsistency beyond the floor an accuracy gap forces, the study's answer to the paper's accuracy
matching). Per model, its mean excess against the base part's models: a Dataset-world model
against every base model (Dataset pairs); a base model against the other base models (Reinit
pairs). Verdict: Welch's interval of mean(Dataset) − mean(Reinit) over those per-model values
(:func:`featurelab.verdicts.difference_interval`) above ``threshold`` (default 0). The accuracy
of each part on the test points, and the gap, are reported beside it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..activations import read_activations
from ..controls import Arms, Part, control_result
from ..verdicts import LEVEL, difference_interval, t_interval, verdict
from .metrics import ei_floor_excess

SOURCE = ('Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them All: Overlapping Features of '
          'Training Methods", ICLR 2022, §3-4, Fig 1')
FINDING = "the Dataset category's errors are more inconsistent (EI excess) with the base's than Reinit's"
MECHANISM = ("Dataset world: the train split's frequent motifs rotated (on) against another draw of the same "
             "distribution (off); train-only, the base world's test split for every model")
DEFAULTS = {"threshold": 0.0}
PARTS = ("base", "world")


def correctness(part: Part) -> tuple[np.ndarray, np.ndarray]:
    """(models, points) correctness of a part's models and the points' labels, from each model's
    predictions in its activation file; every file must list the same points with the same labels."""
    if not part.activations or len(part.activations) != len(part.models):
        raise ValueError(f"part {part.name!r}: {len(part.models)} models but {len(part.activations)} activation files")
    rows, index, labels = [], None, None
    for path in part.activations:
        a = read_activations(path, ("index", "label", "prediction"))
        order = np.argsort(a.index, kind="stable")
        idx, lab, pred = a.index[order], a.label[order], a.prediction[order]
        if index is None:
            index, labels = idx, lab
        elif not (np.array_equal(idx, index) and np.array_equal(lab, labels)):
            raise ValueError(f"part {part.name!r}: {path} does not hold the same test points as the first model")
        rows.append(pred == lab)
    return np.stack(rows), labels


def arm_excess(parts: Mapping[str, Part]) -> dict[str, Any]:
    """Per model, its mean EI excess against the base part's (other) models: ``reinit`` for each
    base model, ``dataset`` for each world model; and each part's accuracy."""
    missing = [p for p in PARTS if p not in parts]
    if missing:
        raise ValueError(f"a diversity arm needs the parts {PARTS}, missing {missing}")
    cb, lb = correctness(parts["base"])
    cw, lw = correctness(parts["world"])
    if cb.shape[1] != cw.shape[1] or not np.array_equal(lb, lw):
        raise ValueError("the base and the world part are not scored on the same test points (a Dataset world "
                         "must keep the base world's test split)")
    if len(cb) < 2:
        raise ValueError("the base part needs at least two models (Reinit pairs)")
    ex = lambda a, b: ei_floor_excess(a, b)[2]  # noqa: E731
    reinit = [float(np.mean([ex(cb[i], cb[j]) for j in range(len(cb)) if j != i])) for i in range(len(cb))]
    dataset = [float(np.mean([ex(cb[i], w) for i in range(len(cb))])) for w in cw]
    return {"reinit": reinit, "dataset": dataset,
            "accuracy": {"base": cb.mean(axis=1).tolist(), "world": cw.mean(axis=1).tolist()},
            "points": int(cb.shape[1])}


def decide_diversity(arms: Arms, settings: Mapping[str, Any], *, level: float = LEVEL, resamples: int = 2000,
                     seed: int = 0) -> dict[str, Any]:
    """The diversity control: EI excess of (base, Dataset-world) pairs against (base, base)
    pairs, with the frequent motifs shifted (``on``) and with another draw of the same world
    (``off``). ``resamples`` and ``seed`` are unused (Welch intervals over models)."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown diversity-control settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    thr = float({**DEFAULTS, **dict(settings)}["threshold"])
    out, extra = {}, {}
    for arm in ("on", "off"):
        e = arm_excess(arms[arm])
        d = difference_interval(e["reinit"], e["dataset"], level)
        out[arm] = verdict(f"EI excess, (base, Dataset world) − (base, base) > {thr:g}, Welch over models",
                           (d, ">", thr))
        extra[arm] = {"excess": {"reinit": t_interval(e["reinit"], level), "dataset": t_interval(e["dataset"], level),
                                 "dataset_minus_reinit": d},
                      "accuracy": {k: t_interval(v, level) for k, v in e["accuracy"].items()},
                      "accuracy_gap": difference_interval(e["accuracy"]["base"], e["accuracy"]["world"], level),
                      "points": e["points"]}
    sizes = {arm: {p: len(arms[arm][p].models) for p in PARTS} for arm in ("on", "off")}
    seeds = {arm: {p: arms[arm][p].info.get("seed") for p in PARTS} for arm in ("on", "off")}
    worlds = {arm: (arms[arm]["world"].world or {}).get("train_only") for arm in ("on", "off")}
    design = (f"Dataset worlds {worlds}: per model, mean EI excess against the base models; "
              f"Welch interval of Dataset − Reinit > {thr:g}")
    return control_result("diversity", "diversity", FINDING, MECHANISM, SOURCE, out["on"], out["off"],
                          sizes=sizes, seeds=seeds, design=design, extra={"arms": extra})
