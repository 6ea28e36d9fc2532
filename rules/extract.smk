# Extraction: per model, layer and split, one Parquet file of activations
# (featurelab.activations): the layers and splits of the config's extract section for
# the members of every ensemble but the width study's; the width study's penultimate
# features on train, validation and test, trained and at the random initialisation; and
# the activations of the checkpoint epochs that Fig 2a of the interaction study reads.


rule extract_member:
    input:
        unpack(extract_splits),
        model="results/zoo/{model}/model.pt",
    output:
        expand(
            "results/zoo/{{model}}/activations/{layer}/{split}.parquet",
            layer=LAYERS,
            split=SPLITS,
        ),
    log:
        "results/logs/extract/{model}.log",
    benchmark:
        "results/benchmarks/extract/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        batch_size=config["extract"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/extract_member.py"


rule extract_width_member:
    input:
        unpack(feature_splits),
        model="results/zoo/{model}/model.pt",
    output:
        expand(
            "results/zoo/{{model}}/features/{state}/{split}.parquet",
            state=PLAN.width_states(),
            split=WIDTH_SPLITS,
        ),
    log:
        "results/logs/extract/{model}_features.log",
    benchmark:
        "results/benchmarks/extract/{model}_features.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        batch_size=config["extract"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/extract_width_member.py"


rule extract_epochs:
    input:
        unpack(interaction_split_of_model),
        model="results/zoo/{model}/model.pt",
        checkpoints="results/zoo/{model}/checkpoints",
    output:
        directory("results/zoo/{model}/epochs"),
    log:
        "results/logs/extract/{model}_epochs.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        epochs=model_epochs,
        layer=config["interaction"]["layer"],
        device=config["device"],
        batch_size=config["extract"]["batch_size"],
    script:
        "../scripts/extract_epochs.py"
