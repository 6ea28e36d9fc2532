"""Result files every study writes: strict JSON, written atomically.

JSON has no NaN or infinity; Python's ``json`` writes them as bare ``NaN``/``Infinity``,
which jq, DuckDB and JavaScript refuse. :func:`write_json` writes them as ``null`` (a
number that is not one), turns NumPy scalars and arrays into plain numbers and lists, and
replaces the file in one step, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np


def strict(value: Any) -> Any:
    """``value`` with NaN and ±inf as None, NumPy scalars and arrays as Python numbers and lists,
    tuples as lists and paths as strings, recursively; what JSON cannot hold raises TypeError."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.ndarray):
        return strict(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot write {type(value).__name__} to JSON: {value!r}")


def write_json(path: str | os.PathLike, value: Any, indent: int = 2) -> Path:
    """Write ``value`` as strict JSON (see :func:`strict`) to ``path``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(strict(value), indent=indent, allow_nan=False, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file (``null`` stays None)."""
    return json.loads(Path(path).read_text())
