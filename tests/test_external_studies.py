"""The GDE and width studies on external sets (the config's ``external`` section,
docs/own_models.md): what each measures from an external set's files, the refusals before any
job (a missing split, layer or logits; an intervention that needs retraining), and one small
workflow run per study on activation files made here, whose numbers are known."""
import copy
import json
import subprocess

import numpy as np
import pytest
import yaml
from conftest import snakemake_cmd, world_splits

from featurelab.config import ConfigError, validate_config
from featurelab.plan import Plan

WORLD = {"n_train": 200, "n_test": 60, "n_val": 40, "num_classes": 4, "seed": 1}


def config(**extra):
    cfg = {
        "data": {"synthetic": dict(WORLD)},
        "recipes": {"tiny": {"lr": 0.05, "batch_size": 50, "max_epochs": 1, "checkpoint_epochs": []}},
        "ensembles": {"tiny": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 2,
                               "recipe": "tiny"}},
        "extract": {"layers": ["penultimate"], "splits": ["test"]},
        "interaction": {"ensembles": []},
        "device": "cpu",
    }
    for k, v in extra.items():
        cfg.setdefault(k, {}).update(v)
    return cfg


def problems(cfg):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(cfg))
    return str(err.value)


def npy_set(tmp, name, models, dims, splits=("test",), logits=True, seed=0):
    """An activations-route set of ``models`` .npy files per split with the world's labels."""
    rng = np.random.default_rng(seed)
    train, test = world_splits(**WORLD)
    val_labels = None
    spec = {"dataset": "synthetic", "activations": {"penultimate": {}}, "labels": {}}
    for split in splits:
        n = {"train": WORLD["n_train"], "val": WORLD["n_val"], "test": WORLD["n_test"]}[split]
        y = {"train": train.labels, "test": test.labels}.get(split, val_labels)
        if y is None:
            from featurelab.data.synthetic import WorldConfig, generate_split
            y = generate_split(WorldConfig(**WORLD), "val")[1]
        np.save(tmp / f"{name}_y_{split}.npy", y)
        spec["labels"][split] = str(tmp / f"{name}_y_{split}.npy")
        files = []
        for m in range(models):
            np.save(tmp / f"{name}{m}_{split}.npy", rng.normal(size=(n, dims)).astype(np.float32))
            files.append(str(tmp / f"{name}{m}_{split}.npy"))
        spec["activations"]["penultimate"][split] = files
    if logits:
        spec["logits"] = {}
        for split in splits:
            n = len(np.load(spec["labels"][split]))
            for m in range(models):
                np.save(tmp / f"{name}{m}_logits_{split}.npy", rng.normal(size=(n, 4)).astype(np.float32))
            spec["logits"][split] = [str(tmp / f"{name}{m}_logits_{split}.npy") for m in range(models)]
    return spec


# ---------------------------------------------------------------- GDE


def test_gde_measure_on_an_external_ensemble_by_hand():
    """Three models on six points: accuracy, agreement, the i.i.d. disagreement and the verdict."""
    from featurelab.activations import Ensemble
    from featurelab.gde.summary import external_measure

    y = np.array([0, 1, 2, 0, 1, 2])
    preds = np.array([[0, 1, 2, 0, 1, 0], [0, 1, 2, 0, 2, 2], [0, 1, 1, 0, 1, 2]])
    logits = np.eye(3)[preds] * 5.0
    ens = Ensemble(index=np.arange(6), labels=y, predictions=preds, logits=logits, activations=None, metadata=[{}] * 3,
                   paths=["a", "b", "c"])
    got, bins = external_measure("mine", ens, tolerance=0.05)
    acc = (preds == y).mean(1)  # 5/6 each
    agr = [(preds[i] == preds[j]).mean() for i, j in ((0, 1), (0, 2), (1, 2))]  # 4/6 each
    assert got["models"] == 3 and got["n_test"] == 6 and got["classes"] == 3
    assert np.isclose(got["accuracy_mean"], acc.mean()) and np.isclose(got["agreement_mean"], np.mean(agr))
    assert np.isclose(got["difference_mean"], np.mean(agr) - acc.mean())  # −1/6: GDE fails here
    votes = np.stack([(preds == k).mean(0) for k in range(3)], 1)
    assert np.isclose(got["calibration"]["disagreement_iid"], np.mean(1 - (votes ** 2).sum(1)))
    assert np.isclose(got["calibration"]["test_error"], 1 - acc.mean())
    assert got["gde"]["holds"] is False and "interventions" in got["note"]
    assert set(bins["view"]) == {"ensemble", "member", "class_aggregated"}


