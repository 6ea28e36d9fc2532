"""Calibration of an ensemble per GDE condition: reliability bins, expected calibration error
and the class-aggregated calibration error that bounds the GDE gap (Jiang et al., "Assessing
Generalization of SGD via Disagreement", ICLR 2022, Thm 4.2), for the conditions of Jiang,
Baek, Kolter (ICLR 2024, §6).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import _std


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins on [0, 1], right-closed: (0, 1/B], …, ((B−1)/B, 1]; 0 goes to bin 0."""
    return np.clip(np.ceil(conf * n_bins - 1e-12).astype(np.int64) - 1, 0, n_bins - 1)


def _reliability(conf: np.ndarray, correct: np.ndarray, n_bins: int, view: str,
                 total: int | None = None) -> tuple[pd.DataFrame, float]:
    """Reliability bins of (confidence, correctness) pairs and Σ_b (n_b / total) |acc_b − conf_b|."""
    idx = _bin_index(conf, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    s_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    s_corr = np.bincount(idx, weights=correct.astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mconf = np.where(count > 0, s_conf / np.maximum(count, 1), np.nan)
        macc = np.where(count > 0, s_corr / np.maximum(count, 1), np.nan)
    total = len(conf) if total is None else total
    err = float(np.abs(s_corr - s_conf).sum() / total) if total else float("nan")
    df = pd.DataFrame({
        "view": view, "bin": np.arange(n_bins), "lower": np.arange(n_bins) / n_bins,
        "upper": np.arange(1, n_bins + 1) / n_bins, "count": count,
        "confidence": mconf, "accuracy": macc, "gap": macc - mconf,
    })
    return df, err


def _ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    conf = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    return _reliability(conf, correct, n_bins, "")[1]


def calibration(logits: np.ndarray, labels: np.ndarray, n_bins: int = 10
                ) -> tuple[dict[str, float], pd.DataFrame]:
    """Calibration of an ensemble (§6: GDE fails ⇒ the ensemble is not calibrated on the group).

    ``logits``: (M, N, C) logits of M members on N test points; ``labels``: (N,).
    Returns ``(summary, bins)``.

    ``summary`` (floats):

    * ``ece_ensemble``: expected calibration error of the ensemble's top label, the ensemble
      probability being the mean of the members' softmax; ``accuracy_ensemble``,
      ``confidence_ensemble`` (mean top-label probability);
    * ``ece_member_mean`` / ``ece_member_std``: each member's own top-label ECE, averaged;
      ``accuracy_member_mean``, ``confidence_member_mean``;
    * ``cace_vote``: the class-aggregated calibration error (Jiang et al. 2022, Def. 4.3) of
      the *vote* ensemble h̃_k(x) = fraction of members predicting k — the ensemble GDE is
      about. Bins are the M+1 vote levels q ∈ {0, 1/M, …, 1}, so that
      CACE = Σ_q |(1/N) Σ_{(x,k): h̃_k(x)=q} (1[y=k] − q)| and the GDE gap below obeys
      |gde_gap_iid| ≤ cace_vote exactly (their Thm 4.2);
    * ``test_error``: mean member error; ``disagreement_iid``: E_x[1 − Σ_k h̃_k(x)²], the
      disagreement of two members drawn independently *with replacement* (Jiang et al.'s
      definition); ``gde_gap_iid = disagreement_iid − test_error``;
    * ``cace_softmax``: the same class-aggregated error for the softmax ensemble on
      ``n_bins`` equal-width bins; ``n_members``, ``n_points``, ``n_bins``.

    ``bins`` (one row per view and bin; columns view, bin, lower, upper, count, confidence,
    accuracy, gap): view ``ensemble`` (top label of the softmax ensemble), ``member`` (top
    labels of all members pooled), ``class_aggregated`` (all (x, k) pairs of the softmax
    ensemble: confidence = p_k(x), accuracy = frequency of y = k). Bins are equal-width on
    [0, 1], right-closed; empty bins have NaN confidence/accuracy.
    """
    z = np.asarray(logits)
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3:
        raise ValueError(f"logits must be (members, points, classes), got shape {z.shape}")
    m, n, c = z.shape
    y = np.asarray(labels)
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), got {y.shape}")
    if n == 0:
        raise ValueError("no test points")
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be ≥ 1, got {n_bins}")
    probs = _softmax(z)                      # (M, N, C)
    ens = probs.mean(axis=0)                 # (N, C)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), y] = 1.0

    ens_conf = ens.max(axis=1)
    ens_correct = ens.argmax(axis=1) == y
    bins_ens, ece_ens = _reliability(ens_conf, ens_correct, n_bins, "ensemble")

    mem_conf = probs.max(axis=2)             # (M, N)
    mem_pred = probs.argmax(axis=2)
    mem_correct = mem_pred == y[None, :]
    bins_mem, _ = _reliability(mem_conf.ravel(), mem_correct.ravel(), n_bins, "member")
    member_eces = np.array([_ece(probs[i], y, n_bins) for i in range(m)])

    bins_cls, cace_soft = _reliability(ens.ravel(), onehot.ravel() > 0.5, n_bins,
                                       "class_aggregated", total=n)

    votes = np.zeros((n, c))
    for i in range(m):
        votes[np.arange(n), mem_pred[i]] += 1.0
    level = votes.astype(np.int64).ravel()   # vote counts 0..M
    hv = votes / m
    resid = onehot.ravel() - hv.ravel()
    cace_vote = float(np.abs(np.bincount(level, weights=resid, minlength=m + 1)).sum() / n)
    test_error = float(1.0 - mem_correct.mean())
    dis_iid = float(np.mean(1.0 - (hv ** 2).sum(axis=1)))

    summary = {
        "ece_ensemble": ece_ens,
        "accuracy_ensemble": float(ens_correct.mean()),
        "confidence_ensemble": float(ens_conf.mean()),
        "ece_member_mean": float(member_eces.mean()),
        "ece_member_std": _std(member_eces, 1),
        "accuracy_member_mean": float(mem_correct.mean()),
        "confidence_member_mean": float(mem_conf.mean()),
        "cace_vote": cace_vote,
        "cace_softmax": cace_soft,
        "test_error": test_error,
        "disagreement_iid": dis_iid,
        "gde_gap_iid": dis_iid - test_error,
        "n_members": int(m),
        "n_points": int(n),
        "n_bins": n_bins,
    }
    bins = pd.concat([bins_ens, bins_mem, bins_cls], ignore_index=True)
    return summary, bins
