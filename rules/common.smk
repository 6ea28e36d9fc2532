# Helpers and input functions of every rule file; no rules here. Every name, count and
# seed comes from the planner (featurelab.plan), which reads the validated config.

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


# ---------------------------------------------------------------- the interaction study

INTERACTION_PANELS = {
    "fig2b": "Fig 2b",
    "fig2c": "Fig 2c",
    "fig3a": "Fig 3a",
    "fig3b": "Fig 3b",
    "fig3c": "Fig 3c",
}
INTERACTION_MAIN = {
    "fig1": "Fig 1",
    "fig8": "Fig 8",
    "fig9": "Fig 9",
    "fig10": "Fig 10",
    "fig11": "Fig 11",
}


def interaction_variant_activations(wildcards):
    """The members' activation files of every variant, by variant."""
    return {v: PLAN.variant_files(wildcards.ensemble, v) for v in PLAN.panel_variants()}


def interaction_variant_settings(wildcards):
    return {v: PLAN.variant_settings(v) for v in PLAN.panel_variants()}


def interaction_main_settings(wildcards):
    return PLAN.variant_settings("main")


def interaction_figure_inputs(wildcards):
    """Every variant's tensor bundle, the images of the split, and the ground-truth summary
    on a synthetic world."""
    root = f"results/interaction/{wildcards.ensemble}"
    inputs = {f"{v}__tensor": f"{root}/{v}/tensor.npz" for v in PLAN.panel_variants()}
    inputs.update(
        {f"{v}__omega": f"{root}/{v}/omega.parquet" for v in PLAN.panel_variants()}
    )
    inputs["split"] = interaction_split(wildcards)
    if PLAN.has_truth(wildcards.ensemble):
        inputs["truth"] = f"{root}/ground_truth.json"
    return inputs


def interaction_figure_outputs():
    """Figs 2b-3c and the observations of every variant, Figs 1 and 8-11 of the main one."""
    root = "results/interaction/{ensemble}"
    out = {}
    for v in PLAN.panel_variants():
        for fig, label in INTERACTION_PANELS.items():
            out[f"{v}__{fig}"] = report(
                f"{root}/{v}/{fig}.png",
                caption=f"../report/interaction/{fig}.rst",
                category="Interaction",
                subcategory=f"{{ensemble}}: {v}",
                labels={"figure": label},
            )
            out[f"{v}__{fig}_csv"] = f"{root}/{v}/{fig}.csv"
        out[f"{v}__observations"] = f"{root}/{v}/observations.json"
    for fig, label in INTERACTION_MAIN.items():
        out[f"main__{fig}"] = report(
            f"{root}/main/{fig}.png",
            caption=f"../report/interaction/{fig}.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": label},
        )
        out[f"main__{fig}_csv"] = f"{root}/main/{fig}.csv"
    return out


def ensemble_epoch_folders(wildcards):
    """The per-epoch activations of every member (Fig 2a)."""
    return [f"results/zoo/{m}/epochs" for m in PLAN.ensemble_models(wildcards.ensemble)]


def ensemble_epochs(wildcards):
    return sorted(config["interaction"]["epochs"].get(wildcards.ensemble, []))


def interaction_split(wildcards):
    """The prepared split the ensemble's tensor was computed on (its images)."""
    dataset = PLAN.dataset_of(wildcards.ensemble)
    return f"resources/prepared/{dataset}/{PLAN.interaction['split']}.npz"


def synthetic_truth(wildcards):
    """The world and the ground truth of the split, for ensembles on a synthetic world."""
    dataset = PLAN.dataset_of(wildcards.ensemble)
    if dataset not in ("synthetic", "synthetic_gde"):
        raise WorkflowError(f"{wildcards.ensemble} is not trained on a synthetic world")
    return {
        "truth": f"resources/prepared/{dataset}/{PLAN.interaction['split']}_truth.parquet",
        "world": f"resources/prepared/{dataset}/world.json",
    }


# ---------------------------------------------------------------- the GDE study


