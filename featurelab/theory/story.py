"""An interaction tensor drawn from the generative story of Jiang, Baek, Kolter (ICLR 2024,
§5) itself: models holding random features, points carrying them, Ω marking which model
holds which feature of which point. The estimators of :mod:`featurelab.theory.estimate`
must recover the parameters it was drawn with (the tests check that).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import closed_forms
from .estimate import params_of


def _subsets(rng: np.random.Generator, rows: int, t: int, size: int) -> np.ndarray:
    if size == 0 or rows == 0:
        return np.zeros((rows, size), dtype=np.int64)
    return np.argsort(rng.random((rows, t)), axis=1)[:, :size]


def story_tensor(params: Mapping[str, Any] | closed_forms.Params, M: int, N: int,
                 num_classes: int = 2, zeta: float = 0.9, seed: int = 0) -> dict[str, Any]:
    """Ω, clusters and predictions sampled from the framework's generative story (§5).

    Class y owns features ``y·(t_d+t_r) + j`` (j < t_d dominant, else rare). Each of the M
    models holds, per class, c_d random dominant and c_r random rare features (its
    ``clusters`` row lists them, one component per feature). Each of the N points draws a
    uniform class, is dominant w.p. p_d and then holds n_d of its class's dominant features,
    else n_r rare ones. ``Ω[m, n, t] = 1`` iff m and n both hold t. A model is right on a
    point it shares a feature with; otherwise it guesses: with probability √κ (κ = 2ζ − 1)
    it takes the point's common guess, else its own, both uniform over the classes, so two
    guessing models agree w.p. κ + (1 − κ)/C (= ζ for C = 2) — on every pair, whatever k.

    Returns triplets, clusters (M, C·c/2), predictions (M, N), labels (N,), point_dominant
    (N,), feature_dominant (T,), M, N, T, params (dict) and zeta.
    """
    prm = params if isinstance(params, closed_forms.Params) else params_of(params)
    C = int(num_classes)
    if C < 2:
        raise ValueError(f"num_classes must be ≥ 2, got {num_classes}")
    if not 0.5 <= zeta <= 1:
        raise ValueError(f"zeta must lie in [0.5, 1] here, got {zeta}")
    rng = np.random.default_rng(seed)
    per = prm.t_d + prm.t_r
    T = C * per
    c_d, c_r = prm.c_d, prm.c_r
    clusters = np.empty((M, C * (c_d + c_r)), dtype=np.int64)
    for y in range(C):
        base = y * per
        cols = slice(y * (c_d + c_r), (y + 1) * (c_d + c_r))
        clusters[:, cols] = np.concatenate(
            [base + _subsets(rng, M, prm.t_d, c_d),
             base + prm.t_d + _subsets(rng, M, prm.t_r, c_r)], axis=1)
    H = np.zeros((M, T), dtype=bool)
    H[np.repeat(np.arange(M), clusters.shape[1]), clusters.ravel()] = True

    labels = rng.integers(0, C, size=N)
    dom = rng.random(N) < float(prm.p_exact)
    P = np.zeros((N, T), dtype=bool)
    idx_d, idx_r = np.flatnonzero(dom), np.flatnonzero(~dom)
    fd = labels[idx_d, None] * per + _subsets(rng, idx_d.size, prm.t_d, prm.n_d)
    fr = labels[idx_r, None] * per + prm.t_d + _subsets(rng, idx_r.size, prm.t_r, prm.n_r)
    P[np.repeat(idx_d, prm.n_d), fd.ravel()] = True
    P[np.repeat(idx_r, prm.n_r), fr.ravel()] = True

    parts = []
    hit = np.zeros((M, N), dtype=bool)
    for m in range(M):
        pts, fts = np.nonzero(P[:, H[m]])
        feats = np.flatnonzero(H[m])[fts]
        parts.append((np.full(pts.size, m), pts, feats))
        hit[m, np.unique(pts)] = True
    mm = np.concatenate([p[0] for p in parts])
    nn = np.concatenate([p[1] for p in parts])
    tt = np.concatenate([p[2] for p in parts])
    order = np.lexsort((tt, nn, mm))
    triplets = pd.DataFrame({"model": mm[order].astype(np.int32), "point": nn[order].astype(np.int32),
                             "feature": tt[order].astype(np.int32)})

    rho = math.sqrt(2 * zeta - 1)
    common = rng.integers(0, C, size=N)
    own = rng.integers(0, C, size=(M, N))
    guess = np.where(rng.random((M, N)) < rho, common[None, :], own)
    predictions = np.where(hit, labels[None, :], guess)
    fdom = np.zeros(T, dtype=bool)
    for y in range(C):
        fdom[y * per: y * per + prm.t_d] = True
    return {"triplets": triplets, "clusters": clusters, "predictions": predictions,
            "labels": labels, "point_dominant": dom, "feature_dominant": fdom,
            "M": int(M), "N": int(N), "T": int(T), "params": prm.as_dict(), "zeta": float(zeta)}
