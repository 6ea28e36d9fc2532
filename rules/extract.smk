# Extraction: per model, layer and split, one Parquet file of activations
# (featurelab.activations). extract_member writes the layers and splits of the config's
# extract section, for the members of every ensemble but the width study's, and the
# activations of the checkpoint epochs that Fig 2a of the interaction study reads (an
# empty epochs/ folder for a model no interaction ensemble follows over training);
# extract_width_member the width study's penultimate features on train, validation and
# test, trained and at the random initialisation.
#
# The models that train in packs (rules/train.smk) are extracted by one job per pack,
# extract_pack, and unpack_activations / unpack_features copy each model's files to where
# extract_member / extract_width_member would have written them: one job that loads
# PyTorch for the pack instead of one per model.


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
    wildcard_constraints:
        model=SOLO_MODEL,
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        layers=LAYERS,
        splits=SPLITS,
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
    wildcard_constraints:
        model=SOLO_MODEL,
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        states=PLAN.width_states(),
        splits=WIDTH_SPLITS,
        batch_size=config["extract"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/extract_width_member.py"


rule extract_pack:
    input:
        unpack(pack_extract_splits),
        pack="results/zoo/packs/{pack}",
    output:
        directory("results/zoo/extracted/{pack}"),
    log:
        "results/logs/extract/{pack}.log",
    benchmark:
        "results/benchmarks/extract/{pack}.tsv"
    wildcard_constraints:
        pack=PACK_ID,
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        what=pack_extraction,
        layers=LAYERS,
        splits=SPLITS,
        states=PLAN.width_states(),
        epoch_layer=config["interaction"]["layer"],
        epoch_split=config["interaction"]["split"],
        batch_size=config["extract"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/extract_pack.py"


rule unpack_activations:
    input:
        extraction_of_packed_model,
    output:
        activations=expand(
            "results/zoo/{{model}}/activations/{layer}/{split}.parquet",
            layer=LAYERS,
            split=SPLITS,
        ),
        epochs=directory("results/zoo/{model}/epochs"),
    log:
        "results/logs/extract/{model}.log",
    wildcard_constraints:
        model=f"(?:{PACKED_ACTIVATIONS})-s\\d+",
    conda:
        "../envs/data.yaml"
    shell:
        # a copy needs no Python start-up
        "cp -R {input}/{wildcards.model}/activations/. results/zoo/{wildcards.model}/activations/"
        " && cp -R {input}/{wildcards.model}/epochs {output.epochs}"
        " && echo 'copied from {input}/{wildcards.model}' > {log}"


rule unpack_features:
    input:
        extraction_of_packed_model,
    output:
        expand(
            "results/zoo/{{model}}/features/{state}/{split}.parquet",
            state=PLAN.width_states(),
            split=WIDTH_SPLITS,
        ),
    log:
        "results/logs/extract/{model}_features.log",
    wildcard_constraints:
        model=f"(?:{PACKED_FEATURES})-s\\d+",
    conda:
        "../envs/data.yaml"
    shell:
        "cp -R {input}/{wildcards.model}/features/. results/zoo/{wildcards.model}/features/"
        " && echo 'copied from {input}/{wildcards.model}' > {log}"
