# Helpers and input functions of every rule file; no rules here.

import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)  # the featurelab package, without installing it

from snakemake.exceptions import WorkflowError

from featurelab.config import (
    ConfigError,
    gde_ensembles,
    gde_world,
    validate_config,
    width_alpha_denominators,
    width_ensembles,
)
from featurelab.data.sources import RAW_FILES
from featurelab.gpus import pack_plan

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


GDE_ENSEMBLES = gde_ensembles(config)
WIDTH_ENSEMBLES = width_ensembles(config)
ENSEMBLES = {**config["ensembles"], **GDE_ENSEMBLES, **WIDTH_ENSEMBLES}
LAYERS = config["extract"]["layers"]
SPLITS = config["extract"]["splits"]
# train.pack: ensembles whose members train several to a job ({name: [[members], ...]});
# train_member trains the others, train_pack + unpack_member these (rules/train.smk)
PACKS = pack_plan(ENSEMBLES, config["train"]["pack"])
TRAIN_FAST = {k: config["train"][k] for k in ("amp", "channels_last", "compile")}
# the canonical files of each public dataset, as featurelab.data.sources verifies them
DOWNLOADS = {
    dataset: [f"resources/downloads/{dataset}/{raw.name}" for raw in files]
    for dataset, files in RAW_FILES.items()
}


wildcard_constraints:
    ensemble="[A-Za-z][A-Za-z0-9_]*",
    member=r"\d+",
    split="train|test",
    layer="|".join(["penultimate", "block1", "block2", "block3", "block4"]),
    variant=r"[A-Za-z][A-Za-z0-9_.]*",


def ensemble_of(wildcards):
    return ENSEMBLES[wildcards.ensemble]


def members(name):
    return range(ENSEMBLES[name]["members"])


def raw_files(wildcards):
    return DOWNLOADS[wildcards.dataset]


def folder_images(wildcards):
    root = config["data"]["folder"]
    if not root:
        raise WorkflowError("dataset 'folder' needs data.folder in the config")
    exts = ("png", "jpg", "jpeg", "bmp", "webp")
    files = sorted(
        str(p) for p in Path(root).glob("*/*/*") if p.suffix.lower().lstrip(".") in exts
    )
    if not files:
        raise WorkflowError(
            f"data.folder {root!r} holds no images under train/<class>/ or test/<class>/"
        )
    return files


def prepared_train(wildcards):
    return f"resources/prepared/{ensemble_of(wildcards)['dataset']}/train.npz"


def prepared_test(wildcards):
    return f"resources/prepared/{ensemble_of(wildcards)['dataset']}/test.npz"


def prepared_extract_splits(wildcards):
    dataset = ensemble_of(wildcards)["dataset"]
    return {split: f"resources/prepared/{dataset}/{split}.npz" for split in SPLITS}


def member_train_params(name, member):
    ens = ENSEMBLES[name]
    return {
        "ensemble": name,
        "member": int(member),
        "dataset": ens["dataset"],
        "arch": ens["arch"],
        "width": ens["width"],
        "subset": ens["subset"],
        "seed": ens["seed"] + int(member),
        "recipe": config["recipes"][ens["recipe"]],
        "device": config["device"],
    }


def train_params(wildcards):
    return member_train_params(wildcards.ensemble, wildcards.member)


def pack_train_params(wildcards):
    """train_params of every member of one pack."""
    pack = PACKS[wildcards.ensemble][int(wildcards.pack)]
    return [member_train_params(wildcards.ensemble, m) for m in pack]


def pack_of_member(wildcards):
    """The pack directory that holds a packed member's files."""
    m = int(wildcards.member)
    for p, pack in enumerate(PACKS[wildcards.ensemble]):
        if m in pack:
            return f"results/{wildcards.ensemble}/packs/pack{p}"
    raise WorkflowError(f"member {m} of {wildcards.ensemble} is in no pack")


# names that train one member per job / in packs, as wildcard constraints: the lookahead
# leaves the packed ensembles (always followed by '/' in the paths) to unpack_member
PACKED_ENSEMBLE = "|".join(PACKS) or "(?!)"
UNPACKED_ENSEMBLE = (
    f"(?!(?:{'|'.join(PACKS)})/)[A-Za-z][A-Za-z0-9_]*"
    if PACKS
    else "[A-Za-z][A-Za-z0-9_]*"
)


def member_models(wildcards):
    return expand(
        "results/{ensemble}/models/member{member}.json",
        ensemble=wildcards.ensemble,
        member=members(wildcards.ensemble),
    )


