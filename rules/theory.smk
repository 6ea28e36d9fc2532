# The theory study (Jiang, Baek, Kolter, ICLR 2024, §5, App. B-C, F.7): closed forms, their
# Monte Carlo check, and theory against the experiment of each interaction ensemble.


rule theory_figures:
    output:
        fig4=report(
            "results/theory/fig4.png",
            caption="../report/theory/fig4.rst",
            category="Theory",
            labels={"figure": "Fig 4"},
        ),
        fig4_csv="results/theory/fig4.csv",
        fig4_sim="results/theory/fig4_simulated.csv",
        fig16=report(
            "results/theory/fig16.png",
            caption="../report/theory/fig16.rst",
            category="Theory",
            labels={"figure": "Fig 16"},
        ),
        fig16_csv="results/theory/fig16.csv",
        fig5a=report(
            "results/theory/fig5a.png",
            caption="../report/theory/fig5a.rst",
            category="Theory",
            labels={"figure": "Fig 5a"},
        ),
        fig5a_csv="results/theory/fig5a.csv",
    log:
        "results/logs/theory/figures.log",
    benchmark:
        "results/benchmarks/theory/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        pairs=config["theory"]["simulate_pairs"],
        seed=config["theory"]["seed"],
    script:
        "../scripts/theory_figures.py"


rule theory_vs_experiment:
    input:
        tensor="results/interaction/{ensemble}/main/tensor.npz",
        omega="results/interaction/{ensemble}/main/omega.parquet",
        info="results/interaction/{ensemble}/main/tensor.json",
    output:
        table=report(
            "results/theory/{ensemble}/theory_vs_experiment.csv",
            caption="../report/theory/theory_vs_experiment.rst",
            category="Theory",
            subcategory="{ensemble}",
        ),
        figure=report(
            "results/theory/{ensemble}/theory_vs_experiment.png",
            caption="../report/theory/theory_vs_experiment.rst",
            category="Theory",
            subcategory="{ensemble}",
        ),
        estimates="results/theory/{ensemble}/estimates.json",
    log:
        "results/logs/theory/{ensemble}/vs_experiment.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/theory_vs_experiment.py"


rule theory_truth_scores:
    input:
        unpack(synthetic_truth),
        estimates="results/theory/{ensemble}/estimates.json",
    output:
        report(
            "results/theory/{ensemble}/estimates_vs_truth.csv",
            caption="../report/theory/estimates_vs_truth.rst",
            category="Theory",
            subcategory="{ensemble}",
        ),
    log:
        "results/logs/theory/{ensemble}/truth_scores.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/theory_truth_scores.py"
