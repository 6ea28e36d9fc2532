"""Activation extraction to Parquet, and reading it back.

One file per (model, layer, split) with the columns

=============  ==================================  ===================================
``index``      int64                               datum id in its split
``label``      int64                               true label
``prediction`` int64                               the model's predicted label
``logits``     fixed_size_list<float32>[classes]   the model's logits
``activation`` fixed_size_list<float32>[d]         the layer's activation
=============  ==================================  ===================================

and the key-value metadata ``featurelab`` (a JSON object naming the model:
architecture, width, seed, member, ensemble, dataset, split, subset size, epoch,
layer). pandas, pyarrow and DuckDB read it as it is; :func:`read_activations`
gives the arrays without a Python-object detour.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

META_KEY = b"featurelab"
COLUMNS = ("index", "label", "prediction", "logits", "activation")


def activation_schema(num_classes: int, dim: int, metadata: dict[str, Any] | None = None) -> pa.Schema:
    schema = pa.schema([
        pa.field("index", pa.int64(), nullable=False),
        pa.field("label", pa.int64(), nullable=False),
        pa.field("prediction", pa.int64(), nullable=False),
        pa.field("logits", pa.list_(pa.float32(), num_classes), nullable=False),
        pa.field("activation", pa.list_(pa.float32(), dim), nullable=False),
    ])
    if metadata is not None:
        schema = schema.with_metadata({META_KEY: json.dumps(metadata, sort_keys=True).encode()})
    return schema


def _fixed_list(a: np.ndarray) -> pa.FixedSizeListArray:
    a = np.ascontiguousarray(a, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), a.shape[1])


def write_activations(path: str | os.PathLike, *, index: np.ndarray, label: np.ndarray,
                      prediction: np.ndarray, logits: np.ndarray, activation: np.ndarray,
                      metadata: dict[str, Any]) -> Path:
    """Write one activation file atomically (temp name + rename)."""
    n = len(index)
    for name, arr in (("label", label), ("prediction", prediction), ("logits", logits),
                      ("activation", activation)):
        if len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} rows, index has {n}")
    if activation.ndim != 2 or logits.ndim != 2:
        raise ValueError("logits and activation must be 2-D (points × dims)")
    schema = activation_schema(logits.shape[1], activation.shape[1], metadata)
    table = pa.Table.from_arrays([
        pa.array(np.asarray(index, dtype=np.int64)),
        pa.array(np.asarray(label, dtype=np.int64)),
        pa.array(np.asarray(prediction, dtype=np.int64)),
        _fixed_list(logits), _fixed_list(activation),
    ], schema=schema)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return path


@dataclass
class Activations:
    index: np.ndarray
    label: np.ndarray
    prediction: np.ndarray
    logits: np.ndarray
    activation: np.ndarray
    metadata: dict[str, Any]


def _fixed_to_numpy(col: pa.ChunkedArray) -> np.ndarray:
    arr = col.combine_chunks()
    width = arr.type.list_size
    return arr.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    md = pq.read_schema(path).metadata or {}
    return json.loads(md[META_KEY]) if META_KEY in md else {}


def read_activations(path: str | os.PathLike, columns: tuple[str, ...] = COLUMNS) -> Activations:
    """Read an activation file into NumPy arrays (float32 matrices for the list columns)."""
    table = pq.read_table(path, columns=list(columns))
    md = table.schema.metadata or {}
    out: dict[str, Any] = {c: None for c in COLUMNS}
    for c in columns:
        col = table.column(c)
        out[c] = _fixed_to_numpy(col) if pa.types.is_fixed_size_list(col.type) else col.to_numpy()
    return Activations(metadata=json.loads(md[META_KEY]) if META_KEY in md else {}, **out)


@dataclass
class Ensemble:
    """The activations of M models on the same N points, aligned point by point.

    ``index`` and ``labels`` are (N,), sorted by datum id; ``predictions`` is (M, N);
    ``logits`` (M, N, classes) and ``activations`` (M arrays of (N, d_m); widths may differ)
    are None unless read; ``metadata`` holds each file's ``featurelab`` metadata."""

    index: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    logits: np.ndarray | None
    activations: list[np.ndarray] | None
    metadata: list[dict[str, Any]]
    paths: list[str]

    @property
    def M(self) -> int:
        return len(self.paths)

    @property
    def N(self) -> int:
        return len(self.index)


def read_ensemble(paths: Sequence[str | os.PathLike], *, logits: bool = False,
                  activations: bool = True) -> Ensemble:
    """Read the activation files of M models on one split into one :class:`Ensemble`.

    Every file is put in datum-id order, and must hold the same points with the same labels
    as the first one; a file that does not is named in a :class:`ValueError` (models
    evaluated on different splits, or a split regenerated between two extractions)."""
    if not paths:
        raise ValueError("read_ensemble needs at least one activation file")
    cols = ["index", "label", "prediction"] + (["logits"] if logits else []) + (["activation"] if activations else [])
    index = labels = None
    preds, logit_list, acts, metas = [], [], [], []
    for p in paths:
        a = read_activations(p, columns=tuple(cols))
        order = np.argsort(a.index, kind="stable")
        if index is None:
            index, labels = a.index[order], a.label[order]
        elif not np.array_equal(a.index[order], index):
            raise ValueError(f"{p} holds other points than {paths[0]} ({len(a.index)} against {len(index)}); "
                             "every model of an ensemble must be evaluated on the same split")
        elif not np.array_equal(a.label[order], labels):
            raise ValueError(f"{p} labels its points differently from {paths[0]}")
        preds.append(a.prediction[order])
        if logits:
            logit_list.append(a.logits[order])
        if activations:
            acts.append(a.activation[order])
        metas.append(a.metadata)
    return Ensemble(index=index, labels=labels, predictions=np.stack(preds),
                    logits=np.stack(logit_list) if logits else None, activations=acts if activations else None,
                    metadata=metas, paths=[str(p) for p in paths])
