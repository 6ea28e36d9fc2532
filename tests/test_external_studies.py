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
    from featurelab.data.synthetic import WorldConfig, generate_split

    rng = np.random.default_rng(seed)
    train, test = world_splits(**WORLD)
    spec = {"dataset": "synthetic", "activations": {"penultimate": {}}, "labels": {}}
    for split in splits:
        y = {"train": train.labels, "test": test.labels}.get(split)
        y = generate_split(WorldConfig(**WORLD), "val")[1] if y is None else y
        n = len(y)
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


# ---------------------------------------------------------------- width


def width_sets(tmp):
    """A narrow set of four models with 4 features and a wide set of two with 8: the first wide
    model's features are the first two narrow models' side by side (they span it exactly)."""
    narrow = npy_set(tmp, "thin", 4, 4, splits=("train", "val", "test"), logits=False)
    wide = npy_set(tmp, "wide", 2, 8, splits=("train", "val", "test"), logits=False, seed=1)
    for split in ("train", "val", "test"):
        parts = [np.load(f) for f in narrow["activations"]["penultimate"][split][:2]]
        np.save(wide["activations"]["penultimate"][split][0], np.concatenate(parts, 1))
    return wide, narrow


def test_width_external_refusals(tmp_path):
    wide, narrow = width_sets(tmp_path)
    no_val = copy.deepcopy(narrow)
    del no_val["activations"]["penultimate"]["val"]
    one = copy.deepcopy(wide)
    for split in one["activations"]["penultimate"]:
        one["activations"]["penultimate"][split] = one["activations"]["penultimate"][split][:1]
    block = {**copy.deepcopy(narrow), "activations": {"block1": narrow["activations"]["penultimate"]}}
    cfg = config(external={"wide": wide, "noval": no_val, "one": one, "block": block},
                 width={"external": {"base": "one", "narrow": "noval"}})
    msg = problems(cfg)
    assert "width.external.base: the external set 'one' has 1 model; the width study needs at least 2 " \
           "(M_1 and M_1', another seed)" in msg
    assert "width.external.narrow: the width study reads penultimate activations on train (fit), val and test; " \
           "the external set 'noval' lacks external.noval.activations.penultimate.val" in msg
    cfg["width"]["external"] = {"base": "wide", "narrow": "block"}
    msg = problems(cfg)
    for split in ("train", "val", "test"):
        assert f"the external set 'block' lacks external.block.activations.penultimate.{split}" in msg
    cfg["width"]["external"] = {"base": "wide", "narrow": "mine"}
    assert "width.external.narrow: 'mine' is not a set of `external` (block, noval, one, wide)" in problems(cfg)
    cfg["width"]["external"] = {"base": "wide"}
    assert "width.external.narrow: name the narrow external set" in problems(cfg)
    # a dataset without a validation split: the world of cifar10 has none (and neither has n_val 0)
    nets = {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "checkpoints": str(tmp_path / "*.pt")}
    import torch

    from featurelab.models import build_model

    torch.save(build_model("resnet18", 4, 0.0625).state_dict(), tmp_path / "a.pt")
    torch.save(build_model("resnet18", 4, 0.0625).state_dict(), tmp_path / "b.pt")
    cfg = config(external={"nets": nets, "wide": wide}, width={"external": {"base": "wide", "narrow": "nets"}})
    cfg["data"]["synthetic"]["n_val"] = 0
    msg = problems(cfg)
    assert "width.external.narrow: the width study evaluates on a validation split held out of training; the " \
           "dataset 'synthetic' of 'nets' has none (a synthetic world with n_val > 0 has one)" in msg


