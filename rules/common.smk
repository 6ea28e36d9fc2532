# What every rule file shares; no rules here: the config check, the planner, wildcard
# constraints, the data and model zoo's input functions, the external models and the
# default targets. A study's own input functions and targets open its rule file. Every
# name, count and seed comes from the planner (featurelab.plan), which reads the
# validated config.

import re
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)  # the featurelab package, without installing it

from snakemake.exceptions import WorkflowError

from featurelab.architecture import LAYERS as ALL_LAYERS
from featurelab.config import ConfigError, validate_config
from featurelab.controls import REGISTRY as CONTROL_REGISTRY
from featurelab.data.sources import RAW_FILES
from featurelab.plan import (
    BASE_DATASETS,
    WORLD_DATASET,
    BGMIX_DATASET,
    BLUE_DATASET,
    HOLDOUT_DATASET,
    MODEL_ID,
    SUPERCLASS_DATASET,
    WIDTH_SPLITS,
    Plan,
    control_datasets,
    control_world,
    control_world_dataset,
    diversity_base_dataset,
    diversity_eval_world,
    diversity_world,
    gde_world,
    world_of,
)

try:
    validate_config(config)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None

PLAN = Plan(config)
LAYERS = PLAN.layers
SPLITS = PLAN.splits
TRAIN_FAST = {k: config["train"][k] for k in ("amp", "channels_last", "compile")}
# the canonical files of each public dataset, as featurelab.data.sources verifies them
DOWNLOADS = {
    dataset: [f"resources/downloads/{dataset}/{raw.name}" for raw in files]
    for dataset, files in RAW_FILES.items()
}
# base datasets a derived dataset (<base>__super<k>, __blue<g>, __holdout<n>) is made from
DERIVABLE = "|".join(("synthetic_gde", *BASE_DATASETS, *control_datasets(config)))
# models that train in packs (rules/train.smk): their groups, as regular expressions (all,
# those whose activations and those whose width-study features a study reads); the others
# train and are extracted one model per job (SOLO_MODEL)
PACKED, PACKED_ACTIVATIONS, PACKED_FEATURES = (
    "|".join(re.escape(g) for g in PLAN.packed_groups(kind)) or "(?!)"
    for kind in (None, "activations", "features")
)
SOLO_MODEL = f"(?!(?:{PACKED})-s\\d+(?:/|$)){MODEL_ID}"
PACK_ID = r"[A-Za-z0-9_.-]+-[pdc]\d+"


wildcard_constraints:
    model=MODEL_ID,
    ensemble="[A-Za-z][A-Za-z0-9_]*",
    split="train|val|test",
    layer="|".join(ALL_LAYERS),
    variant=r"[A-Za-z][A-Za-z0-9_.]*",


# ---------------------------------------------------------------- data


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


def prepared(dataset, splits):
    return {s: f"resources/prepared/{dataset}/{s}.npz" for s in splits}


def world_outputs(name, world):
    """A synthetic world's splits and their ground truth (a validation split when n_val > 0)."""
    splits = ["train", "test"] + (["val"] if world.get("n_val") else [])
    out = {s: f"resources/prepared/{name}/{s}.npz" for s in splits}
    out.update(
        {f"{s}_truth": f"resources/prepared/{name}/{s}_truth.parquet" for s in splits}
    )
    out["world"] = f"resources/prepared/{name}/world.json"
    return out


def shifted_world(wildcards):
    """The synthetic world whose shifted test split a rule makes."""
    return world_of(config, wildcards.world)


def synthetic_base_truth(wildcards):
    """The ground truth of a synthetic base world (its rare-pool sizes), else nothing."""
    if wildcards.base in ("synthetic", "synthetic_gde"):
        return {"truth": f"resources/prepared/{wildcards.base}/train_truth.parquet"}
    return {}


# ---------------------------------------------------------------- the model zoo


def model_splits(wildcards):
    """The prepared train and test splits of a model's dataset, and the held-out split its
    recipe stops on (stop_at_heldout_acc, the diversity study)."""
    files = prepared(PLAN.models[wildcards.model].dataset, ("train", "test"))
    heldout = PLAN.heldout_file(wildcards.model)
    return {**files, "heldout": heldout} if heldout else files


def pack_splits(wildcards):
    """The prepared train and test splits of a pack's dataset (and the held-out split its
    recipe stops on)."""
    first = PLAN.packs[wildcards.pack][0]
    files = prepared(PLAN.models[first].dataset, ("train", "test"))
    heldout = PLAN.heldout_file(first)
    return {**files, "heldout": heldout} if heldout else files


def train_params(wildcards):
    return PLAN.train_params(wildcards.model)


def pack_train_params(wildcards):
    """train_params of every model of one pack."""
    return [PLAN.train_params(m) for m in PLAN.packs[wildcards.pack]]


