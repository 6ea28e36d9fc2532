"""The interaction study as workflow steps: activation files in, Ω and its numbers out.

The maths is in :mod:`featurelab.interaction`; this module reads the members'
activation files, chooses K where a layer is narrower than asked, and writes one
tensor bundle per (ensemble, variant):

* ``omega.parquet``: Ω as (model, point, feature) triplets (SPEC 4.6);
* ``tensor.npz``: cluster ids (M, K), Λ (float32), γdata (per model), predictions (M, N)
  and labels (N,);
* ``tensor.json``: M, N, K asked and used, T, γcorr, γdata and the settings.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .activations import read_activations
from .interaction import build_interaction, read_omega, write_omega


def load_members(paths: Sequence[str | os.PathLike]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, list[dict]]:
    """Activations (list of (N, d)), predictions (M, N), labels (N,) and metadata of M files."""
    acts, preds, labels, metas = [], [], None, []
    for p in paths:
        a = read_activations(p, columns=("index", "label", "prediction", "activation"))
        order = np.argsort(a.index, kind="stable")
        if labels is None:
            labels, index = a.label[order], a.index[order]
        elif not np.array_equal(a.index[order], index):
            raise ValueError(f"{p} holds other points than {paths[0]}; all members must share one split")
        acts.append(a.activation[order])  # float32; pca_project computes in float64
        preds.append(a.prediction[order])
        metas.append(a.metadata)
    return acts, np.stack(preds), labels, metas


def numerical_rank(acts: np.ndarray, center: bool = False) -> int:
    """Rank with :func:`featurelab.interaction.pca_project`'s tolerance: a direction counts
    when its eigenvalue σ² exceeds σ²_max · max(N, d) · eps."""
    x = np.asarray(acts, dtype=np.float64)
    x = x - x.mean(axis=0) if center else x
    w = np.linalg.svd(x, compute_uv=False) ** 2
    return int((w > w.max() * max(x.shape) * np.finfo(np.float64).eps).sum()) if w.size and w.max() > 0 else 0


def build_variant(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, settings: dict[str, Any],
                  log=print) -> dict[str, Any]:
    """Build Ω from the members' activation files with ``settings``; write the bundle."""
    acts, preds, labels, metas = load_members(paths)
    k_asked = int(settings["k"])
    k = min([k_asked] + [a.shape[1] for a in acts])
    kwargs = dict(center=settings["center"], gamma_corr_fixed=settings["gamma_corr"],
                  corr_percentile=settings["corr_percentile"], data_percentile=settings["data_percentile"],
                  per_model_data=settings["gamma_data_pool"] == "per_model")
    try:
        res = build_interaction(acts, k=k, **kwargs)
    except ValueError as exc:
        if "rank" not in str(exc):
            raise
        k = min(k, *(numerical_rank(a, settings["center"]) for a in acts))
        log(f"lowering K to {k}, the smallest numerical rank among the members ({exc})")
        res = build_interaction(acts, k=k, **kwargs)
    if k != k_asked:
        log(f"K = {k} instead of {k_asked}: the layer is narrower than K or rank-deficient")
    gd = np.broadcast_to(np.asarray(res.gamma_data, dtype=np.float64), (res.M,))
    info = {"M": res.M, "N": res.N, "K_asked": k_asked, "K": res.K, "T": res.T,
            "gamma_corr": float(res.gamma_corr), "gamma_data": float(gd.mean()) if settings["gamma_data_pool"] == "all"
            else gd.tolist(), "omega_entries": int(len(res.omega)),
            "settings": settings, "members": [{k: m.get(k) for k in ("member", "seed", "epoch", "layer")} for m in metas]}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_omega(out / "omega.parquet", res.omega, res.M, res.N, res.T,
                {k: v for k, v in info.items() if k != "members"})
    tmp = out / "tensor.tmp.npz"
    np.savez(tmp, clusters=res.clusters, abs_corr=res.abs_corr.astype(np.float32), gamma_data=gd,
             predictions=preds, labels=labels)
    os.replace(tmp, out / "tensor.npz")
    (out / "tensor.json").write_text(json.dumps(info, indent=2))
    log(f"M={res.M} N={res.N} K={res.K} T={res.T} γcorr={res.gamma_corr:.4f} |Ω|={len(res.omega)}")
    return info


class Tensor:
    """A tensor bundle read back: Ω triplets, sizes, clusters, Λ, predictions, labels."""

    def __init__(self, directory: str | os.PathLike) -> None:
        d = Path(directory)
        om = read_omega(d / "omega.parquet")
        self.triplets, self.M, self.N, self.T = om.triplets, om.M, om.N, om.T
        with np.load(d / "tensor.npz") as z:
            self.clusters = z["clusters"]
            self.abs_corr = z["abs_corr"]
            self.predictions = z["predictions"]
            self.labels = z["labels"]
        self.info = json.loads((d / "tensor.json").read_text())
