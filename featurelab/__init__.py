"""featurelab: the analyses of four papers on which features neural networks learn.

The public API (SPEC 8) is importable from the top level; each name lives in the
module of its paper section and is loaded on first use, so ``import featurelab`` stays
cheap and does not import PyTorch.

=========================  =====================================  ==================
name                       module                                 paper / SPEC
=========================  =====================================  ==================
``correlation_tensor``     :mod:`featurelab.interaction`          000 §3, SPEC 4
``cluster_features``       :mod:`featurelab.interaction`          000 Alg. 1, SPEC 4
``accuracy``               :mod:`featurelab.theory`               000 Prop. 5.1
``agreement``              :mod:`featurelab.theory`               000 Prop. 5.2
``generate_split``         :mod:`featurelab.data.synthetic`       SPEC 2.2
``read_activations``       :mod:`featurelab.activations`          SPEC 3
``blue_intensity``         :mod:`featurelab.gde`                  000 §6, SPEC 6
``feature_span_error``     :mod:`featurelab.width`                002, SPEC 7
=========================  =====================================  ==================
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "correlation_tensor": "featurelab.interaction",
    "cluster_features": "featurelab.interaction",
    "accuracy": "featurelab.theory",
    "agreement": "featurelab.theory",
    "generate_split": "featurelab.data.synthetic",
    "WorldConfig": "featurelab.data.synthetic",
    "read_activations": "featurelab.activations",
    "write_activations": "featurelab.activations",
    "load_split": "featurelab.data.prepared",
    "build_model": "featurelab.models",
    "train_member": "featurelab.train",
    "validate_config": "featurelab.config",
    "blue_intensity": "featurelab.gde",
    "feature_span_error": "featurelab.width",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'featurelab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
