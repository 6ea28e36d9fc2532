# The toy setting of Duzgun, Jelassi, Li (2024, §4, App. C; featurelab.toy): one job per
# seed trains every width condition, each condition's networks side by side; one job draws
# Fig 5 and states whether the wide network keeps the multiplication vectors that the
# concatenations of narrow networks lose.


# ---------------------------------------------------------------- inputs and targets


def toy_targets():
    if not config["toy"]["enabled"]:
        return []
    return [
        "results/toy/fig5.png",
        "results/toy/learned.md",
        "results/toy/summary.json",
    ]


rule toy_seed:
    output:
        curves=expand(
            "results/toy/runs/{condition}/seed{{seed}}.npz", condition=PLAN.toy
        ),
        summaries=expand(
            "results/toy/runs/{condition}/seed{{seed}}.json", condition=PLAN.toy
        ),
    log:
        "results/logs/toy/seed{seed}.log",
    benchmark:
        "results/benchmarks/toy/seed{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        toy=config["toy"],
        conditions=PLAN.toy,
    script:
        "../scripts/toy_seed.py"


rule toy_figures:
    input:
        summaries=expand(
            "results/toy/runs/{condition}/seed{seed}.json",
            condition=PLAN.toy,
            seed=config["toy"]["seeds"],
        ),
        curves=expand(
            "results/toy/runs/{condition}/seed{seed}.npz",
            condition=PLAN.toy,
            seed=config["toy"]["seeds"],
        ),
    output:
        fig5=report(
            "results/toy/fig5.png",
            caption="../report/toy/fig5.rst",
            category="Toy",
            labels={"figure": "Fig 5"},
        ),
        fig5_csv="results/toy/fig5.csv",
        table=report(
            "results/toy/learned.csv",
            caption="../report/toy/learned.rst",
            category="Toy",
            labels={"table": "learned signal vectors"},
        ),
        table_md="results/toy/learned.md",
        summary=report(
            "results/toy/summary.json",
            caption="../report/toy/summary.rst",
            category="Toy",
            labels={"table": "finding 4.1"},
        ),
    log:
        "results/logs/toy/figures.log",
    benchmark:
        "results/benchmarks/toy/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        threshold=config["toy"]["threshold"],
        seed_share=config["toy"]["thresholds"]["seed_share"],
        level=config["verdicts"]["level"],
    script:
        "../scripts/toy_figures.py"
