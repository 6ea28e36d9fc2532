# Training: the model zoo, one job per model (featurelab.plan.Model: dataset, architecture,
# width, recipe, subset and seed; a model two ensembles share trains once). Its files are
# results/zoo/<model>/{model.pt,metrics.json,checkpoints/}. The resumable state lives in
# results/zoo/<model>/resume.state.pt, which is no declared output: Snakemake does not
# delete it when it reruns a killed job, so training continues from the last epoch.
#
# With train.pack.enabled, the models of a group no wider than train.pack.max_width train
# several to a job (train_pack, one grouped network) and unpack_member copies each model's
# files to where train_member would have written them; the model wildcard's constraints
# give every model exactly one of the two routes. A GPU job claims a slot of one GPU
# (featurelab.gpus, config key gpu).


localrules:
    unpack_member,
    unpack_activations,
    unpack_features,


rule train_member:
    input:
        unpack(model_splits),
    output:
        model="results/zoo/{model}/model.pt",
        metrics="results/zoo/{model}/metrics.json",
        epochs=directory("results/zoo/{model}/checkpoints"),
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    wildcard_constraints:
        model=SOLO_MODEL,
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        train=train_params,
        state="results/zoo/{model}/resume.state.pt",
        fast=TRAIN_FAST,
        gpu=config["gpu"],
    script:
        "../scripts/train_member.py"


rule train_pack:
    input:
        unpack(pack_splits),
    output:
        directory("results/zoo/packs/{pack}"),
    log:
        "results/logs/train/{pack}.log",
    benchmark:
        "results/benchmarks/train/{pack}.tsv"
    wildcard_constraints:
        pack=PACK_ID,
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        members=pack_train_params,
        state="results/zoo/packs/{pack}.state.pt",
        fast=TRAIN_FAST,
        gpu=config["gpu"],
    script:
        "../scripts/train_pack.py"


rule unpack_member:
    input:
        pack_of_model,
    output:
        model="results/zoo/{model}/model.pt",
        metrics="results/zoo/{model}/metrics.json",
        epochs=directory("results/zoo/{model}/checkpoints"),
    log:
        "results/logs/train/{model}.log",
    wildcard_constraints:
        model=f"(?:{PACKED})-s\\d+",
    conda:
        "../envs/data.yaml"
    shell:
        # a copy needs no Python start-up; the log gets the model's own epoch lines
        "cp {input}/{wildcards.model}.pt {output.model}"
        " && cp {input}/{wildcards.model}.json {output.metrics}"
        " && cp -R {input}/{wildcards.model} {output.epochs}"
        " && {{ [ ! -f {input}/{wildcards.model}.log ] || cat {input}/{wildcards.model}.log;"
        " echo '{wildcards.model} was trained in {input} (its log: results/logs/train/'$(basename {input})'.log)'; }}"
        " > {log}"


rule training_summary:
    # one job for every ensemble: a table of its members (their zoo models) and their curves
    input:
        unpack(all_ensemble_metrics),
    output:
        **training_summary_outputs(),
    log:
        "results/logs/ensembles/training_summary.log",
    conda:
        "../envs/analysis.yaml"
    params:
        models=all_ensemble_models,
    script:
        "../scripts/training_summary.py"
