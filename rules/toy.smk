# The toy setting of Duzgun, Jelassi, Li (2024, §4, App. C; featurelab.toy): one job per
# width condition and seed trains all the condition's networks side by side; one job draws
# Fig 5 and states whether the wide network keeps the multiplication vectors that the
# concatenations of narrow networks lose.


rule toy_condition:
    output:
        curves="results/toy/runs/{condition}/seed{seed}.npz",
        summary="results/toy/runs/{condition}/seed{seed}.json",
    log:
        "results/logs/toy/{condition}_seed{seed}.log",
    benchmark:
        "results/benchmarks/toy/{condition}_seed{seed}.tsv"
    wildcard_constraints:
        condition="|".join(PLAN.toy) or "w0x0",
        seed=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        toy=config["toy"],
        condition=toy_condition,
    script:
        "../scripts/toy_condition.py"


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
    script:
        "../scripts/toy_figures.py"
