# Extraction: per member, layer and split, one Parquet file of activations (SPEC 3).


rule extract_member:
    input:
        unpack(prepared_extract_splits),
        model="results/{ensemble}/models/member{member}.pt",
    output:
        expand(
            "results/{{ensemble}}/activations/member{{member}}/{layer}/{split}.parquet",
            layer=LAYERS,
            split=SPLITS,
        ),
    log:
        "results/logs/extract/{ensemble}/member{member}.log",
    benchmark:
        "results/benchmarks/extract/{ensemble}/member{member}.tsv"
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
    script:
        "../scripts/extract_member.py"
