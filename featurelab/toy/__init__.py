"""The toy setting of Duzgun, Jelassi, Li, "How Does Overparameterization Affect Features?", arXiv
2407.00968, 2024, §4 and App. C: one wide patch MLP against a concatenation of narrow ones.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.setting`          signal vectors among noise patches, the label, the data splits
:mod:`.model`            many patch MLPs as one batched model, normalised SGD, training
:mod:`.measures`         which signal vectors a network has learned (eq. 4.1)
:mod:`.findings`         the learned-vector table and the verdict on finding 4.1
:mod:`.figures`          Fig 5
=======================  ==============================================================
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["ADDITION", "MULTIPLICATION", "N_SIGNALS", "KIND", "ToyData", "ToySetting", "signal_vectors",
                     "label", "make_samples", "generate", "activation_probability"], "setting"),
    **dict.fromkeys(["PatchMLP", "normalized_sgd_step", "TrainResult", "train", "build_condition", "run_condition",
                     "accuracy"], "model"),
    **dict.fromkeys(["signal_correlations", "learned", "summarize"], "measures"),
    **dict.fromkeys(["load_runs", "wide_condition", "learned_table", "learned_markdown", "finding"], "findings"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
