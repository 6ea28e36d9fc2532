"""The theory study: the combinatorial framework of Jiang, Baek, Kolter, "On the Joint
Interaction of Models, Data, and Features", ICLR 2024, §5, App. B-C and F.7.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.closed_forms`     accuracy and agreement in closed form (Props. 5.1-5.2), ζ
                         families, the coverage bound of Lemma B.1
:mod:`.simulation`       the generative story sampled (the self-check of the formulas)
:mod:`.sweeps`           the parameter sweeps behind Figs 4, 16 and 5a
:mod:`.estimate`         the framework's parameters estimated from an interaction tensor
:mod:`.compare`          predictions at those parameters against the measured ensemble
:mod:`.story`            an Ω drawn from the story (known answers for the estimators)
:mod:`.figures`          Figs 4, 16, 5a and theory against experiment
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["DEFAULTS", "DEFAULT_ZETA", "ALPHA", "FIG16_ETAS", "FIG16_THETA", "ZETA_FAMILIES", "binom",
                     "hypergeom_pmf", "miss_probability", "split_capacity", "Params", "Zeta", "zeta_constant",
                     "zeta_proportional", "zeta_step", "make_zeta", "closed_form", "accuracy", "agreement",
                     "coverage_bound"], "closed_forms"),
    **dict.fromkeys(["simulate", "simulate_fig4_points"], "simulation"),
    **dict.fromkeys(["SWEEP_KEYS", "FIG4_RANGES", "FIG4_COUPLED_RANGES", "FIG16_RANGES", "FIG5A_BETAS", "ablate",
                     "sweep_fig4", "sweep_fig16", "sweep_fig5a"], "sweeps"),
    **dict.fromkeys(["PARAM_NAMES", "SPLIT_RULES", "ZETA_METHODS", "split_features", "class_frequencies",
                     "classify_points", "solve_total_features", "estimate_zeta", "estimate_parameters",
                     "params_of"], "estimate"),
    **dict.fromkeys(["predict", "measured", "compare_table", "synthetic_truth", "score_against_truth",
                     "theory_vs_experiment"], "compare"),
    **dict.fromkeys(["story_tensor"], "story"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