def all_targets():
    targets = []
    for name in ENSEMBLES:
        targets.append(f"results/{name}/training_summary.csv")
        targets.append(f"results/{name}/training_curves.png")
        if name in WIDTH_ENSEMBLES:  # their features: rules/width.smk
            continue
        targets += expand(
            "results/{ensemble}/activations/member{member}/{layer}/{split}.parquet",
            ensemble=name,
            member=members(name),
            layer=LAYERS,
            split=SPLITS,
        )
    for name in INTERACTION["ensembles"]:
        targets += interaction_targets(name)
        targets.append(f"results/{name}/theory/theory_vs_experiment.csv")
        if ENSEMBLES[name]["dataset"] == "synthetic":
            targets.append(f"results/{name}/theory/estimates_vs_truth.csv")
    targets.append("results/theory/fig4.png")
    if GDE_ENSEMBLES:
        targets += gde_targets()
    if WIDTH_ENSEMBLES:
        targets += width_targets()
    return targets


# ---------------------------------------------------------------- interaction study

INTERACTION = config["interaction"]
SETTING_KEYS = [
    "layer",
    "split",
    "k",
    "center",
    "gamma_corr",
    "corr_percentile",
    "data_percentile",
    "gamma_data_pool",
]


def epoch_variants(name):
    return [f"epoch{e:03d}" for e in sorted(INTERACTION["epochs"].get(name, []))]


def panel_variants(name):
    """Variants with the full set of O.1-O.4 panels: main, sensitivity, depths."""
    return ["main", *INTERACTION["sensitivity"], *INTERACTION["depths"]]


def variant_settings(wildcards):
    settings = {k: INTERACTION[k] for k in SETTING_KEYS}
    v = wildcards.variant
    if v in INTERACTION["sensitivity"]:
        settings.update(INTERACTION["sensitivity"][v])
    elif v in INTERACTION["depths"]:
        settings["layer"] = v
    elif v.startswith("epoch"):
        settings["epoch"] = int(v[len("epoch") :])
    elif v != "main":
        raise WorkflowError(f"unknown interaction variant {v!r}")
    return settings


def variant_activations(wildcards):
    name, v = wildcards.ensemble, wildcards.variant
    if v.startswith("epoch"):
        return expand(
            "results/{ensemble}/activations/member{member}/epochs",
            ensemble=name,
            member=members(name),
        )
    layer = v if v in INTERACTION["depths"] else INTERACTION["layer"]
    return expand(
        "results/{ensemble}/activations/member{member}/{layer}/{split}.parquet",
        ensemble=name,
        member=members(name),
        layer=layer,
        split=INTERACTION["split"],
    )


def epoch_list(wildcards):
    return sorted(INTERACTION["epochs"].get(wildcards.ensemble, []))


def prepared_interaction_split(wildcards):
    dataset = ensemble_of(wildcards)["dataset"]
    return f"resources/prepared/{dataset}/{INTERACTION['split']}.npz"


def epoch_tensors(wildcards):
    return expand(
        "results/{ensemble}/interaction/{variant}/omega.parquet",
        ensemble=wildcards.ensemble,
        variant=epoch_variants(wildcards.ensemble),
    )


def synthetic_truth(wildcards):
    """The ground truth of the split, for ensembles trained on the synthetic world."""
    if ensemble_of(wildcards)["dataset"] != "synthetic":
        return []
    return f"resources/prepared/synthetic/{INTERACTION['split']}_truth.parquet"


def interaction_summary_inputs(wildcards):
    name = wildcards.ensemble
    inputs = {
        "tensors": expand(
            "results/{ensemble}/interaction/{variant}/tensor.json",
            ensemble=name,
            variant=panel_variants(name),
        ),
        "observations": expand(
            "results/{ensemble}/interaction/{variant}/observations.json",
            ensemble=name,
            variant=panel_variants(name),
        ),
    }
    if ENSEMBLES[name]["dataset"] == "synthetic":
        inputs["truth"] = f"results/{name}/interaction/ground_truth.json"
    return inputs


INTERACTION_PANELS = ["fig2b", "fig2c", "fig3a", "fig3b", "fig3c"]
INTERACTION_MAIN = ["fig1", "fig8", "fig9", "fig10", "fig11"]


