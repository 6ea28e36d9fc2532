"""The width study: Duzgun, Jelassi, Li, "How Does Overparameterization Affect Features?", arXiv
2407.00968, 2024, §2-3 and App. A, D (the toy setting of §4 is :mod:`featurelab.toy`).

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.counts`           N_f and N_p from the real parameter counts (no PyTorch)
:mod:`.ridge`            multi-target ridge regression from one factorisation
:mod:`.measures`         FSE, FSG, residuals, linear probes (FP), shuffled regression
:mod:`.study`            which members each repetition compares; every measurement of one α,
                         also between external sets
:mod:`.tables`           aggregation over repeats, Tables 2-5, the findings as numbers
:mod:`.figures`          Figs 1-4 and 7-8
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["n_f", "n_p", "model_parameters", "member_counts"], "counts"),
    **dict.fromkeys(["RidgeSolver", "DEFAULT_RELATIVE_LAMBDAS", "relative_squared_error"], "ridge"),
    **dict.fromkeys(["feature_span_error", "concat_features", "feature_span_gap", "residuals", "linear_probe",
                     "feature_performance", "shuffled_regression"], "measures"),
    **dict.fromkeys(["RepeatPlan", "repeat_plan", "measure_alpha", "measure_external", "MEASUREMENT_COLUMNS"],
                    "study"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
