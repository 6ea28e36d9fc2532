"""The toy setting of Duzgun, Jelassi, Li ("How Does Overparameterization Affect Features?", arXiv
2407.00968, 2024, §4 and App. C): wide networks learn features that a concatenation of narrow
networks cannot.

Learned signal vectors (:func:`signal_correlations`, :func:`learned`). Neuron r is
*activated by* w_j when it fires on the signal patch of w_j in some training sample,
i.e. s ⟨W_r, w_j⟩ > b for a sign s that s_j takes in the training set. A network learns
w_j when some neuron activated by w_j has |cos(W_r, w_j)| > ``threshold`` (eq. 4.1);
the recorded curve is max over activated neurons of |cos(W_r, w_j)|, 0 when none is
activated. A concatenation of networks learns w_j when one of its networks does (its
first layer is the union of theirs), so the concatenation's curve is the max over its
networks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .setting import MULTIPLICATION

if TYPE_CHECKING:
    from .model import TrainResult


def signal_correlations(W: np.ndarray, signals: np.ndarray, bias: float,
                        train_signs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Max |cos(W_r, w_j)| over the neurons activated by w_j, and how many are activated.

    ``W`` (K, m, d) or (m, d) first-layer weights, ``signals`` (5, d). Neuron r is
    activated by w_j when s ⟨W_r, w_j⟩ > b for some sign s in ``train_signs[:, j]``
    (the signs w_j takes in the training data; both signs when None). Returns
    ``(corr, count)``, each (K, 5) (or (5,) for 2-D ``W``); corr is 0 where no neuron is
    activated by w_j.
    """
    W = W.detach().cpu().numpy() if hasattr(W, "detach") else np.asarray(W)  # a torch tensor
    single = W.ndim == 2
    W = W[None] if single else W
    S = np.asarray(signals, dtype=np.float64)
    dots = np.einsum("kmd,jd->kmj", W.astype(np.float64), S)  # ⟨W_r, w_j⟩
    norms = np.linalg.norm(W, axis=2)[..., None]
    cos = np.abs(dots) / np.where(norms > 0, norms, 1.0)
    if train_signs is None:
        pos = neg = np.ones(S.shape[0], dtype=bool)
    else:
        ts = np.asarray(train_signs)
        pos, neg = (ts > 0).any(0), (ts < 0).any(0)
    active = ((dots > bias) & pos) | ((-dots > bias) & neg)  # (K, m, 5)
    corr = np.where(active, cos, 0.0).max(1)
    count = active.sum(1)
    return (corr[0], count[0]) if single else (corr, count)


def learned(corr: np.ndarray, threshold: float) -> np.ndarray:
    """Eq. (4.1): w_j is learned when some activated neuron has |cos(W_r, w_j)| > threshold."""
    return np.asarray(corr) > threshold


def summarize(result: "TrainResult", threshold: float) -> dict[str, Any]:
    """Learned signal vectors of a condition, as plain lists (for JSON).

    ``nets_learned[j]``: how many of the networks learn w_j (eq. 4.1 at the end of
    training); ``concat_learned[j]``: whether the concatenation does (one network does);
    ``concat_corr[j]``: the concatenation's final max correlation; ``full_task_nets``:
    networks that learn all five vectors.
    """
    final = learned(result.corr[-1], threshold)  # (K, 5)
    return {
        "threshold": threshold,
        "nets_learned": final.sum(0).tolist(),
        "concat_learned": final.any(0).tolist(),
        "concat_corr": result.corr[-1].max(0).round(4).tolist(),
        "full_task_nets": int(final.all(1).sum()),
        "init_active": result.init_active.sum(0).tolist(),
        "final_active": result.active[-1].sum(0).tolist(),
        "nets_with_all_multiplication_at_init": int((result.init_active[:, list(MULTIPLICATION)] > 0).all(1).sum()),
        "train_acc_mean": float(np.mean(result.train_acc)),
        "test_acc_mean": float(np.mean(result.test_acc)),
        "test_acc_max": float(np.max(result.test_acc)),
        "per_net_learned": final.astype(int).tolist(),
        "seconds": round(result.seconds, 2),
    }
