"""Statistics the studies share: the linear probe (standardised features, multinomial logistic
regression) and its per-point correctness. The width study (Duzgun, Jelassi, Li, arXiv
2407.00968, 2024, Def. 2.5: feature performance), the diversity study's overlap and transfer
probes and the contamination study's heads read them from here; ridge regression stays with the
width study (:mod:`featurelab.width.ridge`), the bootstrap intervals with the verdicts
(:mod:`featurelab.verdicts`) and the PCA of the interaction tensor with it
(:func:`featurelab.interaction.tensor.pca_project`).
"""
from __future__ import annotations

import numpy as np

__all__ = ["linear_probe", "probe_correct"]


def linear_probe(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, y_test: np.ndarray,
                 C: float = 1.0, max_iter: int = 1000, *, return_model: bool = False):
    """``FP``: test accuracy of a linear classifier on a feature set (paper
    Def. 2.5). Features are standardised on the training split, then a multinomial logistic
    regression (scikit-learn ``LogisticRegression``, lbfgs, L2 with inverse strength ``C``)
    is fitted. Returns the accuracy (and the fitted pipeline if ``return_model``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, solver="lbfgs"))
    F_train = np.asarray(F_train)
    # lbfgs on a small problem is a long series of tiny BLAS calls: threads only add overhead
    # (measured 40x slower with 2 threads on a busy 2-core machine), so small probes run on one
    with threadpool_limits(1 if F_train.size < 20_000_000 else None):
        model.fit(F_train, np.asarray(y_train))
    acc = float(np.mean(model.predict(np.asarray(F_test)) == np.asarray(y_test)))
    return (acc, model) if return_model else acc


def probe_correct(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, y_test: np.ndarray,
                  C: float = 1.0, max_iter: int = 1000) -> np.ndarray:
    """Per test point, whether the linear probe of :func:`linear_probe` classifies it
    correctly (bool array; its mean is FP): what paired comparisons of FP resample."""
    _, model = linear_probe(F_train, y_train, F_test, y_test, C, max_iter, return_model=True)
    return model.predict(np.asarray(F_test)) == np.asarray(y_test)