def interaction_targets(name):
    targets = [f"results/{name}/interaction/summary.json"]
    targets += expand(
        "results/{ensemble}/interaction/{variant}/{fig}.png",
        ensemble=name,
        variant=panel_variants(name),
        fig=INTERACTION_PANELS,
    )
    targets += expand(
        "results/{ensemble}/interaction/main/{fig}.png",
        ensemble=name,
        fig=INTERACTION_MAIN,
    )
    if epoch_variants(name):
        targets.append(f"results/{name}/interaction/fig2a.png")
    if ENSEMBLES[name]["dataset"] == "synthetic":
        targets.append(f"results/{name}/interaction/ground_truth.png")
    return targets


# ---------------------------------------------------------------- GDE study

BASE_DATASETS = "synthetic_gde|synthetic|cifar10|svhn|fashion_mnist|folder"


def gde_condition_members(wildcards):
    """Test-split penultimate activations of every member of the superclass and blue conditions."""
    files = {}
    for name, ens in GDE_ENSEMBLES.items():
        if "condition" in ens:
            files[name] = expand(
                "results/{ensemble}/activations/member{member}/penultimate/test.parquet",
                ensemble=name,
                member=members(name),
            )
    return files


def synthetic_base_truth(wildcards):
    """The ground truth of a synthetic base world (its rare-pool sizes), else nothing."""
    if wildcards.base in ("synthetic", "synthetic_gde"):
        return {"truth": f"resources/prepared/{wildcards.base}/train_truth.parquet"}
    return {}


def gde_blue_group_info(wildcards):
    """Each blue group's thresholds (and, on a synthetic world, its mean rare pool)."""
    return [
        f"resources/prepared/{ens['dataset']}/blue_thresholds.json"
        for ens in GDE_ENSEMBLES.values()
        if ens.get("condition", "").startswith("blue")
    ]


def gde_fraction_metrics(wildcards):
    return {
        name: expand(
            "results/{ensemble}/models/member{member}.json",
            ensemble=name,
            member=members(name),
        )
        for name, ens in GDE_ENSEMBLES.items()
        if "fraction" in ens
    }


def gde_conditions():
    return {
        name: ens["condition"]
        for name, ens in GDE_ENSEMBLES.items()
        if "condition" in ens
    }


def gde_targets():
    targets = []
    if gde_conditions():
        targets += [
            "results/gde/table1.csv",
            "results/gde/accuracy_vs_agreement.png",
            "results/gde/calibration.png",
            "results/gde/summary.json",
        ]
    if config["gde"]["fractions"]:
        targets.append("results/gde/fig5b.png")
    return targets


# ---------------------------------------------------------------- width study

WIDTH = config["width"]
WIDTH_STATES = ["trained", "init"] if WIDTH["random_init"] else ["trained"]
WIDTH_SPLITS = ["train", "val", "test"]
WIDTH_DENS = width_alpha_denominators(config)


def width_dataset_splits(wildcards):
    dataset = ensemble_of(wildcards)["dataset"]
    return {s: f"resources/prepared/{dataset}/{s}.npz" for s in WIDTH_SPLITS}


def width_member_features(name):
    return expand(
        "results/{ensemble}/features/member{member}/{state}/{split}.parquet",
        ensemble=name,
        member=members(name),
        state=WIDTH_STATES,
        split=WIDTH_SPLITS,
    )


def width_measure_inputs(wildcards):
    arch, k = wildcards.arch, int(wildcards.k)
    return {
        "base": width_member_features(f"w_{arch}_a1"),
        "narrow": width_member_features(f"w_{arch}_a{k}"),
    }


def width_report_inputs(wildcards):
    arch = wildcards.arch
    return {
        "measurements": expand(
            "results/width/{arch}/{state}/a{k}.csv",
            arch=arch,
            state=WIDTH_STATES,
            k=[k for k in WIDTH_DENS if k > 1],
        ),
        "metrics": [
            f"results/{name}/models/member{m}.json"
            for name, ens in WIDTH_ENSEMBLES.items()
            if ens["arch"] == arch
            for m in members(name)
        ],
        "counts": "results/width/member_counts.csv",
    }


WIDTH_FIGURES = ["fig1", "fig2", "fig3", "fig4"]
WIDTH_INIT_FIGURES = ["fig7", "fig8"]


def width_targets():
    targets = [
        "results/width/member_counts.csv",
        "results/width/summary.json",
        "results/width/table3.csv",
    ]
    figs = WIDTH_FIGURES + (WIDTH_INIT_FIGURES if WIDTH["random_init"] else [])
    for arch in WIDTH["archs"]:
        targets += expand("results/width/{arch}/{fig}.png", arch=arch, fig=figs)
        targets += [
            f"results/width/{arch}/shuffled_regression.csv",
            f"results/width/{arch}/accuracy.csv",
        ]
    return targets
