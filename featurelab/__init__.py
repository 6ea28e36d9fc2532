"""featurelab: the analyses of four papers on which features neural networks learn.

The public API is importable from the top level; each name lives in the module of its
study and is loaded on first use, so ``import featurelab`` stays cheap and imports
neither PyTorch nor SciPy.

==========================  ==========================================  =====================================
name                        module                                      paper
==========================  ==========================================  =====================================
``correlation_tensor``      :mod:`featurelab.interaction.tensor`        Jiang, Baek, Kolter 2024, §3, eqs 1-2
``cluster_features``        :mod:`featurelab.interaction.tensor`        Jiang, Baek, Kolter 2024, Alg. 1
``accuracy``, ``agreement`` :mod:`featurelab.theory.closed_forms`       Jiang, Baek, Kolter 2024, Props 5.1-5.2
``blue_intensity``          :mod:`featurelab.gde.datasets`              Jiang, Baek, Kolter 2024, App. F.9
``feature_span_error``      :mod:`featurelab.width.measures`            Duzgun, Jelassi, Li 2024, Def. 2.2
``read_activations``,       :mod:`featurelab.activations`               the workflow's activation files
``read_ensemble``
``contamination_curves``    :mod:`featurelab.contamination.numerical`   Zhang et al. 2024, Secs. 3-4, App. F.1
``selectivity``             :mod:`featurelab.contamination.deep`        Zhang et al. 2024, App. F.3, Eq. 61
``error_inconsistency``,    :mod:`featurelab.diversity.metrics`         Gontijo-Lopes, Dauphin, Cubuk 2022, §3
``conversion_rate``
``linear_cka``              :mod:`featurelab.diversity.probes`          Kornblith et al. 2019 (linear kernel)
``generate_split``          :mod:`featurelab.data.synthetic`            the synthetic feature world
``train_member``            :mod:`featurelab.training.solo`             Jiang, Baek, Kolter 2024, App. E
==========================  ==========================================  =====================================
"""
from ._lazy import lazy_exports

__version__ = "0.2.0"

_WHERE = {
    "correlation_tensor": "interaction.tensor",
    "cluster_features": "interaction.tensor",
    "accuracy": "theory.closed_forms",
    "agreement": "theory.closed_forms",
    "blue_intensity": "gde.datasets",
    "feature_span_error": "width.measures",
    "contamination_curves": "contamination.numerical",
    "selectivity": "contamination.deep",
    "error_inconsistency": "diversity.metrics",
    "conversion_rate": "diversity.metrics",
    "linear_cka": "diversity.probes",
    "generate_split": "data.synthetic",
    "WorldConfig": "data.synthetic",
    "read_activations": "activations",
    "read_ensemble": "activations",
    "write_activations": "activations",
    "load_split": "data.prepared",
    "build_model": "models",
    "train_member": "training.solo",
    "load_member": "training.solo",
    "validate_config": "config",
    "Plan": "plan",
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