def test_width_external_plan_and_counts(tmp_path):
    from featurelab.width.study import measure_external

    wide, narrow = width_sets(tmp_path)
    cfg = validate_config(config(external={"wide": wide, "thin": narrow},
                                 width={"external": {"base": "wide", "narrow": "thin"}}))
    plan = Plan(cfg)
    assert plan.width_external() == {"base": "wide", "narrow": "thin"}
    files = plan.width_external_files("narrow")
    assert len(files) == 12 and files[:3] == [f"results/external/thin/m0/activations/penultimate/{s}.parquet"
                                              for s in ("train", "val", "test")]
    rng = np.random.default_rng(0)
    y = {s: rng.integers(0, 3, 30) for s in ("train", "val", "test")}

    def members(count, d):
        return [{s: rng.normal(size=(30, d)) for s in y} for _ in range(count)]

    with pytest.raises(ValueError, match="name the wider set as base"):
        measure_external(members(2, 4), members(4, 8), y)
    with pytest.raises(ValueError, match="n_p = 1 is below N_f = 3"):
        measure_external(members(2, 9), members(6, 3), y, n_p=1)
    with pytest.raises(ValueError, match="one repetition needs 2 base models and N_p = 3 narrow ones"):
        measure_external(members(2, 9), members(2, 3), y)
    with pytest.raises(ValueError, match="3 narrow models cannot give two disjoint concatenations of N_f = 3"):
        measure_external(members(2, 9), members(3, 3), y)


@pytest.mark.slow
def test_width_on_external_activations_in_the_workflow(repo_root, tmp_path):
    """The wide and narrow sets of :func:`width_sets` as .npy files: results/width/external/ holds
    the measurements of :func:`featurelab.width.study.measure_alpha` on the same arrays, and the
    feature span error of the narrow pair that makes up the wide model is 0 (about 20 s)."""
    import pandas as pd

    from featurelab.width.study import measure_alpha

    wide, narrow = width_sets(tmp_path)
    cfg = config(external={"wide": wide, "thin": narrow}, width={"external": {"base": "wide", "narrow": "thin"}})
    res = snakemake(repo_root, tmp_path, cfg, "results/width/external/summary.json")
    assert res.returncode == 0, res.stderr[-3000:]
    got = pd.read_csv(tmp_path / "results/width/external/measurements.csv")
    summary = json.loads((tmp_path / "results/width/external/summary.json").read_text())
    assert {k: summary[k] for k in ("alpha", "d_base", "d_narrow", "n_f", "n_p", "repeats")} == \
        {"alpha": 0.5, "d_base": 8, "d_narrow": 4, "n_f": 2, "n_p": 2, "repeats": 1}
    assert summary["sets"] == {"base": "wide", "narrow": "thin"} and "fsg_np_val_by_alpha" in summary["findings"]
    fse = got[(got.quantity == "fse") & (got.n == 2)].set_index("split")["value"]
    assert fse["val"] < 1e-3 and fse["test"] < 1e-3
    def feats(spec):
        files = spec["activations"]["penultimate"]
        return [{s: np.load(files[s][m]).astype(np.float64) for s in files} for m in range(len(files["test"]))]

    y = {s: np.load(narrow["labels"][s]) for s in ("train", "val", "test")}
    w = validate_config(copy.deepcopy(cfg))["width"]
    want = measure_alpha(feats(wide), feats(narrow), y, n_f=2, n_p=2, repeats=1, pool=4, select=w["select"],
                         loo_subsample=w["loo_subsample"], probe_c=w["probe_c"], probe_max_iter=w["probe_max_iter"],
                         shuffled_fit_fraction=w["shuffled_fit_fraction"], seed=w["seed"], log=lambda s: None)
    assert got["quantity"].tolist() == want["quantity"].tolist()
    assert np.allclose(got["value"], want["value"], atol=1e-9, equal_nan=True)


# ---------------------------------------------------------------- contamination


def test_contamination_refuses_an_external_set_naming_what_it_misses(tmp_path):
    spec = npy_set(tmp_path, "mine", 2, 8)
    cfg = config(external={"mine": spec}, contamination={"enabled": True, "ensemble": "mine"})
    msg = problems(cfg)
    assert "contamination.ensemble: 'mine' is an external set; the contamination study retrains its members" in msg
    assert "read each stage's spatial post-ReLU outputs of the network and of its own random initialisation on the " \
           "test and background-shifted splits" in msg