def gde_condition_members(wildcards):
    """Test-split penultimate activations of every member of each condition."""
    return {
        name: PLAN.activation_files(name, "penultimate", "test")
        for name in PLAN.gde_conditions()
    }


def gde_blue_group_info(wildcards):
    """Each blue group's thresholds (and, on a synthetic world, its mean rare pool)."""
    return [
        f"resources/prepared/{d}/blue_thresholds.json" for d in PLAN.gde_blue_datasets()
    ]


def gde_dataset_outputs():
    """The files of every derived dataset of the GDE study, as patterns of its base."""
    out = []
    for k in PLAN.gde_superclass_counts():
        name = SUPERCLASS_DATASET.format(base="{base}", k=k)
        out += [f"resources/prepared/{name}/{s}.npz" for s in ("train", "test")]
    for g in range(1, config["gde"]["blue_groups"] + 1):
        name = BLUE_DATASET.format(base="{base}", group=g)
        out += [
            f"resources/prepared/{name}/{f}"
            for f in ("train.npz", "test.npz", "blue_thresholds.json")
        ]
    return out


def gde_fraction_metrics(wildcards):
    return {name: PLAN.metrics_files(name) for name in PLAN.gde_fractions()}


# ---------------------------------------------------------------- the width study


def width_measure_inputs(wildcards):
    """Per state, the features of the base (``<state>__a1``) and of every α = 1/k (``<state>__a<k>``)."""
    return {
        f"{state}__a{k}": PLAN.feature_files(
            PLAN.width_pair(wildcards.arch, k)["narrow"].name, state
        )
        for state in PLAN.width_states()
        for k in PLAN.width_denominators()
    }


def width_measure_counts(wildcards):
    """N_f and N_p of every α = 1/k < 1 of the architecture."""
    counts = {}
    for k in PLAN.width_denominators()[1:]:
        info = PLAN.width_pair(wildcards.arch, k)["narrow"].info
        counts[k] = {"n_f": info["n_f"], "n_p": info["n_p"]}
    return counts


def width_report_inputs(wildcards):
    """Per architecture, its measurements and its members' metrics."""
    inputs = {}
    for arch in config["width"]["archs"]:
        inputs[f"{arch}__measurements"] = f"results/width/{arch}/measurements.csv"
        inputs[f"{arch}__metrics"] = [
            f
            for e in PLAN.width.values()
            if e.info["arch"] == arch
            for f in PLAN.metrics_files(e.name)
        ]
    return inputs


#: The width study's figures: (FSG of the trained networks, reverse, FP, residuals; FSG and
#: reverse at initialisation) and their labels in the report.
WIDTH_FIGURES = {
    "fig1": "Fig 1: FSG",
    "fig2": "Fig 2: reverse FSG",
    "fig3": "Fig 3: FP",
    "fig4": "Fig 4: residuals",
}
WIDTH_INIT_FIGURES = (
    {"fig7": "Fig 7: FSG at init", "fig8": "Fig 8: reverse FSG at init"}
    if config["width"]["random_init"]
    else {}
)
WIDTH_TABLES = {
    "shuffled_regression": "Tables 4-5: shuffled regression",
    "accuracy": "Table 2: accuracy",
}


def width_report_outputs():
    """Per architecture: Figs 1-4 (and 7-8), Tables 2 and 4-5, the aggregate and the findings."""
    out = {}
    for arch in config["width"]["archs"]:
        root = f"results/width/{arch}"
        for fig, label in {**WIDTH_FIGURES, **WIDTH_INIT_FIGURES}.items():
            out[f"{arch}__{fig}"] = report(
                f"{root}/{fig}.png",
                caption=f"../report/width/{fig}.rst",
                category="Width",
                subcategory=arch,
                labels={"figure": label},
            )
            out[f"{arch}__{fig}_csv"] = f"{root}/{fig}.csv"
        for table, label in WIDTH_TABLES.items():
            out[f"{arch}__{table}"] = report(
                f"{root}/{table}.csv",
                caption=f"../report/width/{table}.rst",
                category="Width",
                subcategory=arch,
                labels={"table": label},
            )
            out[f"{arch}__{table}_md"] = f"{root}/{table}.md"
        out[f"{arch}__aggregate"] = f"{root}/aggregate.csv"
        out[f"{arch}__findings"] = f"{root}/findings.json"
    return out


