# The GDE study (Jiang, Baek, Kolter, ICLR 2024, §6, App. F.8-F.9, Fig 5b): derived
# datasets (superclasses, blue-intensity groups), one ensemble per condition (the planner
# generates them), Tables 1-2 and Fig 5b.


# ---------------------------------------------------------------- inputs and targets


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


if PLAN.gde_derived_datasets():

    rule gde_datasets:
        # every derived dataset of the study in one job: labels merged into superclasses
        # (App. F.8) and the blue-intensity groups (App. F.9), cut on the base's training split
        input:
            unpack(synthetic_base_truth),
            train="resources/prepared/{base}/train.npz",
            test="resources/prepared/{base}/test.npz",
        output:
            gde_dataset_outputs(),
        log:
            "results/logs/data/{base}__gde.log",
        wildcard_constraints:
            base=DERIVABLE,
        conda:
            "../envs/data.yaml"
        params:
            superclasses=PLAN.gde_superclass_counts(),
            n_groups=config["gde"]["blue_groups"],
        script:
            "../scripts/gde_datasets.py"


rule gde_tables:
    input:
        unpack(gde_condition_members),
        controls=study_controls("gde"),
        blue_groups=gde_blue_group_info,
        external=[f"results/gde/external/{n}.json" for n in PLAN.gde_external()],
    output:
        table=report(
            "results/gde/table1.csv",
            caption="../report/gde/table1.rst",
            category="GDE",
            labels={"table": "Tables 1-2"},
        ),
        markdown="results/gde/table1.md",
        latex="results/gde/table1.tex",
        figure=report(
            "results/gde/accuracy_vs_agreement.png",
            caption="../report/gde/accuracy_vs_agreement.rst",
            category="GDE",
            labels={"figure": "accuracy vs agreement"},
        ),
        figure_csv="results/gde/accuracy_vs_agreement.csv",
        calibration=report(
            "results/gde/calibration.png",
            caption="../report/gde/calibration.rst",
            category="GDE",
            labels={"figure": "calibration"},
        ),
        calibration_csv="results/gde/calibration.csv",
        summary="results/gde/summary.json",
    log:
        "results/logs/gde/tables.log",
    conda:
        "../envs/analysis.yaml"
    params:
        conditions=PLAN.gde_conditions(),
        level=config["verdicts"]["level"],
    script:
        "../scripts/gde_tables.py"


rule gde_fractions:
    input:
        unpack(gde_fraction_metrics),
    output:
        figure=report(
            "results/gde/fig5b.png",
            caption="../report/gde/fig5b.rst",
            category="GDE",
            labels={"figure": "Fig 5b"},
        ),
        table="results/gde/fig5b.csv",
    log:
        "results/logs/gde/fig5b.log",
    conda:
        "../envs/analysis.yaml"
    params:
        fractions=PLAN.gde_fractions(),
    script:
        "../scripts/gde_fractions.py"


if PLAN.gde_external():

    rule gde_external:
        # the base-condition measure on an external set's test-split logits (gde.external):
        # the interventions retrain their members, which a set trained elsewhere cannot give
        input:
            lambda wildcards: PLAN.gde_external_files(wildcards.name),
        output:
            summary="results/gde/external/{name}.json",
            calibration="results/gde/external/{name}_calibration.csv",
        log:
            "results/logs/gde/external/{name}.log",
        wildcard_constraints:
            name="|".join(PLAN.gde_external()),
        conda:
            "../envs/analysis.yaml"
        params:
            tolerance=lambda wildcards: PLAN.gde_external()[wildcards.name]["tolerance"],
            level=config["verdicts"]["level"],
        script:
            "../scripts/gde_external.py"
