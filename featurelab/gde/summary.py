"""The GDE study's results from its ensembles: Tables 1-2 with uncertainties, calibration,
and the summary's comparisons with their verdicts (Jiang, Baek, Kolter, ICLR 2024, §6).

:func:`condition_row` scores one condition's ensemble; :func:`summarize` compares the
conditions: how much agreement − accuracy varies across superclass merges and across blue
groups (the paper predicts: far more across blue groups), how sure that comparison is, and
the trend of agreement − accuracy with each blue group's rare-feature pool.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..activations import Ensemble
from ..verdicts import LEVEL, verdict
from .calibration_bins import calibration
from .metrics import class_count_free_difference, difference_standard_error, ensemble_metrics, range_ratio_interval
from .tables import results_table

#: What the paper predicts, in the summary's words.
PREDICTION = "agreement − accuracy varies more across blue groups than across superclass merges"


def condition_row(condition: str, ens: Ensemble) -> tuple[dict[str, Any], dict[str, Any], pd.DataFrame]:
    """One condition: its row of Tables 1-2, its calibration summary and its reliability bins.

    The row holds accuracy, agreement and their difference (mean and std over members and
    pairs), the difference's standard error (member jackknife and test sample in
    quadrature), the class count K read from the logits, the class-count-free difference,
    and κ, how often two wrong members make the same mistake read as the copy probability of
    the guessing story (:func:`featurelab.theory.estimate_zeta`; κ = 0 independent guesses, the
    paper's ζ = 0.9 is κ = 0.8; undefined for two classes)."""
    from ..theory.estimate import estimate_zeta

    if ens.logits is None:
        raise ValueError(f"condition {condition}: read the ensemble with logits=True")
    labels, preds = ens.labels, ens.predictions
    k = ens.logits.shape[-1]
    metrics = ensemble_metrics(preds, labels)
    se = difference_standard_error(preds, labels)
    kappa = (estimate_zeta(preds, labels, num_classes=k, method="shared_error")["kappa"]
             if k > 2 and ens.M > 1 else float("nan"))
    row = {"condition": condition, "n_test": len(labels), **metrics,
           "difference_se": se["se"], "difference_se_members": se["se_members"],
           "difference_se_points": se["se_points"], "classes": k,
           "difference_class_free": float(class_count_free_difference(metrics["difference_mean"], k)),
           "difference_class_free_se": float(class_count_free_difference(se["se"], k)),
           "guess_copy_kappa": kappa}
    summary, bins = calibration(ens.logits, labels)
    return row, summary, bins


#: Why an external set gets the base-condition measure only.
EXTERNAL_NOTE = ("the base-condition measure only: the interventions (superclasses, blue groups, training fractions; "
                 "§6, App. F.8-F.9, Fig 5b) retrain every member on changed data, which a set trained elsewhere "
                 "cannot give")


def external_measure(name: str, ens: Ensemble, tolerance: float = 0.05, level: float = LEVEL
                     ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The GDE study's base-condition measure on an external set's test-split logits: the row
    of Tables 1-2 (:func:`condition_row`), the calibration summary (ECE, the vote ensemble's
    CACE and the GDE gap it bounds, Jiang et al. 2022, Thm 4.2) and the GDE verdict over member
    pairs (:func:`featurelab.gde.controls.gde_verdict`); and the reliability bins."""
    from .controls import gde_verdict

    models = len(ens.predictions)
    if models < 2:
        raise ValueError(f"external set {name}: agreement needs at least 2 models, got {models}")
    row, cal, bins = condition_row(name, ens)
    row.pop("condition")
    return {"set": name, "split": "test", "models": models, **row, "calibration": cal, "tolerance": tolerance,
            "gde": gde_verdict(ens.predictions, ens.labels, tolerance, level), "note": EXTERNAL_NOTE}, bins


def _column(table: pd.DataFrame, prefix: str, name: str) -> np.ndarray:
    return table[table["condition"].str.startswith(prefix)][name].to_numpy(dtype=float)


def spread(values: Sequence[float]) -> dict[str, Any]:
    """How many conditions, and the range and standard deviation of their values."""
    d = np.asarray(values, dtype=float)
    return {"conditions": int(len(d)), "range": float(np.ptp(d)) if len(d) else float("nan"),
            "std": float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")}


def compare_spreads(table: pd.DataFrame, name: str, se: str, level: float = LEVEL) -> dict[str, Any]:
    """Spreads of column ``name`` across superclasses and blue groups, their ratio and, with
    two conditions on each side, the interval of the range difference (standard errors in
    column ``se``) and its verdict (:mod:`featurelab.verdicts`): blue range − superclass
    range > 0 on the central ``level`` interval of the redrawn difference. Fewer than two
    conditions on a side: no verdict."""
    sup, blue = spread(_column(table, "super", name)), spread(_column(table, "blue", name))
    interval = (range_ratio_interval(_column(table, "blue", name), _column(table, "blue", se),
                                     _column(table, "super", name), _column(table, "super", se), level=level)
                if sup["conditions"] >= 2 and blue["conditions"] >= 2 else None)
    stat = ({"mean": interval["difference"], "lo": interval["difference_lo"], "hi": interval["difference_hi"],
             "n": min(sup["conditions"], blue["conditions"]), "draws": interval["draws"], "level": level,
             "method": "bootstrap"} if interval else {"mean": None, "lo": None, "hi": None, "n": 1})
    v = verdict("range of agreement − accuracy across blue groups − across superclass merges > 0 (§6)",
                (stat, ">", 0.0), note="each condition redrawn from Normal(mean, se²)")
    if interval is None:
        v["basis"] = "fewer than two conditions on a side: no verdict"
    return {"superclass_spread": sup, "blue_spread": blue,
            "blue_over_superclass_range": blue["range"] / sup["range"] if sup["range"] else float("inf"),
            "holds": v["holds"], "verdict": v, "interval": interval}


def blue_trend(groups: Sequence[Mapping[str, Any]]) -> float:
    """Spearman correlation of each blue group's mean rare pool (its index where the pool is
    unknown) with its agreement − accuracy; NaN with fewer than three groups."""
    if len(groups) < 3:
        return float("nan")
    import scipy.stats

    key = "rare_pool_mean" if all(g.get("rare_pool_mean") is not None for g in groups) else "group"
    return float(scipy.stats.spearmanr([g[key] for g in groups], [g["difference_mean"] for g in groups]).statistic)


def study_tables(ensembles: Mapping[str, Ensemble], blue_groups: Sequence[Mapping[str, Any]],
                 level: float = LEVEL) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, Any]]:
    """Tables 1-2, the reliability bins per condition and the study's summary.

    ``ensembles``: ``{condition: Ensemble}`` (test-split activations with logits) in table
    order; ``blue_groups``: what the blue-group datasets recorded (``group``, and on a
    synthetic world ``rare_pool_mean``)."""
    rows, bins, cal = [], {}, {}
    for condition, ens in ensembles.items():
        row, cal[condition], bins[condition] = condition_row(condition, ens)
        rows.append(row)
    table = results_table(rows)
    return table, bins, summarize(table, blue_groups, cal, level)


def summarize(table: pd.DataFrame, blue_groups: Sequence[Mapping[str, Any]],
              calibrations: Mapping[str, Any], level: float = LEVEL) -> dict[str, Any]:
    """The study's summary: spreads and their comparison (raw and class-count free), κ per
    condition, each blue group with its rare pool and difference, the trend, calibration."""
    from ..plan import blue_condition

    raw = compare_spreads(table, "difference_mean", "difference_se", level)
    free = compare_spreads(table, "difference_class_free", "difference_class_free_se", level)
    diff = dict(zip(table["condition"], table["difference_mean"]))
    groups = sorted(({"group": g["group"], "rare_pool_mean": g.get("rare_pool_mean"),
                      "difference_mean": float(diff[blue_condition(g["group"] - 1)])} for g in blue_groups),
                    key=lambda g: g["group"])
    return {
        "superclass_difference_spread": raw["superclass_spread"], "blue_difference_spread": raw["blue_spread"],
        "blue_over_superclass_range": raw["blue_over_superclass_range"],
        "paper_predicts": PREDICTION,
        "holds": raw["holds"],
        "blue_varies_more_than_superclass": raw["verdict"],
        "blue_over_superclass_interval": raw["interval"],
        "interval_note": ("each condition's agreement − accuracy redrawn from Normal(mean, se²), se = member "
                          "jackknife and test-sample error in quadrature: 5-95% of the range ratio and the "
                          "share of draws in which the blue range is the larger"),
        "class_free": {
            "note": ("agreement − accuracy / (1 − 1/K): the guessing story of Jiang, Baek, Kolter (2024) §5 with K "
                     "classes gives (κ q0 − r)(1 − 1/K), so merging classes rescales a nonzero difference even when "
                     "it leaves the features alone (featurelab.gde.class_count_free_difference); the same "
                     "comparison on it"),
            **free,
        },
        "guess_copy_kappa": dict(zip(table["condition"], table["guess_copy_kappa"])),
        "blue_groups": groups,
        "blue_trend_spearman": blue_trend(groups),
        "blue_trend_note": ("Spearman of each blue group's mean rare pool (synthetic world; else its index) with "
                            "agreement − accuracy; Jiang, Baek, Kolter (2024) §5 predicts it rises with t_r"),
        "calibration": dict(calibrations),
        "conditions": table.to_dict(orient="records"),
    }