# ---------------------------------------------------------------- the contamination study


def contamination_deep_inputs(wildcards):
    """The members' weights and the prepared splits the deep measures run on."""
    c = config["contamination"]
    inputs = {m: f"results/zoo/{m}/model.pt" for m in PLAN.contamination_models()}
    dataset = PLAN.ensembles[c["ensemble"]].dataset
    inputs.update(
        {
            f"split__{s}": f"resources/prepared/{dataset}/{s}.npz"
            for s in PLAN.contamination_splits()
        }
    )
    return inputs


def contamination_padding_inputs(wildcards):
    """The padded networks, their controls and the test split."""
    pairs = PLAN.padding_pairs()
    inputs = {
        f"{kind}__{i}": f"results/zoo/{m}/model.pt"
        for kind, models in pairs.items()
        for i, m in enumerate(models)
    }
    dataset = PLAN.ensembles[config["contamination"]["ensemble"]].dataset
    inputs["test"] = f"resources/prepared/{dataset}/test.npz"
    return inputs


def bgmix_world(wildcards):
    return world_of(config, wildcards.base)


def student_teacher(wildcards):
    return f"results/zoo/{PLAN.teacher_of_student(wildcards.seed)}/model.pt"


def student_train_split(wildcards):
    """The ID training split of the contamination ensemble's world (no shifted backgrounds)."""
    dataset = PLAN.ensembles[config["contamination"]["ensemble"]].dataset
    return f"resources/prepared/{dataset}/train.npz"


def student_recipe():
    """The ensemble's recipe with the students' epochs."""
    c = config["contamination"]
    if not c["enabled"]:
        return {}
    recipe = dict(config["recipes"][config["ensembles"][c["ensemble"]]["recipe"]])
    if c["headline"]["student_epochs"]:
        recipe["max_epochs"] = c["headline"]["student_epochs"]
    return recipe


def contamination_headline_inputs(wildcards):
    """Teachers, students and plain members of every seed; the ID train, test and shifted splits."""
    models = PLAN.headline_models()
    inputs = {
        f"{kind}__{i}": f"results/zoo/{m}/model.pt"
        for kind in ("teacher", "plain")
        for i, m in enumerate(models[kind])
    }
    inputs.update(
        {
            f"student__{i}": f"results/contamination/students/s{seed}/model.pt"
            for i, seed in enumerate(PLAN.student_seeds())
        }
    )
    inputs.update(
        {
            f"line__{m}": f"results/zoo/{m}/checkpoints"
            for m in PLAN.headline_line_models()
        }
    )
    dataset = PLAN.ensembles[config["contamination"]["ensemble"]].dataset
    inputs.update(
        {
            s: f"resources/prepared/{dataset}/{s}.npz"
            for s in ("train", "test", "shifted")
        }
    )
    return inputs


def padding_recipe():
    c = config["contamination"]
    if not (c["enabled"] and c["padding"]["enabled"]):
        return {}
    return config["recipes"][c["padding"]["recipe"]]


#: The contamination study's figures and their labels in the report.
CONTAMINATION_NUMERICAL = {
    "fig3": "Fig 3: risks and projections",
    "fig7": "Fig 7: activation asymmetry",
    "fig8": "Fig 8: ReLU against linear",
    "fig9": "Fig 9: regression",
    "fig10": "Fig 10: activations",
}
CONTAMINATION_DEEP = {
    "fig4": "Figs 4, 11: activation rates",
    "fig5": "Fig 5: selectivity",
    "fig15": "Fig 15: mean activations",
}
CONTAMINATION_HEADLINE = {"fig1": "Fig 1: teacher, student, plain"}
CONTAMINATION_PADDING = {
    "fig13": "Figs 6c, 13: padded networks",
    "fig13_filters": "Fig 13: visualised channels",
}


