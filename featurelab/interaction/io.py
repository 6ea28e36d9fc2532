"""The interaction study's files: Ω as Parquet, and one tensor bundle per ensemble and variant.

:func:`build_variant` reads the members' activation files, chooses K where a layer is
narrower than asked, builds Ω (:func:`featurelab.interaction.build_interaction`) and writes
one bundle, which :class:`Tensor` reads back:

* ``omega.parquet``: Ω as (model, point, feature) triplets; its key-value metadata
  ``featurelab`` holds M, N, T and the settings (pandas, pyarrow and DuckDB read it as it is);
* ``tensor.npz``: cluster ids (M, K), Λ (float32), γdata (per model), predictions (M, N)
  and labels (N,);
* ``tensor.json``: M, N, K asked and used, T, γcorr, γdata and the settings.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..activations import read_ensemble
from ..files import write_json
from .tensor import (TRIPLET_COLUMNS, OmegaFile, _check_range, _triplet_arrays, build_interaction, k_retaining_accuracy,
                     k_share, numerical_rank)

META_KEY = b"featurelab"




def write_omega(path: str | os.PathLike, triplets: pd.DataFrame | Mapping[str, Any],
                M: int, N: int, T: int, meta: Mapping[str, Any] | None = None) -> Path:
    """Write Ω triplets to Parquet atomically (temporary name, then rename).

    Columns ``model``, ``point``, ``feature`` (int32, not null). The schema's key-value
    metadata holds ``M``, ``N``, ``T`` (decimal strings) and ``featurelab`` (``meta`` as a
    JSON object, e.g. γcorr, γdata, K, centring). Readable by pyarrow, pandas and DuckDB.
    """
    mm, nn, tt = _triplet_arrays(triplets)
    for name, a, s in (("model", mm, M), ("point", nn, N), ("feature", tt, T)):
        _check_range(name, a, s)
    if max(M, N, T) > np.iinfo(np.int32).max:
        raise ValueError("M, N and T must fit in int32")
    md = {b"M": str(int(M)).encode(), b"N": str(int(N)).encode(), b"T": str(int(T)).encode(),
          META_KEY: json.dumps(dict(meta or {}), sort_keys=True, default=_json_default).encode()}
    schema = pa.schema([pa.field(c, pa.int32(), nullable=False) for c in TRIPLET_COLUMNS],
                       metadata=md)
    table = pa.Table.from_arrays([pa.array(a.astype(np.int32)) for a in (mm, nn, tt)],
                                 schema=schema)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def read_omega(path: str | os.PathLike) -> OmegaFile:
    """Read a file written by :func:`write_omega`: (triplets DataFrame, M, N, T, meta)."""
    table = pq.read_table(path)
    md = table.schema.metadata or {}
    missing = [k.decode() for k in (b"M", b"N", b"T") if k not in md]
    if missing:
        raise ValueError(f"{path}: not an Ω file, metadata lacks {missing}")
    df = pd.DataFrame({c: table.column(c).to_numpy().astype(np.int32) for c in TRIPLET_COLUMNS})
    meta = json.loads(md[META_KEY]) if META_KEY in md else {}
    return OmegaFile(df, int(md[b"M"]), int(md[b"N"]), int(md[b"T"]), meta)


def choose_k(acts: Sequence[np.ndarray], logits: Sequence[np.ndarray] | None, labels: np.ndarray,
             settings: dict[str, Any], log=print) -> tuple[int, str]:
    """K for one tensor and the rule that gave it: ``settings["k"]`` when an integer; with
    ``auto``, the paper's rule (Jiang, Baek, Kolter, App. E.2,
    :func:`featurelab.interaction.tensor.k_retaining_accuracy` at ``k_tolerance``) when the
    layer is the one the linear layer reads (its logits an affine function of it), else the
    share of the layer's width that the paper's 50 is of 512 (:func:`k_share`; our reading
    for a depth, where App. E.2's rule is undefined)."""
    if settings["k"] != "auto":
        return int(settings["k"]), "fixed"
    try:
        k = k_retaining_accuracy(acts, logits, labels, tolerance=float(settings.get("k_tolerance", 0.01)))
        rule = f"App. E.2: the linear layer keeps its accuracy within {settings.get('k_tolerance', 0.01):g}"
    except ValueError as exc:
        k = min(k_share(a.shape[1]) for a in acts)
        rule = "50/512 of the layer's width (the linear layer does not read this layer)"
        log(f"k auto: {exc}; K = {k}, {rule}")
    log(f"k auto: K = {k} ({rule})")
    return int(k), rule


def build_variant(paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike, settings: dict[str, Any],
                  log=print) -> dict[str, Any]:
    """Build Ω from the members' activation files with ``settings``; write the bundle."""
    ens = read_ensemble(paths, logits=settings["k"] == "auto")
    acts, preds, labels, metas = ens.activations, ens.predictions, ens.labels, ens.metadata
    k_asked, k_rule = choose_k(acts, ens.logits, labels, settings, log)
    k = min([k_asked] + [a.shape[1] for a in acts])
    kwargs = dict(center=settings["center"], gamma_corr_fixed=settings["gamma_corr"],
                  corr_percentile=settings["corr_percentile"], data_percentile=settings["data_percentile"],
                  per_model_data=settings["gamma_data_pool"] == "per_model",
                  gamma_corr_floor_alpha=settings.get("gamma_corr_floor"))
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
    info = {"M": res.M, "N": res.N, "K_asked": k_asked, "K": res.K, "K_rule": k_rule, "T": res.T,
            "gamma_corr": float(res.gamma_corr), "gamma_data": float(gd.mean()) if settings["gamma_data_pool"] == "all"
            else gd.tolist(), "omega_entries": int(len(res.omega)),
            "settings": settings, "members": [{k: m.get(k) for k in ("model", "seed", "epoch", "layer")} for m in metas]}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_omega(out / "omega.parquet", res.omega, res.M, res.N, res.T,
                {k: v for k, v in info.items() if k != "members"})
    tmp = out / "tensor.tmp.npz"
    np.savez(tmp, clusters=res.clusters, abs_corr=res.abs_corr.astype(np.float32), gamma_data=gd,
             predictions=preds, labels=labels)
    os.replace(tmp, out / "tensor.npz")
    write_json(out / "tensor.json", info)
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

    def check_split(self, labels: np.ndarray, name: str = "the split") -> None:
        """Raise unless ``labels`` are the N labels the tensor was computed on, in order (the
        images of a figure must be the tensor's points)."""
        if len(labels) != self.N or not np.array_equal(labels, self.labels):
            raise ValueError(f"{name} does not hold the {self.N} points of the tensor")
