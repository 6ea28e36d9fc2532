# The GDE study (Jiang, Baek, Kolter, ICLR 2024, §6, App. F.8-F.9, Fig 5b): derived
# datasets (superclasses, blue-intensity groups), one ensemble per condition (the planner
# generates them), Tables 1-2 and Fig 5b.


rule superclass_dataset:
    input:
        train="resources/prepared/{base}/train.npz",
        test="resources/prepared/{base}/test.npz",
    output:
        train=f"resources/prepared/{SUPERCLASS_DATASET}/train.npz",
        test=f"resources/prepared/{SUPERCLASS_DATASET}/test.npz",
    log:
        f"results/logs/data/{SUPERCLASS_DATASET}.log",
    wildcard_constraints:
        base=DERIVABLE,
        k=r"\d+",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/superclass_dataset.py"


rule blue_group_dataset:
    input:
        unpack(synthetic_base_truth),
        train="resources/prepared/{base}/train.npz",
        test="resources/prepared/{base}/test.npz",
    output:
        train=f"resources/prepared/{BLUE_DATASET}/train.npz",
        test=f"resources/prepared/{BLUE_DATASET}/test.npz",
        thresholds=f"resources/prepared/{BLUE_DATASET}/blue_thresholds.json",
    log:
        f"results/logs/data/{BLUE_DATASET}.log",
    wildcard_constraints:
        base=DERIVABLE,
        group=r"\d+",
    conda:
        "../envs/data.yaml"
    params:
        n_groups=config["gde"]["blue_groups"],
    script:
        "../scripts/blue_group_dataset.py"


rule gde_tables:
    input:
        unpack(gde_condition_members),
        blue_groups=gde_blue_group_info,
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
