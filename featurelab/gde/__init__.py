"""The GDE study: which interventions keep or break the generalization-disagreement equality,
Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and Features", ICLR 2024, §6,
App. B, F.8, F.9.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.datasets`         superclasses, blue intensity and its groups (the interventions)
:mod:`.metrics`          accuracy, agreement, their difference, standard errors
:mod:`.calibration_bins` reliability bins, ECE, class-aggregated calibration error
:mod:`.tables`           Tables 1-2 (CSV, Markdown, LaTeX) and the conditions' names
:mod:`.summary`          one row per condition, the summary's comparisons and verdicts, the
                         base-condition measure on an external set
:mod:`.figures`          accuracy against agreement, calibration, Fig 5b
:mod:`.design`           the closed-form design of a world in which GDE holds (the control)
:mod:`.controls`         the gde control's decision
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["SUPERCLASSES", "DEFAULT_FRACTIONS", "superclass_groups", "superclass_map", "relabel",
                     "blue_intensity", "blue_thresholds", "blue_groups", "blue_group_split", "blue_group_info", "fraction_size"],
                    "datasets"),
    **dict.fromkeys(["pairwise_agreement", "ensemble_metrics", "class_count_free_difference",
                     "difference_standard_error", "range_ratio_interval", "pair_differences"], "metrics"),
    **dict.fromkeys(["world_params", "capacity_from_accuracy", "gde_design"], "design"),
    "decide_gde": "controls",
    "calibration": "calibration_bins",
    **dict.fromkeys(["METRIC_COLUMNS", "results_table", "format_markdown", "format_latex", "superclass_condition",
                     "blue_condition", "parse_condition", "condition_label"], "tables"),
    **dict.fromkeys(["condition_row", "study_tables", "summarize", "compare_spreads", "blue_trend",
                     "external_measure"], "summary"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
