"""The interaction study: Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and
Features", ICLR 2024, §3-4 and App. E-F.

=======================  ==============================================================
module                   what it holds
=======================  ==============================================================
:mod:`.tensor`           the maths of Ω: PCA projections, Λ, γcorr, Algorithm 1, γdata, Ω
:mod:`.measures`         quantities read off Ω: confidence, nfeat, frequency, shared
                         features and errors, the Mantel test of O.4, similarity (Fig 9)
:mod:`.io`               Ω as Parquet, the tensor bundle of a variant (build and read back)
:mod:`.figures`          Figs 2a-c, 3a-c, 8 (numbers)
:mod:`.images`           Figs 1, 9, 10, 11 (test images)
:mod:`.findings`         O.1-O.4 as numbers with verdicts, ground-truth recovery, summary
:mod:`.controls`         the O.4 control: members sharing rare features by construction
=======================  ==============================================================

The maths and I/O names are importable from here (``featurelab.interaction.cluster_features``).
"""
from .._lazy import lazy_exports

_WHERE = {
    **dict.fromkeys(["TRIPLET_COLUMNS", "pca_project", "correlation_tensor", "gamma_corr", "cluster_features",
                     "cluster_features_loops", "numerical_rank", "normalize_columns", "gamma_data",
                     "interaction_tensor", "interaction_tensor_loops", "omega_to_dense", "OmegaFile",
                     "InteractionResult", "build_interaction", "k_share", "k_retaining_accuracy", "linear_head",
                     "projected_accuracy", "correlation_noise_floor", "cluster_seeds", "seed_shares",
                     "cluster_features_in_order"], "tensor"),
    **dict.fromkeys(["confidence", "features_per_point", "feature_frequency", "models_per_feature",
                     "model_feature_matrix", "shared_features", "shared_error", "mantel_test", "similarity",
                     "incidence_matrix", "similarity_matrix", "model_orders",
                     "shared_features_over_orders"], "measures"),
    **dict.fromkeys(["write_omega", "read_omega", "build_variant", "Tensor"], "io"),
}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
