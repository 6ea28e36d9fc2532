"""The headline experiment of Zhang et al., "Feature Contamination: Neural Networks Learn
Uncorrelated Features and Fail to Generalize" (ICML 2024, Sec. 2, Fig 1, Tables 1-4), scaled
to the synthetic world: linear probes on the representations of teacher, distilled student
and plain member, fit on ID training images, evaluated ID and on the background-shifted
split; and the effective-robustness view of Fig 1 (Taori et al., "Measuring Robustness to
Natural Distribution Shifts in Image Classification", NeurIPS 2020, which the paper follows):
a line through the plain models' (ID, OOD) accuracies, fit on logit-scaled axes as Taori et
al. do, and each model's effective robustness, its OOD accuracy minus the line's at its ID
accuracy. The verdicts are in :mod:`.findings`."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .findings import KINDS

#: Accuracies are clipped to [CLIP, 1 − CLIP] before the logit (an accuracy of 0 or 1 has none).
CLIP = 1e-4


def headline_table(features: Any, seeds: Sequence[int], probe_c: float = 1.0) -> pd.DataFrame:
    """Linear-probe accuracy of every pair's teacher, student and plain member on the test split
    (ID) and its background-shifted copy (OOD), and of the plain members' checkpoints
    (``model`` plain_checkpoint, with their ``epoch``; final models have epoch −1); the probes
    are fit on each representation of the ID training split
    (:func:`featurelab.stats.linear_probe`: standardised features, multinomial logistic
    regression). ``features`` maps ``s<seed>/<kind>/<split>``, ``line/s<seed>/e<epoch>/<split>``
    and ``labels/<split>`` to arrays (the contamination_headline rule's file)."""
    from ..stats import linear_probe

    def probe(key: str, **row: Any) -> list[dict[str, Any]]:
        train, labels = features[f"{key}/train"], features["labels/train"]
        return [{**row, "split": split,
                 "accuracy": linear_probe(train, labels, features[f"{key}/{split}"], features[f"labels/{split}"],
                                          C=probe_c)}
                for split in ("test", "shifted")]

    rows = []
    for seed in seeds:
        for kind in KINDS:
            rows += probe(f"s{seed}/{kind}", seed=int(seed), model=kind, epoch=-1)
    line = sorted({k.rsplit("/", 1)[0] for k in getattr(features, "files", features) if k.startswith("line/")})
    for key in line:
        _, s, e = key.split("/")
        rows += probe(key, seed=int(s[1:]), model="plain_checkpoint", epoch=int(e[1:]))
    return pd.DataFrame(rows)


def _forward(p: np.ndarray, scale: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if scale == "linear":
        return p
    if scale != "logit":
        raise ValueError(f"scale must be logit or linear, got {scale!r}")
    p = np.clip(p, CLIP, 1 - CLIP)
    return np.log(p / (1 - p))


def _inverse(z: np.ndarray, scale: str) -> np.ndarray:
    return np.asarray(z, dtype=np.float64) if scale == "linear" else 1.0 / (1.0 + np.exp(-np.asarray(z, float)))


def fit_line(id_acc: Sequence[float], ood_acc: Sequence[float], scale: str = "logit") -> dict[str, Any] | None:
    """The least-squares line OOD = slope·ID + intercept through the plain models' points, on
    ``scale`` (logit: both accuracies logit-transformed, Taori et al. 2020, Sec. 3; linear: as
    they are). None with fewer than two points of distinct ID accuracy (no line)."""
    x, y = _forward(id_acc, scale), _forward(ood_acc, scale)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} ID accuracies against {len(y)} OOD accuracies")
    if len(np.unique(x)) < 2:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    return {"slope": float(slope), "intercept": float(intercept), "scale": scale, "points": int(len(x)),
            "rms_residual": float(np.sqrt(np.mean(resid ** 2)))}


def line_at(line: dict[str, Any], id_acc: Sequence[float]) -> np.ndarray:
    """The line's OOD accuracy at each ID accuracy (back on the accuracy scale)."""
    z = line["slope"] * _forward(id_acc, line["scale"]) + line["intercept"]
    return _inverse(z, line["scale"])


def effective_robustness(line: dict[str, Any], id_acc: Sequence[float], ood_acc: Sequence[float]) -> np.ndarray:
    """OOD accuracy minus the line's at the same ID accuracy (Taori et al., 2020, Def. of
    effective robustness ρ(f) = acc₂(f) − β(acc₁(f))): > 0 above the plain models' line."""
    return np.asarray(ood_acc, dtype=np.float64) - line_at(line, id_acc)


def effective_robustness_table(table: pd.DataFrame, scale: str = "logit"
                               ) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """One row per model (seed, model, epoch) with its ID and OOD probe accuracy, the plain
    models' line at its ID accuracy and its effective robustness (NaN without a line), and
    the line fit through every plain point (final members and checkpoints)."""
    wide = table.pivot_table(index=["seed", "model", "epoch"], columns="split", values="accuracy").reset_index()
    wide = wide.rename(columns={"test": "id", "shifted": "ood"})
    plain = wide[wide.model.isin(["plain", "plain_checkpoint"])]
    line = fit_line(plain.id, plain.ood, scale)
    if line is None:
        wide["line_ood"] = np.nan
        wide["effective_robustness"] = np.nan
    else:
        wide["line_ood"] = line_at(line, wide.id)
        wide["effective_robustness"] = wide.ood - wide.line_ood
    return wide, line
