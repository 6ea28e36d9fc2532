# The interaction study (Jiang, Baek, Kolter, ICLR 2024, §3-4, App. E-F): per ensemble, one
# job builds Ω for every variant (main, sensitivity settings, depths), one draws every
# figure and writes the summary, one scores the features against the synthetic world's
# truth, and one follows Ω over the training epochs (Fig 2a).


rule interaction_tensors:
    input:
        unpack(interaction_variant_activations),
    output:
        expand(
            "results/interaction/{{ensemble}}/{variant}/{file}",
            variant=PLAN.panel_variants(),
            file=["omega.parquet", "tensor.npz", "tensor.json"],
        ),
    log:
        "results/logs/interaction/{ensemble}/tensors.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/tensors.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        settings=interaction_variant_settings,
    script:
        "../scripts/interaction_tensors.py"


rule interaction_figures:
    input:
        unpack(interaction_figure_inputs),
        controls=study_controls("interaction"),
    output:
        **interaction_figure_outputs(),
        summary="results/interaction/{ensemble}/summary.json",
    log:
        "results/logs/interaction/{ensemble}/figures.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/figures.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        variants=PLAN.panel_variants(),
        shared_error=config["interaction"]["shared_error"],
        high_confidence=config["interaction"]["high_confidence"],
        per_class=config["interaction"]["fig1_per_class"],
        thresholds=config["interaction"]["thresholds"],
        verdicts=config["verdicts"],
    script:
        "../scripts/interaction_figures.py"


rule interaction_ground_truth:
    input:
        unpack(synthetic_truth),
        tensor="results/interaction/{ensemble}/main/tensor.npz",
    output:
        figure=report(
            "results/interaction/{ensemble}/ground_truth.png",
            caption="../report/interaction/ground_truth.rst",
            category="Interaction",
            subcategory="{ensemble}: ground truth",
            labels={"figure": "recovery"},
        ),
        table="results/interaction/{ensemble}/ground_truth.csv",
        summary="results/interaction/{ensemble}/ground_truth.json",
    log:
        "results/logs/interaction/{ensemble}/ground_truth.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_ground_truth.py"


rule interaction_epochs:
    input:
        model_epochs=ensemble_epoch_folders,
    output:
        figure=report(
            "results/interaction/{ensemble}/fig2a.png",
            caption="../report/interaction/fig2a.rst",
            category="Interaction",
            subcategory="{ensemble}: over training",
            labels={"figure": "Fig 2a"},
        ),
        table="results/interaction/{ensemble}/fig2a.csv",
        tensors=directory("results/interaction/{ensemble}/epochs"),
    log:
        "results/logs/interaction/{ensemble}/epochs.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/epochs.tsv"
    conda:
        "../envs/analysis.yaml"
    params:
        epochs=ensemble_epochs,
        settings=interaction_main_settings,
    script:
        "../scripts/interaction_epochs.py"