def contamination_report_inputs(wildcards):
    inputs = {"curves": "results/contamination/numerical/curves.parquet"}
    inputs["neurons"] = "results/contamination/numerical/neurons.parquet"
    inputs["setting"] = "results/contamination/numerical/setting.json"
    if PLAN.contamination_models():
        inputs["channels"] = "results/contamination/deep/channels.parquet"
        inputs["accuracy"] = "results/contamination/deep/accuracy.csv"
    if PLAN.headline_models():
        inputs["features"] = "results/contamination/headline/features.npz"
        inputs["heads"] = "results/contamination/headline/heads.csv"
    if PLAN.padding_pairs():
        inputs["padding"] = "results/contamination/padding/measures.parquet"
        inputs["filters"] = "results/contamination/padding/filters.npz"
    return inputs


def contamination_figures():
    figs = dict(CONTAMINATION_NUMERICAL)
    runs = {r["task"] for r in PLAN.contamination_runs()}
    for fig, task in (("fig9", "regression"), ("fig10", "spheres")):
        if task not in runs:
            figs.pop(fig)
    if PLAN.contamination_models():
        figs.update(CONTAMINATION_DEEP)
    if PLAN.headline_models():
        figs.update(CONTAMINATION_HEADLINE)
    if PLAN.padding_pairs():
        figs.update(CONTAMINATION_PADDING)
    return figs


def contamination_report_outputs():
    out = {}
    for fig, label in contamination_figures().items():
        out[fig] = report(
            f"results/contamination/{fig}.png",
            caption=f"../report/contamination/{fig}.rst",
            category="Contamination",
            labels={"figure": label},
        )
        out[f"{fig}_csv"] = f"results/contamination/{fig}.csv"
    out["summary"] = report(
        "results/contamination/summary.json",
        caption="../report/contamination/summary.rst",
        category="Contamination",
        labels={"table": "findings"},
    )
    return out


def contamination_targets():
    if not config["contamination"]["enabled"]:
        return []
    return [
        "results/contamination/summary.json",
        *(f"results/contamination/{fig}.png" for fig in contamination_figures()),
    ]


# ---------------------------------------------------------------- the diversity study


def diversity_world_params(wildcards):
    """A Dataset-category world of the diversity study (diversity.worlds)."""
    return diversity_world(config, wildcards.name)


def diversity_eval_inputs(wildcards):
    """The test split the held-out and test points are cut from (a public or the user's
    dataset); nothing for a synthetic base world, whose points are a fresh draw."""
    if not PLAN.diversity or diversity_eval_world(config) is not None:
        return {}
    return {"source": f"resources/prepared/{diversity_base_dataset(config)}/test.npz"}


def diversity_output_inputs(wildcards):
    """The trained models of one of the study's ensembles, and the held-out and test points."""
    files = PLAN.diversity_eval_files()
    inputs = {
        m: f"results/zoo/{m}/model.pt" for m in PLAN.ensemble_models(wildcards.ensemble)
    }
    return {**inputs, "val": files["val"], "test": files["test"]}


def diversity_ensemble_models(wildcards):
    return PLAN.ensemble_models(wildcards.ensemble)


def diversity_analysis_inputs(wildcards):
    inputs = {e: f"results/diversity/outputs/{e}" for e in PLAN.diversity}
    for m in PLAN.diversity_models():
        inputs[f"{m}__metrics"] = f"results/zoo/{m}/metrics.json"
    files = PLAN.diversity_eval_files()
    inputs.update({k: v for k, v in files.items() if k.endswith("_truth")})
    inputs.update(PLAN.diversity_external_files())
    return inputs


#: The diversity study's tables (results/diversity/<name>.csv).
DIVERSITY_TABLES = (
    "pool",
    "pairs",
    "categories",
    "angles",
    "subgroups",
    "greedy",
    "overlap",
    "compression",
    "transfer",
    "similarity",
)
#: The diversity study's figures and their labels in the report.
DIVERSITY_FIGURES = {
    "fig1": "Fig 1: error inconsistency",
    "fig2": "Fig 2: ensemble gain and conversion",
    "fig3": "Fig 3: specialisation angle",
    "fig4": "Fig 4: specialisation by subgroup",
    "fig5": "Fig 5: greedy ensembling",
    "fig6": "Fig 6: feature overlap and compression",
    "bridge": "Shared features and CKA against error inconsistency",
}