def test_gde_external_refusals(tmp_path):
    one = npy_set(tmp_path, "one", 1, 8)
    bare = npy_set(tmp_path, "bare", 2, 8, logits=False)
    trainonly = npy_set(tmp_path, "tr", 2, 8, splits=("train",))
    cfg = config(external={"one": one, "bare": bare, "tr": trainonly},
                 gde={"external": ["one", "bare", "tr", "nope", {"set": "bare", "superclasses": [2],
                                                                 "blue_groups": 5, "epochs": 3}]})
    msg = problems(cfg)
    assert "gde.external.0: the external set 'one' has 1 model; agreement needs at least 2" in msg
    assert "gde.external.1: the GDE measure reads each model's predictions and logits on the test split; the " \
           "external set 'bare' gives no logits: add external.bare.logits.test" in msg
    assert "gde.external.2: the GDE measure reads the test split; the external set 'tr' gives no test " \
           "activations (external.tr.activations.<layer>.test)" in msg
    assert "gde.external.3: 'nope' is not a set of `external` (bare, one, tr)" in msg
    assert "gde.external.4.superclasses: the superclass intervention (App. F.8) retrains every member on labels " \
           "merged into superclasses; the external set 'bare' gives trained models, not the training" in msg
    assert "the missing piece: a recipe the workflow can run on the changed data" in msg
    assert "gde.external.4.blue_groups: the blue-intensity intervention (App. F.9)" in msg
    assert "gde.external.4.epochs: not a setting of an external GDE set (set, tolerance)" in msg


def test_gde_external_plan_runs_a_checkpoint_set_on_test(tmp_path):
    import torch

    from featurelab.models import build_model

    for m in range(2):
        torch.manual_seed(m)
        torch.save(build_model("resnet18", 4, 0.0625).state_dict(), tmp_path / f"r{m}.pt")
    cfg = config(external={"nets": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625,
                                    "checkpoints": str(tmp_path / "r*.pt")}},
                 gde={"external": [{"set": "nets", "tolerance": 0.1}]})
    cfg["extract"]["splits"], cfg["interaction"]["split"] = ["train"], "train"  # test: from gde.external
    plan = Plan(validate_config(cfg))
    assert plan.gde_external() == {"nets": {"tolerance": 0.1}}
    assert "test" in plan.external["nets"].splits
    assert plan.gde_external_files("nets") == [f"results/external/nets/m{m}/activations/penultimate/test.parquet"
                                               for m in range(2)]


# ---------------------------------------------------------------- the workflow


def snakemake(root, workdir, cfg, *targets):
    (workdir / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [*snakemake_cmd(), "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
           str(workdir / "cfg.yaml"), "--cores", "2", *targets]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_gde_on_external_logits_in_the_workflow(repo_root, tmp_path):
    """Three models' test logits as .npy files: results/gde/external/<name>.json holds the
    accuracy and agreement counted here by hand (about 20 s: no network is trained)."""
    spec = npy_set(tmp_path, "mine", 3, 8)
    y = np.load(spec["labels"]["test"])
    rng = np.random.default_rng(1)
    preds = np.stack([np.where(rng.random(60) < 0.7, y, (y + 1 + m) % 4) for m in range(3)])
    for m, f in enumerate(spec["logits"]["test"]):
        np.save(f, (np.eye(4)[preds[m]] * 3 + rng.normal(scale=0.1, size=(60, 4))).astype(np.float32))
    cfg = config(external={"mine": spec}, gde={"external": ["mine"]})
    res = snakemake(repo_root, tmp_path, cfg, "results/gde/external/mine.json")
    assert res.returncode == 0, res.stderr[-3000:]
    got = json.loads((tmp_path / "results/gde/external/mine.json").read_text())
    acc = (preds == y).mean(1)
    agr = np.mean([(preds[i] == preds[j]).mean() for i, j in ((0, 1), (0, 2), (1, 2))])
    assert got["set"] == "mine" and got["models"] == 3 and got["n_test"] == 60 and got["classes"] == 4
    assert np.isclose(got["accuracy_mean"], acc.mean()) and np.isclose(got["agreement_mean"], agr)
    assert np.isclose(got["difference_mean"], agr - acc.mean())
    assert got["gde"]["rule"].startswith("|agreement − accuracy| < 0.05")
    assert (tmp_path / "results/gde/external/mine_calibration.csv").stat().st_size > 0
