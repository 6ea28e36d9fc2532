"""Strict JSON: NaN and infinities become null, NumPy values plain numbers; atomic writes."""
import json
import math

import numpy as np
import pytest

from featurelab.files import read_json, strict, write_json


def test_strict_json_has_no_nan_and_reads_everywhere(tmp_path):
    value = {"nan": float("nan"), "inf": np.float64(np.inf), "ok": np.float32(0.5), "n": np.int64(3),
             "flag": np.bool_(True), "arr": np.array([1.0, np.nan]), "nested": [{"x": -math.inf}], (1): "key"}
    path = write_json(tmp_path / "s.json", value)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} written"))
    assert back == {"nan": None, "inf": None, "ok": 0.5, "n": 3, "flag": True, "arr": [1.0, None],
                    "nested": [{"x": None}], "1": "key"}
    assert read_json(path) == back
    assert not list(tmp_path.glob("*.tmp"))


def test_strict_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="cannot write object"):
        strict({"x": object()})
