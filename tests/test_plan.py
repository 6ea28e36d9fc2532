"""The planner (featurelab.plan): every name, count and seed the workflow derives from a
config, the model zoo, and the refusal of a user ensemble that takes a generated name."""
import copy
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import snakemake_cmd

from featurelab.config import ConfigError, load_config, validate_config
from featurelab.plan import (
    Model,
    Plan,
    gde_base_dataset,
    gde_ensembles,
    gde_world,
    generated_names,
    pack_plan,
    width_ensembles,
)
from featurelab.width import n_p

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def default():
    return load_config(ROOT / "config.yaml")


def test_gde_ensembles_one_per_condition_and_fraction_one_is_not_trained_twice(default):
    cfg = copy.deepcopy(default)
    cfg["data"]["synthetic"]["n_train"] = 3000
    cfg["gde"].update(enabled=True, superclasses=[2, 10], blue_groups=2, fractions=[0.1, 1.0], world={}, subset=None)
    ens = gde_ensembles(validate_config(cfg))
    assert sorted(ens) == ["gde_blue1", "gde_blue2", "gde_frac0100", "gde_super10", "gde_super2"]
    assert ens["gde_super2"].dataset == "synthetic__super2" and ens["gde_blue2"].dataset == "synthetic__blue2"
    assert ens["gde_super10"].dataset == "synthetic" and ens["gde_super10"].info["fraction"] == 1.0  # reused
    assert ens["gde_frac0100"].first.subset == 300 and "condition" not in ens["gde_frac0100"].info
    assert all(e.members == cfg["gde"]["members"] for e in ens.values())


def test_gde_world_and_subset(default):
    cfg = copy.deepcopy(default)
    cfg["data"]["synthetic"].update(n_train=3000, num_classes=10)
    cfg["gde"].update(enabled=True, superclasses=[2, 10], blue_groups=5, fractions=[0.05, 0.2],
                      world={"n_train": 10000, "blue_tie": {"rare_pool_min_fraction": 0.5}}, subset=2000)
    cfg = validate_config(cfg)
    w = gde_world(cfg)
    assert w["n_train"] == 10000 and w["t_r"] == cfg["data"]["synthetic"]["t_r"]       # the rest as data.synthetic
    assert w["blue_tie"] == {**cfg["data"]["synthetic"]["blue_tie"], "rare_pool_min_fraction": 0.5}
    assert cfg["data"]["synthetic"]["n_train"] == 3000                                    # main world untouched
    assert gde_base_dataset(cfg) == "synthetic_gde"
    ens = gde_ensembles(cfg)
    assert ens["gde_super2"].dataset == "synthetic_gde__super2" and ens["gde_super2"].first.subset == 2000
    assert ens["gde_super10"].dataset == "synthetic_gde" and ens["gde_blue5"].dataset == "synthetic_gde__blue5"
    assert ens["gde_blue5"].first.subset is None                                         # a blue group: all of it
    # 5% of 10,000 is its own ensemble; 20% = 2,000 images with the original labels is gde_super10 itself
    assert ens["gde_frac0050"].first.subset == 500 and "gde_frac0200" not in ens
    assert ens["gde_super10"].info["fraction"] == 0.2
    cfg["gde"]["world"] = {}
    assert gde_base_dataset(cfg) == "synthetic" and gde_world(cfg) == cfg["data"]["synthetic"]


def test_width_ensembles_from_the_default_config(default):
    ens = width_ensembles(default)
    holdout = copy.deepcopy(default)
    holdout["width"]["validation"] = 500
    assert width_ensembles(validate_config(holdout))["w_resnet18_a2"].dataset == "synthetic__holdout500"
    assert sorted(ens) == ["w_resnet18_a1", "w_resnet18_a2", "w_resnet18_a4"]
    assert ens["w_resnet18_a1"].members == default["width"]["repeats"] + 1
    assert ens["w_resnet18_a4"].members == default["width"]["repeats"] * n_p(0.25, "resnet18", base_width=0.125)
    assert ens["w_resnet18_a4"].first.width == pytest.approx(0.125 / 4)
    assert ens["w_resnet18_a2"].dataset == "synthetic"  # the world's own validation split
    assert ens["w_resnet18_a4"].info == {"arch": "resnet18", "alpha_den": 4, "n_p": 16, "n_f": 4}
    seeds = [m.seed for e in ens.values() for m in e.models]
    assert len(seeds) == len(set(seeds))  # seed ranges of different α never collide
    off = copy.deepcopy(default)
    off["width"]["enabled"] = False
    assert width_ensembles(off) == {}


