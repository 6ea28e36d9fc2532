# Training: one job per ensemble member (SPEC 3). The resumable state lives in
# results/<ensemble>/resume/, which is no declared output: Snakemake does not delete
# it when it reruns a killed job, so training continues from the last epoch.
#
# With train.pack.enabled, the members of ensembles no wider than train.pack.max_width
# train several to a job (train_pack, one grouped network) and unpack_member copies each
# member's files to where train_member would have written them; the ensemble wildcard's
# constraints give every member file exactly one of the two routes. A GPU job claims a
# slot of one GPU (featurelab.gpus, config key gpu).


localrules:
    unpack_member,


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
    wildcard_constraints:
        ensemble=UNPACKED_ENSEMBLE,
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
        fast=TRAIN_FAST,
        gpu=config["gpu"],
    script:
        "../scripts/train_member.py"


rule train_pack:
    input:
        train=prepared_train,
        test=prepared_test,
    output:
        directory("results/{ensemble}/packs/pack{pack}"),
    log:
        "results/logs/train/{ensemble}/pack{pack}.log",
    benchmark:
        "results/benchmarks/train/{ensemble}/pack{pack}.tsv"
    wildcard_constraints:
        ensemble=PACKED_ENSEMBLE,
        pack=r"\d+",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        members=pack_train_params,
        state="results/{ensemble}/resume/pack{pack}.state.pt",
        fast=TRAIN_FAST,
        gpu=config["gpu"],
    script:
        "../scripts/train_pack.py"


rule unpack_member:
    input:
        pack_of_member,
    output:
        model="results/{ensemble}/models/member{member}.pt",
        metrics="results/{ensemble}/models/member{member}.json",
        epochs=directory("results/{ensemble}/checkpoints/member{member}"),
    log:
        "results/logs/train/{ensemble}/member{member}.log",
    wildcard_constraints:
        ensemble=PACKED_ENSEMBLE,
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/unpack_member.py"


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
