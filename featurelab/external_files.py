"""The activation, logits and labels files of external sets (the config's ``external``
section): their row counts from the header alone, and their arrays. NumPy and pyarrow only,
so the planner's checks and the analysis environments never import PyTorch for them
(:mod:`featurelab.external` holds the model side).
"""
from __future__ import annotations

import os
import zipfile

import numpy as np


def _npz_member(z: zipfile.ZipFile, path: str, kind: str) -> str:
    names = [n for n in z.namelist() if n.endswith(".npy")]
    if len(names) == 1:
        return names[0]
    for want in (kind, {"activation": "activations", "label": "labels"}.get(kind, kind)):
        if f"{want}.npy" in names:
            return f"{want}.npy"
    raise ValueError(f"{path} holds {len(names)} arrays ({', '.join(n[:-4] for n in names)}); give one array, "
                     f"or name it {kind!r}")


def row_count(path: str | os.PathLike, kind: str = "activation") -> int:
    """Rows of an activation, logits or labels file, from its header alone."""
    path = str(path)
    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            return int(pq.read_metadata(path).num_rows)
        if path.endswith(".npz"):
            with zipfile.ZipFile(path) as z, z.open(_npz_member(z, path, kind)) as fh:
                version = np.lib.format.read_magic(fh)
                shape = np.lib.format._read_array_header(fh, version)[0]
        else:
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path} cannot be read as {'Parquet' if path.endswith('.parquet') else 'a NumPy array'} "
                         f"({exc})") from None
    if not shape:
        raise ValueError(f"{path} holds a scalar, not one row per point")
    return int(shape[0])


def load_array(path: str | os.PathLike, kind: str = "activation") -> np.ndarray:
    """The array of a ``.npy`` file, or of a ``.npz`` file (its one array, or the one named ``kind``)."""
    path = str(path)
    if path.endswith(".npz"):
        with zipfile.ZipFile(path) as z:
            member = _npz_member(z, path, kind)[:-4]
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z[member])
    return np.load(path, allow_pickle=False)
