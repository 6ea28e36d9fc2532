# The contamination study (Zhang et al., "Feature Contamination", ICML 2024;
# featurelab.contamination): one job trains every numerical run side by side, one reads the
# stages of the contamination ensemble's members (trained and at initialisation, on the
# test split and its background-shifted copy), one compares the networks trained on
# colour-padded images (cont_padded, trained by rules/train.smk) with their controls; the
# teachers (cont_teacher, on backgrounds of both ranges) train in the zoo, one job per seed
# distils a student from its teacher, one job reads teacher, student and plain member; one
# job draws the figures and states the findings.


# ---------------------------------------------------------------- inputs and targets


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


rule bgmix_dataset:
    # a synthetic world's training images, each with its background from the ID or the
    # shifted colour range (probability 1/2), and its test split
    output:
        train=f"resources/prepared/{BGMIX_DATASET}/train.npz",
        train_truth=f"resources/prepared/{BGMIX_DATASET}/train_truth.parquet",
        test=f"resources/prepared/{BGMIX_DATASET}/test.npz",
    log:
        f"results/logs/data/{BGMIX_DATASET}.log",
    wildcard_constraints:
        base="synthetic|synthetic_gde",
    conda:
        "../envs/data.yaml"
    params:
        world=bgmix_world,
    script:
        "../scripts/bgmix_dataset.py"


rule contamination_student:
    input:
        teacher=student_teacher,
        train=student_train_split,
    output:
        "results/contamination/students/s{seed}/model.pt",
    log:
        "results/logs/contamination/student_s{seed}.log",
    benchmark:
        "results/benchmarks/contamination/student_s{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=120,
    params:
        recipe=student_recipe(),
        device=config["device"],
        gpu=config["gpu"],
    script:
        "../scripts/contamination_student.py"


rule contamination_headline:
    input:
        unpack(contamination_headline_inputs),
    output:
        features="results/contamination/headline/features.npz",
        heads="results/contamination/headline/heads.csv",
    log:
        "results/logs/contamination/headline.log",
    benchmark:
        "results/benchmarks/contamination/headline.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        models=PLAN.headline_models(),
        seeds=PLAN.headline_seeds(),
        student_seeds=PLAN.student_seeds(),
        line=PLAN.headline_line_models(),
        device=config["device"],
    script:
        "../scripts/contamination_headline.py"


rule contamination_numerical:
    output:
        curves="results/contamination/numerical/curves.parquet",
        neurons="results/contamination/numerical/neurons.parquet",
        setting="results/contamination/numerical/setting.json",
    log:
        "results/logs/contamination/numerical.log",
    benchmark:
        "results/benchmarks/contamination/numerical.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        numerical=config["contamination"]["numerical"],
        runs=PLAN.contamination_runs(),
    script:
        "../scripts/contamination_numerical.py"


rule contamination_deep:
    input:
        unpack(contamination_deep_inputs),
    output:
        channels="results/contamination/deep/channels.parquet",
        accuracy="results/contamination/deep/accuracy.csv",
    log:
        "results/logs/contamination/deep.log",
    benchmark:
        "results/benchmarks/contamination/deep.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        models=PLAN.contamination_models(),
        splits=PLAN.contamination_splits(),
        eps=config["contamination"]["eps"],
        device=config["device"],
    script:
        "../scripts/contamination_deep.py"


rule contamination_padding:
    input:
        unpack(contamination_padding_inputs),
    output:
        measures="results/contamination/padding/measures.parquet",
        filters="results/contamination/padding/filters.npz",
    log:
        "results/logs/contamination/padding.log",
    benchmark:
        "results/benchmarks/contamination/padding.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        pairs=PLAN.padding_pairs(),
        padding=config["contamination"]["padding"],
        recipe=padding_recipe(),
        device=config["device"],
    script:
        "../scripts/contamination_padding.py"


rule contamination_report:
    input:
        unpack(contamination_report_inputs),
        controls=study_controls("contamination"),
    output:
        **contamination_report_outputs(),
    log:
        "results/logs/contamination/report.log",
    benchmark:
        "results/benchmarks/contamination/report.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        padding=config["contamination"]["padding"],
        recipe=padding_recipe(),
        student_seeds=PLAN.student_seeds(),
        probe_c=config["contamination"]["headline"]["probe_c"],
        thresholds=config["contamination"]["thresholds"],
        level=config["verdicts"]["level"],
    script:
        "../scripts/contamination_report.py"