def test_paper002_preset_plans_the_full_sweep():
    cfg = load_config(ROOT / "presets/paper002.yaml")
    ens = width_ensembles(cfg)
    for arch in ("resnet18", "vgg16"):
        for k in (1, 2, 4, 8, 16):
            e = ens[f"w_{arch}_a{k}"]
            assert e.dataset == "cifar10__holdout5000"
            assert e.members == (5 if k == 1 else 4 * n_p(1 / k, arch))
    # the paper's N_p table for ResNet-18: 4, 16, 64, 251
    assert [ens[f"w_resnet18_a{k}"].members // 4 for k in (2, 4, 8, 16)] == [4, 16, 64, 251]


def test_pack_plan_cuts_each_narrow_group_in_seed_order():
    def models(width, n, seed0=0):
        return [Model("synthetic", "resnet18", width, "r", None, seed0 + i) for i in range(n)]

    zoo = models(1.0, 5) + models(0.0625, 35, 100) + models(0.125, 2, 500)
    off = {"enabled": False, "max_width": 0.125, "members_per_job": 16}
    assert pack_plan(zoo, off) == {}
    plan = pack_plan(zoo, {**off, "enabled": True})
    narrow = [p for p in plan if "-w0.0625-" in p]
    assert [len(plan[p]) for p in narrow] == [16, 16, 3]
    assert sum((plan[p] for p in narrow), []) == [m.id for m in models(0.0625, 35, 100)]
    edge = [p for p in plan if "-w0.125-" in p]
    assert edge == ["synthetic-resnet18-w0.125-r-p0"] and plan[edge[0]] == [m.id for m in models(0.125, 2, 500)]


def test_model_ids_name_what_determines_the_weights():
    m = Model("synthetic_gde__blue3", "resnet18", 0.125, "synthetic_gde", 2000, 101)
    assert m.id == "synthetic_gde__blue3-resnet18-w0.125-synthetic_gde-n2000-s101"
    from featurelab.plan import MODEL_ID
    assert re.fullmatch(MODEL_ID, m.id) and re.fullmatch(MODEL_ID, Model("cifar10", "vgg16", 1.0, "p", None, 0).id)


def test_the_zoo_trains_a_model_two_ensembles_ask_for_once(default):
    cfg = copy.deepcopy(default)
    for study in ("gde", "width", "toy", "contamination", "diversity"):
        cfg[study]["enabled"] = False
    del cfg["ensembles"]["dsmall"]  # the diversity study's base recipe stops on its held-out split
    m = cfg["ensembles"]["synth"]["members"]
    cfg["ensembles"]["again"] = dict(cfg["ensembles"]["synth"], members=m + 2)  # members 0..m-1 are synth's
    cfg["ensembles"]["full"] = dict(cfg["ensembles"]["synth"], subset=cfg["data"]["synthetic"]["n_train"])
    plan = Plan(validate_config(cfg))
    assert plan.ensemble_models("again")[:m] == plan.ensemble_models("synth")
    assert plan.ensemble_models("full") == plan.ensemble_models("synth")  # a subset of all images is all images
    assert plan.trainings_saved == 2 * m
    assert len(plan.models) == plan.trainings_asked - 2 * m == m + 2


def test_the_default_shares_its_base_networks_across_studies(default):
    plan = Plan(default)
    synth = plan.ensemble_models("synth")
    assert plan.ensemble_models("gde_super10") == synth[:3]      # K̃ = 10 and the 100% fraction
    assert plan.ensemble_models("w_resnet18_a1") == synth[:2]    # the width study's M_1, M_1'
    # and the diversity study's greedy start, a member of synth, and its base and Reinit: the four
    # members of dsmall (the rest of its pool trains its own models)
    assert plan.trainings_saved == 5 + 1 + 4


def test_every_generated_name_comes_from_the_planner(default):
    generated = generated_names(default)
    plan = Plan(default)
    assert set(plan.gde) | set(plan.width) <= set(generated)
    for name, study in (("gde_super2", "gde"), ("w_resnet18_a2", "width")):
        cfg = copy.deepcopy(default)
        cfg["ensembles"][name] = dict(cfg["ensembles"]["synth"])
        with pytest.raises(ConfigError, match=rf"ensembles\.{name}: the {study} study generates an ensemble"):
            validate_config(cfg)
    cfg = copy.deepcopy(default)
    cfg["ensembles"]["interaction"] = dict(cfg["ensembles"]["synth"])
    with pytest.raises(ConfigError, match=r"ensembles\.interaction: 'interaction' is a folder of results/"):
        validate_config(cfg)


def test_no_file_rebuilds_a_generated_name():
    """The generated names' patterns are spelled in the planner (featurelab/plan/) only."""
    patterns = [r"w_\{", r"gde_super\{", r"gde_blue\{", r"gde_frac\{", r"__holdout\{", r"__super\{", r"__blue\{"]
    for path in [*ROOT.glob("rules/*.smk"), *ROOT.glob("scripts/*.py"), *ROOT.glob("featurelab/**/*.py")]:
        if "plan" in path.relative_to(ROOT).parts:
            continue
        text = path.read_text()
        for p in patterns:
            assert not re.search(p, text), f"{path.relative_to(ROOT)} builds a generated name ({p})"


#: Jobs per rule that `snakemake -n` plans for each config. The trainings and extractions are
#: the ones planned before the restructuring into the zoo (the CPU tier, the previous default:
#: 61 train_member, 39 extract_member, 22 extract_width_member; paper000: 174 and 174; paper002:
#: 170 train_member and 159 train_pack for 2,528 packed members); what changed is that cheap
#: steps share a job (one per ensemble or study instead of one per variant, condition or
#: member), the epoch activations come with a model's extraction, and a pack's members are
#: extracted by one job per pack (extract_pack, unpack_features) instead of one per member.
#: The contamination study's jobs (Zhang et al., ICML 2024): its padded members and teachers
#: train in the tier's train rule (config.yaml: two more packs, four unpacked members; the CPU
#: tier: six train_member; paper001: three ResNet-32 and three padded ones), its students in
#: contamination_student.
CONTAMINATION = {"contamination_numerical": 1, "synthetic_shifted": 1, "contamination_deep": 1,
                 "contamination_padding": 1, "contamination_report": 1, "bgmix_dataset": 1,
                 "contamination_headline": 1}
#: The diversity study's jobs (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022): config.yaml's pool of
#: 16 models, every one stopped at the same held-out target (none reused: no other study's
#: model stops so): dsmall's four in a pack, nine candidates in six packs of their own, the MLP,
#: a width-1/4 network and the SimCLR model alone; run over the study's held-out and test points
#: by one job per category, the base and the greedy start.
DIVERSITY = {"diversity_eval": 1, "diversity_world": 1, "diversity_outputs": 7, "diversity_analysis": 1,
             "diversity_figures": 1}
PLANNED = {
    "config.yaml": {"synthetic_world": 1, "theory_figures": 1, "toy_seed": 1, "gde_datasets": 1, "toy_figures": 1,
        "train_pack": 16, "extract_pack": 7, "unpack_member": 53, "contamination_student": 2, "gde_fractions": 1, "unpack_activations": 16,
        "unpack_features": 22, "interaction_epochs": 1, "interaction_tensors": 1, "training_summary": 1,
        "width_measure": 1, "gde_tables": 1, "interaction_ground_truth": 1, "theory_vs_experiment": 1,
        "width_report": 1, "interaction_figures": 1, "theory_truth_scores": 1, "all": 1, **CONTAMINATION,
        **DIVERSITY, "train_member": 3, "findings": 1},
    "presets/cpu.yaml": {"synthetic_gde_world": 1, "synthetic_world": 1, "theory_figures": 1, "toy_seed": 6,
        "gde_datasets": 1, "holdout_dataset": 1, "toy_figures": 1, "train_member": 93, "extract_member": 39,
        "contamination_student": 3,
        "gde_fractions": 1, "extract_width_member": 22, "interaction_epochs": 1, "interaction_tensors": 1,
        "training_summary": 1, "gde_tables": 1, "interaction_ground_truth": 1, "theory_vs_experiment": 1,
        "width_measure": 1, "interaction_figures": 1, "theory_truth_scores": 1, "width_report": 1,
        "all": 1, "findings": 1, **CONTAMINATION, **DIVERSITY},
    "presets/paper001.yaml": {"download_cifar10": 1, "prepare_dataset": 1, "theory_figures": 1, "train_member": 6,
        "extract_member": 3, "training_summary": 1, "all": 1, "findings": 1, **CONTAMINATION, "synthetic_shifted": 0,
        "bgmix_dataset": 0, "contamination_headline": 0},
    # Jiang, Baek, Kolter (2024): 3 × 20 ResNet-18 (App. E); GDE: 4 superclass and 5 blue-group conditions
    # of 6 seeds and 10 more training fractions of 6 seeds: 60 + 24 + 30 + 60 = 174 trainings
    "presets/paper000.yaml": {"download_cifar10": 1, "download_svhn": 1, "theory_figures": 1, "prepare_dataset": 2,
        "gde_datasets": 1, "train_member": 174, "extract_member": 174, "gde_fractions": 1, "interaction_epochs": 1,
        "interaction_tensors": 3, "training_summary": 1, "gde_tables": 1, "interaction_figures": 3,
        "theory_vs_experiment": 3, "all": 1, "findings": 1},
    "presets/paper004.yaml": {"download_cifar10": 1, "prepare_dataset": 1, "theory_figures": 1, "train_member": 21,
        "extract_member": 1, "training_summary": 1, "all": 1, "findings": 1, **DIVERSITY, "diversity_world": 0},
    "presets/paper002.yaml": {"download_cifar10": 1, "theory_figures": 1, "prepare_dataset": 1,
        "holdout_dataset": 1, "train_member": 170, "train_pack": 159, "extract_pack": 159,
        "extract_width_member": 170, "unpack_member": 2528, "training_summary": 1, "unpack_features": 2528,
        "width_measure": 2, "width_report": 1, "all": 1, "findings": 1},
}


def _job_table(stdout: str) -> dict[str, int]:
    table = stdout.split("job", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)
            if m.group(1) != "total"}


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> dict[str, dict[str, int]]:
    """``snakemake -n`` of every preset, run side by side (each is mostly Snakemake's own
    start-up and parsing, about 11 s; paper002's 5,723 jobs about 40 s)."""
    procs = {}
    for configfile in sorted(PLANNED):
        workdir = tmp_path_factory.mktemp("plan")
        procs[configfile] = subprocess.Popen(
            [*snakemake_cmd(), "-n", "--cores", "2", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
             "--configfile", str(ROOT / configfile), "--quiet", "rules"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for configfile, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-2000:]
        out[configfile] = _job_table(stdout)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("configfile", sorted(PLANNED))
def test_every_preset_plans_the_jobs_it_planned(configfile, planned):
    assert planned[configfile] == {k: v for k, v in PLANNED[configfile].items() if v}


@pytest.mark.parametrize("configfile", ["config.yaml", "presets/cpu.yaml", "presets/paper004.yaml"])
def test_every_pool_model_is_selected_alike_and_the_greedy_start_lies_outside_the_pool(configfile):
    """Gontijo-Lopes, Dauphin, Cubuk (ICLR 2022) compare models matched in accuracy alike: every
    pool model, the base and Reinit included, trains with the same held-out stopping (target and
    checks per epoch) inside the window, on the study's held-out split; greedy ensembling starts
    from a fully trained model (no held-out stopping) that is no pool model."""
    from featurelab.config import load_config

    cfg = load_config(ROOT / configfile)
    plan = Plan(cfg)
    pool = [p for p in plan.diversity_pool() if p["category"] != "start"]
    rule = plan.diversity_rule()
    assert rule["window"][0] <= rule["target"] <= rule["window"][1]
    assert rule["window"][1] - rule["window"][0] <= 0.06 + 1e-9
    for p in pool:
        recipe = cfg["recipes"][plan.models[p["model"]].recipe]
        assert recipe.get("stop_at_heldout_acc") == rule["target"], p
        assert int(recipe.get("heldout_checks", 1)) == rule["heldout_checks"], p
        assert plan.heldout_file(p["model"]) == plan.diversity_eval_files()["val"]
    cats = [p["category"] for p in pool]
    assert cats[0] == "base" and cats.count("reinit") >= 3
    # Framework is the contrastive framework (SimCLR); mixup, an augmentation, is under Hyper
    assert cats.count("framework") >= 1
    assert all(cfg["recipes"][plan.models[p["model"]].recipe].get("simclr") for p in pool if p["category"] == "framework")
    assert any(cfg["recipes"][plan.models[p["model"]].recipe].get("mixup") for p in pool if p["category"] == "hyper")
    start = plan.diversity_greedy_start()
    assert start is not None and start not in {p["model"] for p in pool}
    assert cfg["recipes"][plan.models[start].recipe].get("stop_at_heldout_acc") is None
    seeds = [plan.models[p["model"]].seed for p in pool]
    assert len(set(seeds)) == len(seeds)  # no two pool models share an initialisation


def test_the_default_pool_gives_new_models_their_own_seeds_and_packs(default):
    plan = Plan(default)
    pool = [p for p in plan.diversity_pool() if p["category"] != "start"]
    new = [plan.models[p["model"]] for p in pool]
    assert len(new) == 16 and len({m.id for m in new}) == 16
    other = {m.seed for n, e in plan.ensembles.items() if not n.startswith("div_") and n != "dsmall" for m in e.models}
    assert not {m.seed for m in new} & other
    assert {m.dataset for m in new if m.dataset != "synthetic"} == {"synthetic__worldpd85"}
    assert plan.heldout_file(plan.ensemble_models("synth")[0]) is None
    # the candidates pack apart from the other studies' models; the MLP, width 1/4 and SimCLR train alone
    cands = [plan.models[p["model"]] for p in pool if p["source"] == "new"]
    alone = [m for m in cands if m.arch == "mlp" or m.width > 0.125 or m.recipe == "div_simclr"]
    assert all(plan.pack_of[m.id].endswith("-d0") for m in cands if m not in alone)
    assert not any(m.id in plan.pack_of for m in alone) and len(alone) == 3


def test_a_reused_ensemble_must_have_the_members_asked_and_the_pools_stopping(default):
    cfg = copy.deepcopy(default)
    cfg["diversity"]["categories"]["arch"] = [{"ensemble": "dsmall", "members": 9}]
    with pytest.raises(ConfigError, match=r"diversity.categories.arch.0.members: 9 models asked of 'dsmall', "
                                          r"which has 4"):
        validate_config(cfg)
    cfg = copy.deepcopy(default)
    cfg["diversity"]["categories"]["hyper"] = [{"ensemble": "cont_padded"}]  # trained to the end
    with pytest.raises(ConfigError, match=r"diversity.categories.hyper.0.ensemble: the reused ensemble 'cont_padded' "
                                          r"was trained with recipe 'padded' stops at held-out accuracy None"):
        validate_config(cfg)
    cfg = copy.deepcopy(default)
    cfg["recipes"]["div_lowlr"]["heldout_checks"] = 1
    with pytest.raises(ConfigError, match=r"diversity.categories.hyper.1.recipe: its recipe 'div_lowlr' stops at "
                                          r"held-out accuracy 0.45 checked 1x per epoch"):
        validate_config(cfg)
    cfg = copy.deepcopy(default)
    cfg["diversity"]["window"] = [0.30, 0.40]
    with pytest.raises(ConfigError, match=r"diversity.window: \[0.3, 0.4\] does not contain the pool's held-out "
                                          r"target 0.45"):
        validate_config(cfg)


@pytest.mark.parametrize("start, expected", [
    ({"ensemble": "nope"}, r"diversity.greedy.start: give \{ensemble: <name>, member: <i>\} of a known ensemble"),
    ({"ensemble": "synth", "member": 4}, r"diversity.greedy.start.member: 4 is not a member of 'synth' \(4 members\)"),
    ({"ensemble": "w_resnet18_a2", "member": 9},
     r"diversity.greedy.start.member: 9 is not a member of 'w_resnet18_a2' \(4 members\)"),
    ({"ensemble": "dsmall", "member": 0}, r"diversity.greedy.start: 'dsmall' member 0 stops at a held-out accuracy"),
    (None, r"diversity.greedy.start: name the fully trained model"),
])
def test_the_greedy_start_is_checked_before_any_job(default, start, expected):
    cfg = copy.deepcopy(default)
    cfg["diversity"]["greedy"]["start"] = start
    with pytest.raises(ConfigError, match=expected):
        validate_config(cfg)


def test_the_dataset_world_keeps_the_classes_and_draws_another_sample(default):
    from featurelab.data.synthetic import WorldConfig, generate_split, motif_bank
    from featurelab.plan import diversity_world

    world = diversity_world(default, "pd85")
    base = default["data"]["synthetic"]
    assert world["p_d"] == 0.85 and world["draw"] == 1 and world["n_val"] == 0
    assert all(world[k] == base[k] for k in ("num_classes", "t_d", "t_r", "seed", "image_size"))
    small = {**base, "n_train": 50, "n_test": 10}
    a, b = WorldConfig.from_dict(small), WorldConfig.from_dict({**small, "draw": 1})
    assert all(np.array_equal(x, y) for x, y in zip(motif_bank(a), motif_bank(b)))
    assert not np.array_equal(generate_split(a, "train")[1], generate_split(b, "train")[1])
    assert np.array_equal(generate_split(a, "train")[0], generate_split(WorldConfig.from_dict(small), "train")[0])
