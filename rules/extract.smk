# Extraction: per model, layer and split, one Parquet file of activations
# (featurelab.activations). extract_member writes the layers and splits of the config's
# extract section, for the members of every ensemble but the width study's, and the
# activations of the checkpoint epochs that Fig 2a of the interaction study reads (an
# empty epochs/ folder for a model no interaction ensemble follows over training);
# extract_width_member the width study's penultimate features on train, validation and
# test, trained and at the random initialisation.


rule extract_member:
    input:
        unpack(extract_splits),
        model="results/zoo/{model}/model.pt",
        checkpoints="results/zoo/{model}/checkpoints",
    output:
        activations=expand(
            "results/zoo/{{model}}/activations/{layer}/{split}.parquet",
            layer=LAYERS,
            split=SPLITS,
        ),
        epochs=directory("results/zoo/{model}/epochs"),
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
        epochs=model_epochs,
        epoch_layer=config["interaction"]["layer"],
        epoch_split=config["interaction"]["split"],
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

