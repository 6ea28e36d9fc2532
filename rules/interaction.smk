# The interaction study (Jiang, Baek, Kolter, ICLR 2024, §3-4, App. E-F): per ensemble, one
# job builds Ω for every variant (main, sensitivity settings, depths), one draws every
# figure and writes the summary, one scores the features against the synthetic world's
# truth, and one follows Ω over the training epochs (Fig 2a).


# ---------------------------------------------------------------- inputs and targets

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


rule interaction_tensors:
    input:
        unpack(interaction_variant_activations),
    output:
        expand(
            "results/interaction/{{ensemble}}/{variant}/{file}",
            variant=PLAN.panel_variants(),
            file=["omega.parquet", "tensor.npz", "tensor.json"],
        ),
    log:
        "results/logs/interaction/{ensemble}/tensors.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/tensors.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        settings=interaction_variant_settings,
    script:
        "../scripts/interaction_tensors.py"


rule interaction_figures:
    input:
        unpack(interaction_figure_inputs),
        controls=study_controls("interaction"),
    output:
        **interaction_figure_outputs(),
        summary="results/interaction/{ensemble}/summary.json",
    log:
        "results/logs/interaction/{ensemble}/figures.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        variants=PLAN.panel_variants(),
        shared_error=config["interaction"]["shared_error"],
        high_confidence=config["interaction"]["high_confidence"],
        per_class=config["interaction"]["fig1_per_class"],
        thresholds=config["interaction"]["thresholds"],
        verdicts=config["verdicts"],
    script:
        "../scripts/interaction_figures.py"


rule interaction_ground_truth:
    input:
        unpack(synthetic_truth),
        tensor="results/interaction/{ensemble}/main/tensor.npz",
    output:
        figure=report(
            "results/interaction/{ensemble}/ground_truth.png",
            caption="../report/interaction/ground_truth.rst",
            category="Interaction",
            subcategory="{ensemble}: ground truth",
            labels={"figure": "recovery"},
        ),
        table="results/interaction/{ensemble}/ground_truth.csv",
        summary="results/interaction/{ensemble}/ground_truth.json",
    log:
        "results/logs/interaction/{ensemble}/ground_truth.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_ground_truth.py"


rule interaction_epochs:
    input:
        model_epochs=ensemble_epoch_folders,
    output:
        figure=report(
            "results/interaction/{ensemble}/fig2a.png",
            caption="../report/interaction/fig2a.rst",
            category="Interaction",
            subcategory="{ensemble}: over training",
            labels={"figure": "Fig 2a"},
        ),
        table="results/interaction/{ensemble}/fig2a.csv",
        tensors=directory("results/interaction/{ensemble}/epochs"),
    log:
        "results/logs/interaction/{ensemble}/epochs.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/epochs.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        epochs=ensemble_epochs,
        settings=interaction_main_settings,
    script:
        "../scripts/interaction_epochs.py"
