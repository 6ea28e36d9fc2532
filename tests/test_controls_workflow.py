"""Every control through the workflow on a tiny world: named worlds generated, derived worlds
cut, the parts trained and extracted by the zoo's rules, each control decided in both arms,
the controls table, and the Findings table listing the controls' verdicts."""
import json

import pandas as pd
import pytest
from test_workflow import snakemake

from featurelab.controls import with_controls

pytestmark = [pytest.mark.slow, pytest.mark.smoke]  # about 5 minutes: with the smoke runs


def tiny_controls_config():
    part = {"members": 2, "seed": 0}
    return {
        "data": {"synthetic": {"n_train": 200, "n_test": 80, "n_val": 40, "num_classes": 4, "seed": 1}},
        "recipes": {"tiny": {"lr": 0.05, "batch_size": 50, "max_epochs": 1, "checkpoint_epochs": []},
                    "tiny_pad": {"lr": 0.05, "batch_size": 50, "max_epochs": 1, "checkpoint_epochs": [],
                                 "pad": 2, "pad_color": [150, 50, 50], "pad_mode": "resize"},
                    "tiny_rand": {"lr": 0.05, "batch_size": 50, "max_epochs": 1, "checkpoint_epochs": [],
                                  "pad": 2, "pad_color": "random", "pad_mode": "resize"}},
        "ensembles": {"tiny": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 2,
                               "recipe": "tiny"}},
        "interaction": {"ensembles": []},
        "gde": {"enabled": False}, "width": {"enabled": False}, "toy": {"enabled": False},
        "device": "cpu",
        "train": {"pack": {"enabled": True}},
        "controls": {
            "enabled": True, "width": 0.0625, "recipe": "tiny",
            "worlds": {"s0": {"rare_slice": {"count": 2, "index": 0}}, "s1": {"rare_slice": {"count": 2, "index": 1}},
                       "pd9": {"p_d": 0.9}, "look": {"p_d": 0.9, "lookalike": {"enabled": True, "flips": 3}},
                       "cooc": {"cooccurrence": {"classes": 2}}, "redraw": {"train_only": {"draw": 1}}},
            "o4": {"enabled": True, "settings": {"k": 4, "permutations": 99},
                   "arms": {"positive": {"a": {"world": "s0", **part}, "b": {"world": "s1", "members": 2, "seed": 2}},
                            "negative": {"base": {"members": 4, "seed": 0}}}},
            "theory": {"enabled": True, "settings": {"interaction": {"k": 4}},
                       "arms": {"positive": {"base": part, "pd9": {"world": "pd9", **part}},
                                "negative": {"nosplit": {"world": "pd9", **part}}}},
            "gde": {"enabled": True, "settings": {"base": "super4", "blue_groups": 2},
                    "arms": {"positive": {"super4": {"world": "look", **part},
                                          "super2": {"world": "look", "derived": "super2", **part},
                                          "blue1": {"world": "look", "derived": "blue1", **part},
                                          "blue2": {"world": "look", "derived": "blue2", **part}},
                             "negative": {"super4": {"world": "pd9", **part},
                                          "super2": {"world": "pd9", "derived": "super2", **part},
                                          "blue1": {"world": "pd9", "derived": "blue1", **part},
                                          "blue2": {"world": "pd9", "derived": "blue2", **part}}}},
            "width_only": {"enabled": True, "features": True,
                           "settings": {"base": "base", "narrow": "narrow", "n_concat": 2},
                           "arms": {"positive": {"base": {"world": "cooc", **part},
                                                 "narrow": {"world": "cooc", "width": 0.03125, "members": 2,
                                                            "seed": 10}},
                                    "negative": {"base": part,
                                                 "narrow": {"width": 0.03125, "members": 2, "seed": 10}}}},
            "padding": {"enabled": True, "weights": True,
                        "settings": {"pad": 2, "pad_color": [150, 50, 50], "pad_mode": "resize"},
                        "arms": {"positive": {"padded": {"recipe": "tiny_pad", **part}, "plain": part},
                                 "negative": {"padded": {"recipe": "tiny_rand", **part}, "plain": part}}},
            "diversity": {"enabled": True,
                          "arms": {"positive": {"base": part, "world": {"world": "pd9", "members": 2, "seed": 10}},
                                   "negative": {"base": part, "world": {"world": "redraw", "members": 2,
                                                                        "seed": 10}}}},
        },
    }


def test_every_control_runs_through_the_workflow(repo_root, tmp_path):
    cfg = tiny_controls_config()
    res = snakemake(repo_root, tmp_path, cfg, "--cores", "2", "results/controls/summary.json", "results/findings.csv")
    assert res.returncode == 0, res.stderr[-4000:]
    root = tmp_path / "results/controls"
    names = ["o4", "theory", "gde", "width_only", "padding", "diversity"]
    for name in names:
        r = json.loads((root / f"{name}.json").read_text())
        assert r["control"] == name and r["passes"] in (True, False, None)
        for arm in ("on", "off"):
            assert r[arm]["verdict"] in ("holds", "fails", "undecided", "no verdict"), (name, arm, r[arm])
    summary = json.loads((root / "summary.json").read_text())
    assert sorted(summary["controls"]) == sorted(names) and summary["total"] == 6
    table = pd.read_csv(root / "controls.csv")
    assert list(table.control) == names and set(table.passes) <= {"yes", "no", "no verdict"}
    assert "decided controls pass" in (root / "controls.md").read_text()
    found = pd.read_csv(tmp_path / "results/findings.csv")
    assert {f"{n}.on" for n in names} <= set(found.finding) or set(found.study) == {"controls"}, found
    # the worlds the parts named: the O.4 slices' test split is the base world's, bit for bit
    base = (tmp_path / "resources/prepared/synthetic/test.npz").read_bytes()
    assert (tmp_path / "resources/prepared/synthetic__ctls0/test.npz").read_bytes() == base
    assert (tmp_path / "resources/prepared/synthetic__ctllook__blue2/blue_thresholds.json").exists()
    # a study's summary carries its controls
    s = with_controls({"x": 1}, [root / "gde.json", root / "width_only.json"])
    assert sorted(s["controls"]) == ["gde", "width_only"] and s["x"] == 1
