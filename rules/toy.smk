# The toy setting of paper 002 (§4, App. C; featurelab.toy): one job per width condition
# and seed trains all the condition's networks side by side; one job draws Fig 5 and
# states whether the wide network keeps the multiplication vectors that the
# concatenations of narrow networks lose.

from featurelab.config import toy_conditions

TOY = config["toy"]
TOY_CONDITIONS = toy_conditions(config)


# What the default target (rule all) takes from this study. A lambda, not a def: the
# linter wants functions in rules/common.smk, and this one belongs to the toy setting.
toy_targets = lambda: (
    [
        "results/toy/fig5.png",
        "results/toy/learned.md",
        "results/toy/summary.json",
    ]
    if TOY["enabled"]
    else []
)


rule toy_condition:
    output:
        curves="results/toy/runs/{condition}/seed{seed}.npz",
        summary="results/toy/runs/{condition}/seed{seed}.json",
    log:
        "results/logs/toy/{condition}_seed{seed}.log",
    benchmark:
        "results/benchmarks/toy/{condition}_seed{seed}.tsv"
    wildcard_constraints:
        condition="|".join(TOY_CONDITIONS) or "w0x0",
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        toy=TOY,
        condition=lambda wildcards: TOY_CONDITIONS[wildcards.condition],
    script:
        "../scripts/toy_condition.py"


rule toy_figures:
    input:
        summaries=expand(
            "results/toy/runs/{condition}/seed{seed}.json",
            condition=TOY_CONDITIONS,
            seed=TOY["seeds"],
        ),
        curves=expand(
            "results/toy/runs/{condition}/seed{seed}.npz",
            condition=TOY_CONDITIONS,
            seed=TOY["seeds"],
        ),
    output:
        fig5=report(
            "results/toy/fig5.png",
            caption="../report/toy/fig5.rst",
            category="Toy setting",
            labels={"figure": "Fig 5 (paper 002)"},
        ),
        fig5_csv="results/toy/fig5.csv",
        table=report(
            "results/toy/learned.csv",
            caption="../report/toy/learned.rst",
            category="Toy setting",
            labels={"table": "learned signal vectors"},
        ),
        table_md="results/toy/learned.md",
        summary=report(
            "results/toy/summary.json",
            caption="../report/toy/summary.rst",
            category="Toy setting",
            labels={"table": "finding 4.1"},
        ),
    log:
        "results/logs/toy/figures.log",
    benchmark:
        "results/benchmarks/toy/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        threshold=TOY["threshold"],
    script:
        "../scripts/toy_figures.py"