def pack_of_model(wildcards):
    """The folder of the pack that trained a packed model."""
    return f"results/zoo/packs/{PLAN.pack_of[wildcards.model]}"


def pack_extract_splits(wildcards):
    """The prepared splits a pack's extraction reads: its models' dataset's extract.splits,
    the interaction split (Fig 2a's epochs) and, for the width study, train, val and test.
    """
    what = PLAN.pack_extraction(wildcards.pack)
    dataset = PLAN.models[PLAN.packs[wildcards.pack][0]].dataset
    splits = set()
    if what["activations"]:
        splits |= set(SPLITS) | {config["interaction"]["split"]}
    if what["features"]:
        splits |= set(WIDTH_SPLITS)
    return prepared(dataset, sorted(splits))


def pack_extraction(wildcards):
    return PLAN.pack_extraction(wildcards.pack)


def extraction_of_packed_model(wildcards):
    """The extraction folder of the pack that trained a packed model."""
    return f"results/zoo/extracted/{PLAN.pack_of[wildcards.model]}"


def extract_splits(wildcards):
    """The prepared splits of extract.splits and the interaction split (Fig 2a's epochs)."""
    splits = sorted(set(SPLITS) | {config["interaction"]["split"]})
    return prepared(PLAN.models[wildcards.model].dataset, splits)


def feature_splits(wildcards):
    return prepared(PLAN.models[wildcards.model].dataset, WIDTH_SPLITS)


def model_epochs(wildcards):
    """The checkpoint epochs whose activations the interaction study reads (Fig 2a)."""
    return PLAN.model_epochs(wildcards.model)


def all_ensemble_metrics(wildcards):
    """Every ensemble's metrics files, member by member."""
    return {name: PLAN.metrics_files(name) for name in PLAN.ensembles}


def all_ensemble_models(wildcards):
    return {name: PLAN.ensemble_models(name) for name in PLAN.ensembles}


def training_summary_outputs():
    """Per ensemble, the table of its members and their training curves, in the report."""
    out = {}
    for name in PLAN.ensembles:
        for key, file in (
            ("table", "training_summary.csv"),
            ("figure", "training_curves.png"),
        ):
            out[f"{name}__{key}"] = report(
                f"results/ensembles/{name}/{file}",
                caption=f"../report/training/{file.split('.')[0]}.rst",
                category="Ensembles",
                subcategory=name,
            )
    return out


# ---------------------------------------------------------------- external models


def external_inputs(name):
    """The input function of one external set's rule: a model's file(s) and the prepared
    splits it is run over or checked against."""

    def inputs(wildcards):
        return PLAN.external_files(name, int(wildcards.member))

    return inputs


def external_rule_outputs(name):
    """The files one external model's job writes, by ``<layer>__<split>``."""
    return {
        f"{layer}__{split}": f.replace(f"/m0/", "/m{member}/")
        for (layer, split), f in PLAN.external_outputs(name, 0).items()
    }


# ---------------------------------------------------------------- targets

# each study's <study>_targets() opens its rule file; these are called when
# rules/findings.smk and the Snakefile's `rule all` are parsed, after every include


def study_targets():
    """Every output of the default run, study by study."""
    targets = []
    for name in PLAN.ensembles:
        targets.append(f"results/ensembles/{name}/training_summary.csv")
        targets.append(f"results/ensembles/{name}/training_curves.png")
    for m in PLAN.activation_models():
        targets += expand(
            "results/zoo/{model}/activations/{layer}/{split}.parquet",
            model=m,
            layer=LAYERS,
            split=SPLITS,
        )
    targets += PLAN.external_targets()
    for name in PLAN.interaction_ensembles():
        targets += interaction_targets(name)
        targets.append(f"results/theory/{name}/theory_vs_experiment.csv")
        if PLAN.has_truth(name):
            targets.append(f"results/theory/{name}/estimates_vs_truth.csv")
    targets.append("results/theory/fig4.png")
    targets += gde_targets() + width_targets() + toy_targets()
    targets += contamination_targets() + diversity_targets()
    return targets


def all_targets():
    """Every study's outputs, the controls and the Findings table of their verdicts."""
    return study_targets() + control_targets() + ["results/findings.csv"]


# ---------------------------------------------------------------- the controls

# every study's summary reads its controls; the study files are included before
# rules/controls.smk, so these stay here

CONTROL_STUDIES = {name: study for name, (study, _) in CONTROL_REGISTRY.items()}


def study_controls(study):
    """The result files of the enabled controls of one study (its summary carries them)."""
    return [
        f"results/controls/{c}.json"
        for c in PLAN.control_names()
        if CONTROL_STUDIES[c] == study
    ]


def findings_inputs():
    """Every study summary the default target makes, and the controls' summary: the inputs
    of the Findings table."""
    return [
        t for t in study_targets() + control_targets() if t.endswith("summary.json")
    ]
