# Training: one job per ensemble member (SPEC 3). The resumable state lives in
# results/<ensemble>/resume/, which is no declared output: Snakemake does not delete
# it when it reruns a killed job, so training continues from the last epoch.


rule train_member:
    input:
        train=prepared_train,
        test=prepared_test,
    output:
        model="results/{ensemble}/models/member{member}.pt",
        metrics="results/{ensemble}/models/member{member}.json",
        epochs=directory("results/{ensemble}/checkpoints/member{member}"),
    log:
        "results/logs/train/{ensemble}/member{member}.log",
    benchmark:
        "results/benchmarks/train/{ensemble}/member{member}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        train=train_params,
        state="results/{ensemble}/resume/member{member}.state.pt",
    script:
        "../scripts/train_member.py"


rule training_summary:
    input:
        member_models,
    output:
        table=report(
            "results/{ensemble}/training_summary.csv",
            caption="../report/training_summary.rst",
            category="Training",
            subcategory="{ensemble}",
        ),
        figure=report(
            "results/{ensemble}/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{ensemble}",
        ),
    log:
        "results/logs/train/{ensemble}/summary.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/training_summary.py"
