"""The README's examples run as written: the Python example on activations of our own, and the
`folder` config snippet is a valid config."""
import re
from pathlib import Path

import numpy as np
import yaml

from featurelab.activations import write_activations
from featurelab.config import validate_config

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def block(lang: str, marker: str) -> str:
    for m in re.finditer(rf"```{lang}\n(.*?)```", README, flags=re.S):
        if marker in m.group(1):
            return m.group(1)
    raise AssertionError(f"no {lang} block with {marker!r} in the README")


def test_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((300, 8))
    for m in range(5):
        np.save(f"my_model{m}_features.npy", np.abs(latent @ rng.standard_normal((8, 64))))
    labels = rng.integers(0, 3, 300)
    for name in ("a", "b"):
        write_activations(f"{name}.parquet", index=np.arange(300), label=labels, prediction=labels,
                          logits=np.zeros((300, 3)), activation=rng.random((300, 4)), metadata={})
    exec(block("python", "build_interaction"), {})


def test_folder_snippet_is_a_valid_config(tmp_path):
    cfg = yaml.safe_load(block("yaml", "folder:"))
    validate_config(cfg)
    assert cfg["ensembles"]["mine"]["dataset"] == "folder" and cfg["recipes"]["mine"]["augment"] == "crop_flip"


def test_external_snippet_names_only_its_missing_files():
    """The `external` snippet is valid config: what stops it is that its files are not here."""
    import pytest

    from featurelab.config import ConfigError

    snippet = yaml.safe_load(block("yaml", "external:"))
    assert snippet["interaction"]["ensembles"] == list(snippet["external"]) == ["myresnets", "scripted", "dumps"]
    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    cfg["external"] = snippet["external"]  # over the default, whose interaction study follows synth's epochs
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    lines = [line for line in str(err.value).splitlines()[1:]]
    assert lines and all("does not exist" in line or "matches no file" in line for line in lines), lines
