"""The contamination study of Zhang, Zhao, Chen, Jiang, Chen, "Feature Contamination: Neural
Networks Learn Uncorrelated Features and Fail to Generalize", ICML 2024.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.numerical`        the world of Def. 3.1, two-layer networks trained side by side
                         as one batched model, the curves of Figs 3, 7-10
:mod:`.deep`             activation rates, neuron selectivity and mean activations of a
                         trained image network's stages (Secs. 4.3, 5; App. F.2-F.3)
:mod:`.padding`          what a network trained on colour-padded images learned about the
                         colour (App. F.4)
:mod:`.headline`         linear probes on teacher, student and plain member (Fig 1, scaled)
:mod:`.findings`         every finding as a number with its verdict
:mod:`.figures`          the study's figures
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["NumericalSetting", "Run", "contamination_curves", "run_batch", "momentum_decay_factor",
                     "sample_world", "dictionary"], "numerical"),
    **dict.fromkeys(["selectivity", "activation_rates", "stage_statistics"], "deep"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
