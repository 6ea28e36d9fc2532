"""The smoke overlay (featurelab.plan.smoke): every preset shrunk keeps its studies, datasets,
architectures, recipes and rules, with fewer and smaller jobs; every change is a cap, so a
second shrink changes nothing; `smoke: true` shrinks in validate_config before the cross-key
checks. The dry-run comparison of the rule sets runs with the smoke marker (a minute or two)."""
from __future__ import annotations

import copy
import re
import subprocess

import pytest
import yaml
from conftest import snakemake_cmd

from featurelab.config import validate_config
from featurelab.plan import Plan, smoke
from featurelab.plan.smoke import smoke_config

PRESETS = {
    "default": ["config.yaml"],
    "cpu": ["presets/cpu.yaml"],
    "controls": ["config.yaml", "presets/controls.yaml"],
    "paper000": ["presets/paper000.yaml"],
    "paper001": ["presets/paper001.yaml"],
    "paper002": ["presets/paper002.yaml"],
    "paper004": ["presets/paper004.yaml"],
}


def merge(base: dict, over: dict) -> dict:
    """Config files merged key by key, as Snakemake merges several --configfile."""
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v
    return base


def preset(root, name: str, **extra) -> dict:
    cfg: dict = {}
    for f in PRESETS[name]:
        merge(cfg, yaml.safe_load((root / f).read_text()) or {})
    return merge(cfg, extra)


def shape(plan: Plan) -> dict:
    """What the smoke overlay keeps: the studies, the base datasets, architectures and recipes of
    the models, whether some train packed and some alone, the interaction variants' kinds."""
    models = plan.models.values()
    return {"studies": sorted({e.study for e in plan.ensembles.values()}),
            "datasets": sorted({m.dataset.split("__")[0] + ("__" + m.dataset.split("__")[1].rstrip("0123456789")
                                                            if "__" in m.dataset else "") for m in models}),
            "archs": sorted({m.arch for m in models}), "recipes": sorted({m.recipe for m in models}),
            "packed": bool(plan.packs), "solo": any(m.id not in plan.pack_of for m in models),
            "interaction": sorted(plan.interaction_ensembles()),
            "variants": sorted({re.sub(r"\d+", "", v) for n in plan.interaction_ensembles()
                                for v in plan.panel_variants() + plan.epoch_variants(n)}),
            "toy": bool(plan.toy), "contamination": bool(plan.contamination_runs()),
            "diversity": sorted({p["category"] for p in plan.diversity_pool()}),
            "controls": plan.control_names()}


@pytest.mark.parametrize("name", PRESETS)
def test_smoke_keeps_every_study_dataset_architecture_and_recipe(repo_root, name):
    full = validate_config(preset(repo_root, name))
    frozen = copy.deepcopy(full)
    small = smoke_config(full)
    assert full == frozen  # the input is left as it is
    assert smoke_config(small) == small  # every change is a cap: a second shrink changes nothing
    # the planner accepts it (the cross-key checks pass) and derives the same shape
    checked = validate_config(copy.deepcopy(small))
    big, little = Plan(full), Plan(checked)
    assert shape(little) == shape(big)
    assert len(little.models) <= len(big.models) and len(little.models) <= 80
    # the sizes: one epoch, at most 2 members, narrow networks, few images
    for r in checked["recipes"].values():
        assert r["max_epochs"] == 1 and set(r["checkpoint_epochs"]) <= {0, 1}
    for e in checked["ensembles"].values():
        assert e["members"] <= 2 and (e["arch"] == "mlp" or e["width"] <= smoke.MAX_WIDTH)
        assert e["subset"] is None or e["subset"] <= smoke.TRAIN_IMAGES
    for m in little.models.values():
        assert m.arch == "mlp" or m.width <= smoke.MAX_WIDTH
    assert checked["data"]["synthetic"]["n_train"] <= smoke.TRAIN_IMAGES
    assert checked["toy"]["steps"] <= smoke.STEPS and checked["contamination"]["numerical"]["iterations"] <= smoke.STEPS


def test_known_answers_of_paper000(repo_root):
    small = smoke_config(validate_config(preset(repo_root, "paper000")))
    ens = small["ensembles"]
    # 45,000 of CIFAR-10's 50,000 images: 45000 * 300 / 50000 = 270; 10,000: 60; width 1 -> 1/8
    assert (ens["cifar10_45k"]["subset"], ens["cifar10_10k"]["subset"]) == (270, 60)
    assert ens["svhn_45k"]["subset"] == 185  # ceil(45000 * 300 / 73257)
    assert {e["width"] for e in ens.values()} == {0.125} and {e["members"] for e in ens.values()} == {2}
    assert small["interaction"]["epochs"] == {"cifar10_45k": [0, 1]}
    assert small["recipes"]["paper_with_epochs"]["checkpoint_epochs"] == [0, 1]
    assert small["interaction"]["k"] == 8 and small["interaction"]["sensitivity"]["k30"] == {"k": 8}
    g = small["gde"]
    assert (g["superclasses"], g["fractions"], g["blue_groups"], g["members"]) == ([2, 10], [0.05, 1.0], 2, 2)
    # validated with smoke: true, CIFAR-10 counts as 300 images: Fig 5b's 5% is 15 of them
    plan = Plan(validate_config(preset(repo_root, "paper000", smoke=True)))
    assert plan.gde["gde_frac0050"].models[0].subset == 15


def test_packing_survives_the_smoke_alphas(repo_root):
    """paper002 packs its α ≤ 1/8 members; the smoke keeps α = 1/2 only, so max_width rises to
    that width: train_pack and train_member both stay in the DAG."""
    small = smoke_config(validate_config(preset(repo_root, "paper002")))
    assert small["width"]["alphas"] == [0.5] and small["width"]["repeats"] == 1
    assert small["width"]["base_width"] == 0.125 and small["train"]["pack"]["max_width"] == 0.0625
    plan = Plan(small)
    assert plan.packs and any(m not in plan.pack_of for m in plan.models)


def test_validate_config_applies_the_overlay(repo_root):
    cfg = validate_config(preset(repo_root, "default", smoke=True))
    assert cfg["smoke"] is True and cfg["recipes"]["small"]["max_epochs"] == 1
    assert cfg["ensembles"]["synth"]["members"] == 2
    # given as `--config smoke=true`, the string is a boolean
    assert validate_config(preset(repo_root, "default", smoke="true"))["ensembles"]["synth"]["members"] == 2
    assert validate_config(preset(repo_root, "default"))["ensembles"]["synth"]["members"] == 4


def dag_rules(root, tmp_path, files, *config) -> dict[str, int]:
    """{rule: jobs} of a dry run of the whole DAG."""
    cmd = [*snakemake_cmd(), "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
           *[str(root / f) for f in files], "-n", "--quiet", "rules"]
    if config:
        cmd += ["--config", *config]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    table = res.stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.mark.smoke
@pytest.mark.parametrize("name", PRESETS)
def test_smoke_dag_has_the_rules_of_the_full_dag(repo_root, tmp_path, name):
    full = dag_rules(repo_root, tmp_path / "full", PRESETS[name])
    small = dag_rules(repo_root, tmp_path / "smoke", PRESETS[name], "smoke=true")
    assert set(small) == set(full), (sorted(set(full) - set(small)), sorted(set(small) - set(full)))
    assert sum(small.values()) <= sum(full.values())
