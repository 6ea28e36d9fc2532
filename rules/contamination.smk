# The contamination study (Zhang et al., "Feature Contamination", ICML 2024;
# featurelab.contamination): one job trains every numerical run side by side, one reads the
# stages of the contamination ensemble's members (trained and at initialisation, on the
# test split and its background-shifted copy), one compares the networks trained on
# colour-padded images (cont_padded, trained by rules/train.smk) with their controls; the
# teachers (cont_teacher, on backgrounds of both ranges) train in the zoo, one job per seed
# distils a student from its teacher, one job reads teacher, student and plain member; one
# job draws the figures and states the findings.


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