def diversity_report_outputs():
    out = {}
    for fig, label in DIVERSITY_FIGURES.items():
        out[fig] = report(
            f"results/diversity/{fig}.png",
            caption=f"../report/diversity/{fig}.rst",
            category="Diversity",
            labels={"figure": label},
        )
        out[f"{fig}_csv"] = f"results/diversity/{fig}.csv"
    return out


def diversity_targets():
    if not PLAN.diversity:
        return []
    return [
        "results/diversity/summary.json",
        *(f"results/diversity/{fig}.png" for fig in DIVERSITY_FIGURES),
    ]


# ---------------------------------------------------------------- targets


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

# the named worlds the enabled controls train on, and the worlds derived from them
CONTROL_WORLD_NAMES = [d[len("synthetic__ctl") :] for d in control_datasets(config)]
CONTROL_DERIVED = PLAN.control_derived()
CONTROL_STUDIES = {name: study for name, (study, _) in CONTROL_REGISTRY.items()}


def control_derived_outputs(dataset, derived):
    files = ["train.npz", "test.npz"]
    if derived["kind"] == "blue":
        files.append("blue_thresholds.json")
    return {f.split(".")[0]: f"resources/prepared/{dataset}/{f}" for f in files}


def control_inputs(wildcards):
    return PLAN.control_inputs(wildcards.control)


def study_controls(study):
    """The result files of the enabled controls of one study (its summary carries them)."""
    return [
        f"results/controls/{c}.json"
        for c in PLAN.control_names()
        if CONTROL_STUDIES[c] == study
    ]


def control_targets():
    if not PLAN.control_names():
        return []
    return ["results/controls/summary.json"]


def findings_inputs():
    """Every study summary the default target makes, and the controls' summary: the inputs
    of the Findings table."""
    return [
        t for t in study_targets() + control_targets() if t.endswith("summary.json")
    ]


def interaction_targets(name):
    root = f"results/interaction/{name}"
    targets = [f"{root}/summary.json"]
    targets += expand(
        "{root}/{variant}/{fig}.png",
        root=root,
        variant=PLAN.panel_variants(),
        fig=INTERACTION_PANELS,
    )
    targets += expand("{root}/main/{fig}.png", root=root, fig=INTERACTION_MAIN)
    if PLAN.epoch_variants(name):
        targets.append(f"{root}/fig2a.png")
    if PLAN.has_truth(name):
        targets.append(f"{root}/ground_truth.png")
    return targets


def gde_targets():
    targets = []
    if PLAN.gde_conditions():
        targets += [
            "results/gde/table1.csv",
            "results/gde/accuracy_vs_agreement.png",
            "results/gde/calibration.png",
            "results/gde/summary.json",
        ]
    if PLAN.gde_fractions():
        targets.append("results/gde/fig5b.png")
    targets += [f"results/gde/external/{n}.json" for n in PLAN.gde_external()]
    return targets


def width_targets():
    if not PLAN.width:
        return ["results/width/external/summary.json"] if PLAN.width_external() else []
    targets = [
        "results/width/member_counts.csv",
        "results/width/summary.json",
        "results/width/table3.csv",
    ]
    for arch in config["width"]["archs"]:
        targets += expand(
            "results/width/{arch}/{fig}.png",
            arch=arch,
            fig=[*WIDTH_FIGURES, *WIDTH_INIT_FIGURES],
        )
        targets += [
            f"results/width/{arch}/shuffled_regression.csv",
            f"results/width/{arch}/accuracy.csv",
        ]
    if PLAN.width_external():
        targets.append("results/width/external/summary.json")
    return targets


def toy_targets():
    if not config["toy"]["enabled"]:
        return []
    return [
        "results/toy/fig5.png",
        "results/toy/learned.md",
        "results/toy/summary.json",
    ]
