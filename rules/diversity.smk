# The diversity study (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation to Rule Them
# All", ICLR 2022; featurelab.diversity): a pool of models in categories of growing
# divergence from one base model, drawn from the model zoo (a model another study trains
# is not trained again). Every pool model is run once over the study's held-out and test
# splits (logits and penultimate features); one job computes every pairwise measure, the
# greedy ensembles, the probes and the similarity bridge, and one draws the figures.


# ---------------------------------------------------------------- inputs and targets


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


rule diversity_world:
    # a Dataset-category world: the base world's classes, data collected differently
    output:
        train=f"resources/prepared/{WORLD_DATASET}/train.npz",
        test=f"resources/prepared/{WORLD_DATASET}/test.npz",
        train_truth=f"resources/prepared/{WORLD_DATASET}/train_truth.parquet",
        test_truth=f"resources/prepared/{WORLD_DATASET}/test_truth.parquet",
        world=f"resources/prepared/{WORLD_DATASET}/world.json",
    log:
        f"results/logs/data/{WORLD_DATASET}.log",
    wildcard_constraints:
        base="synthetic|synthetic_gde",
        name="[a-z][a-z0-9]*",
    conda:
        "../envs/data.yaml"
    params:
        world=diversity_world_params,
    script:
        "../scripts/synthetic_world.py"


rule diversity_eval:
    # the held-out and test points every pool model is evaluated on
    input:
        unpack(diversity_eval_inputs),
    output:
        **PLAN.diversity_eval_files(),
    log:
        "results/logs/diversity/eval.log",
    conda:
        "../envs/data.yaml"
    params:
        world=diversity_eval_world(config),
        heldout=config["diversity"]["heldout"],
        seed=config["diversity"]["seed"],
    script:
        "../scripts/diversity_eval.py"


rule diversity_outputs:
    # the logits and penultimate features of every model of one of the study's ensembles
    # (div_<category>) on the held-out and test points: <ensemble>/<model>/penultimate/{val,test}.parquet
    input:
        unpack(diversity_output_inputs),
    output:
        directory("results/diversity/outputs/{ensemble}"),
    log:
        "results/logs/diversity/outputs/{ensemble}.log",
    benchmark:
        "results/benchmarks/diversity/outputs/{ensemble}.tsv"
    wildcard_constraints:
        ensemble="div_[a-z]+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        models=diversity_ensemble_models,
        device=config["device"],
        batch_size=config["extract"]["batch_size"],
    script:
        "../scripts/diversity_outputs.py"


rule diversity_analysis:
    input:
        unpack(diversity_analysis_inputs),
        controls=study_controls("diversity"),
    output:
        **{t: f"results/diversity/{t}.csv" for t in DIVERSITY_TABLES},
        summary="results/diversity/summary.json",
    log:
        "results/logs/diversity/analysis.log",
    benchmark:
        "results/benchmarks/diversity/analysis.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        pool=PLAN.diversity_pool(),
        settings=config["diversity"],
        greedy_start=PLAN.diversity_greedy_start(),
        external_metrics=PLAN.diversity_external_metrics(),
        rule=PLAN.diversity_rule() if PLAN.diversity else None,
        level=config["verdicts"]["level"],
    script:
        "../scripts/diversity_analysis.py"


rule diversity_figures:
    input:
        **{t: f"results/diversity/{t}.csv" for t in DIVERSITY_TABLES},
        summary="results/diversity/summary.json",
    output:
        **diversity_report_outputs(),
    log:
        "results/logs/diversity/figures.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/diversity_figures.py"
