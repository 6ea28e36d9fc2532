# The contamination study (Zhang et al., "Feature Contamination", ICML 2024;
# featurelab.contamination): one job trains every numerical run side by side, one reads the
# stages of the contamination ensemble's members (trained and at initialisation, on the
# test split and its background-shifted copy), one compares the networks trained on
# colour-padded images (cont_padded, trained by rules/train.smk) with their controls, and
# one draws the figures and states the findings.


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
    threads: 2
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
    script:
        "../scripts/contamination_report.py"
