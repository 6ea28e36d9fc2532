"""Rule gde_tables: Tables 1-2 (accuracy, agreement, agreement − accuracy per condition),
the accuracy-vs-agreement figure, calibration per condition, and the study's summary."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import numpy as np

    from featurelab import gde
    from featurelab import theory_empirical as TE
    from featurelab import gde_figures as F
    from featurelab.activations import read_activations
    from featurelab.data.paper_numbers import paper_table

    rows, calibrations, cal_summaries = [], {}, {}
    for name, condition in snakemake.params.conditions.items():
        acts = [read_activations(f, columns=("index", "label", "prediction", "logits")) for f in snakemake.input[name]]
        labels = acts[0].label
        preds = np.stack([a.prediction for a in acts])
        logits = np.stack([a.logits for a in acts])
        k = logits.shape[-1]
        metrics = gde.ensemble_metrics(preds, labels)
        se = gde.difference_standard_error(preds, labels)
        # how often two wrong members make the same mistake, read as the copy probability κ of
        # the guessing story (featurelab.theory_empirical.estimate_zeta; κ = 0 independent
        # guesses, the paper's ζ = 0.9 is κ = 0.8); undefined for two classes
        kappa = (TE.estimate_zeta(preds, labels, num_classes=k, method="shared_error")["kappa"]
                 if k > 2 and len(acts) > 1 else float("nan"))
        rows.append({"condition": condition, "n_test": len(labels), **metrics,
                     "difference_se": se["se"], "difference_se_members": se["se_members"],
                     "difference_se_points": se["se_points"], "classes": k,
                     "difference_class_free": float(gde.class_count_free_difference(metrics["difference_mean"], k)),
                     "difference_class_free_se": float(gde.class_count_free_difference(se["se"], k)),
                     "guess_copy_kappa": kappa})
        cal_summaries[condition], calibrations[condition] = gde.calibration(logits, labels)
    table = gde.results_table(rows)
    paper = paper_table("gde")
    o = snakemake.output
    table.to_csv(o.table, index=False)
    Path(o.markdown).write_text(gde.format_markdown(table, paper))
    Path(o.latex).write_text(gde.format_latex(table, paper))
    F.save(*F.fig_accuracy_vs_agreement(table, paper), o.figure, o.figure_csv)
    F.save(*F.fig_calibration(calibrations), o.calibration, o.calibration_csv)

    def column(prefix, name):
        return table[table["condition"].str.startswith(prefix)][name].to_numpy(dtype=float)

    def spread(prefix, name):
        d = column(prefix, name)
        return {"conditions": int(len(d)), "range": float(np.ptp(d)) if len(d) else float("nan"),
                "std": float(np.std(d, ddof=1)) if len(d) > 1 else float("nan")}

    def compare(name, se):
        """Spreads of column ``name`` across superclasses and blue groups, their ratio, the
        verdict and, with two conditions on each side, its interval (standard errors ``se``)."""
        sup, blue = spread("super", name), spread("blue", name)
        interval = (gde.range_ratio_interval(column("blue", name), column("blue", se),
                                             column("super", name), column("super", se))
                    if sup["conditions"] >= 2 and blue["conditions"] >= 2 else None)
        return {"superclass_spread": sup, "blue_spread": blue,
                "blue_over_superclass_range": blue["range"] / sup["range"] if sup["range"] else float("inf"),
                "holds": bool(blue["range"] > sup["range"]), "interval": interval}

    raw = compare("difference_mean", "difference_se")
    free = compare("difference_class_free", "difference_class_free_se")
    diff = dict(zip(table["condition"], table["difference_mean"]))
    groups = []
    for f in snakemake.input.blue_groups:
        info = json.loads(Path(f).read_text())
        groups.append({"group": info["group"], "rare_pool_mean": info.get("rare_pool_mean"),
                       "difference_mean": float(diff[gde.blue_condition(info["group"] - 1)])})
    groups.sort(key=lambda g: g["group"])
    trend = float("nan")
    if len(groups) >= 3:
        import scipy.stats
        key = "rare_pool_mean" if all(g["rare_pool_mean"] is not None for g in groups) else "group"
        trend = float(scipy.stats.spearmanr([g[key] for g in groups], [g["difference_mean"] for g in groups]).statistic)
    summary = {
        "superclass_difference_spread": raw["superclass_spread"], "blue_difference_spread": raw["blue_spread"],
        "blue_over_superclass_range": raw["blue_over_superclass_range"],
        "paper_predicts": "agreement − accuracy varies more across blue groups than across superclass merges",
        "holds": raw["holds"],
        "blue_over_superclass_interval": raw["interval"],
        "interval_note": ("each condition's agreement − accuracy redrawn from Normal(mean, se²), se = member "
                          "jackknife and test-sample error in quadrature: 5-95% of the range ratio and the "
                          "share of draws in which the blue range is the larger"),
        "class_free": {
            "note": ("agreement − accuracy / (1 − 1/K): the guessing story of paper 000 §5 with K classes gives "
                     "(κ q0 − r)(1 − 1/K), so merging classes rescales a nonzero difference even when it leaves "
                     "the features alone (featurelab.gde.class_count_free_difference); the same comparison on it"),
            **free,
        },
        "guess_copy_kappa": dict(zip(table["condition"], table["guess_copy_kappa"])),
        "blue_groups": groups,
        "blue_trend_spearman": trend,
        "blue_trend_note": ("Spearman of each blue group's mean rare pool (synthetic world; else its index) with "
                            "agreement − accuracy; paper 000 §5 predicts it rises with t_r"),
        "calibration": cal_summaries,
        "conditions": table.to_dict(orient="records"),
    }
    def strict(v):
        """NaN / ±inf -> null, so that jq, DuckDB and JavaScript read the summary too."""
        if isinstance(v, dict):
            return {k: strict(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [strict(x) for x in v]
        if isinstance(v, (float, np.floating)):
            return float(v) if np.isfinite(v) else None
        return v

    Path(o.summary).write_text(json.dumps(strict(summary), indent=2, default=float, allow_nan=False))
    log(Path(o.markdown).read_text())
    log(json.dumps({k: summary[k] for k in ("superclass_difference_spread", "blue_difference_spread",
                                           "blue_over_superclass_range", "holds",
                                           "blue_over_superclass_interval", "class_free",
                                           "guess_copy_kappa", "blue_groups",
                                           "blue_trend_spearman")}, indent=1))
