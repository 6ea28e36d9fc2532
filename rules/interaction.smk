# The interaction study (paper 000 §3-4, SPEC 4): Ω per ensemble and variant
# (main, sensitivity settings, depths, training epochs), its figures and summary.


rule extract_epochs:
    input:
        split=prepared_interaction_split,
        model="results/{ensemble}/models/member{member}.pt",
        checkpoints="results/{ensemble}/checkpoints/member{member}",
    output:
        directory("results/{ensemble}/activations/member{member}/epochs"),
    log:
        "results/logs/extract/{ensemble}/member{member}_epochs.log",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        epochs=epoch_list,
        layer=INTERACTION["layer"],
        split=INTERACTION["split"],
        device=config["device"],
        batch_size=config["extract"]["batch_size"],
    script:
        "../scripts/extract_epochs.py"


rule interaction_tensor:
    input:
        variant_activations,
    output:
        omega="results/{ensemble}/interaction/{variant}/omega.parquet",
        npz="results/{ensemble}/interaction/{variant}/tensor.npz",
        info="results/{ensemble}/interaction/{variant}/tensor.json",
    log:
        "results/logs/interaction/{ensemble}/{variant}_tensor.log",
    benchmark:
        "results/benchmarks/interaction/{ensemble}/{variant}_tensor.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        settings=variant_settings,
    script:
        "../scripts/interaction_tensor.py"


rule interaction_panels:
    input:
        tensor="results/{ensemble}/interaction/{variant}/tensor.npz",
        omega="results/{ensemble}/interaction/{variant}/omega.parquet",
        info="results/{ensemble}/interaction/{variant}/tensor.json",
    output:
        fig2b=report(
            "results/{ensemble}/interaction/{variant}/fig2b.png",
            caption="../report/interaction/fig2b.rst",
            category="Interaction: {ensemble}",
            subcategory="{variant}",
            labels={"figure": "Fig 2b"},
        ),
        fig2b_csv="results/{ensemble}/interaction/{variant}/fig2b.csv",
        fig2c=report(
            "results/{ensemble}/interaction/{variant}/fig2c.png",
            caption="../report/interaction/fig2c.rst",
            category="Interaction: {ensemble}",
            subcategory="{variant}",
            labels={"figure": "Fig 2c"},
        ),
        fig2c_csv="results/{ensemble}/interaction/{variant}/fig2c.csv",
        fig3a=report(
            "results/{ensemble}/interaction/{variant}/fig3a.png",
            caption="../report/interaction/fig3a.rst",
            category="Interaction: {ensemble}",
            subcategory="{variant}",
            labels={"figure": "Fig 3a"},
        ),
        fig3a_csv="results/{ensemble}/interaction/{variant}/fig3a.csv",
        fig3b=report(
            "results/{ensemble}/interaction/{variant}/fig3b.png",
            caption="../report/interaction/fig3b.rst",
            category="Interaction: {ensemble}",
            subcategory="{variant}",
            labels={"figure": "Fig 3b"},
        ),
        fig3b_csv="results/{ensemble}/interaction/{variant}/fig3b.csv",
        fig3c=report(
            "results/{ensemble}/interaction/{variant}/fig3c.png",
            caption="../report/interaction/fig3c.rst",
            category="Interaction: {ensemble}",
            subcategory="{variant}",
            labels={"figure": "Fig 3c"},
        ),
        fig3c_csv="results/{ensemble}/interaction/{variant}/fig3c.csv",
        observations="results/{ensemble}/interaction/{variant}/observations.json",
    log:
        "results/logs/interaction/{ensemble}/{variant}_panels.log",
    conda:
        "../envs/analysis.yaml"
    params:
        shared_error=INTERACTION["shared_error"],
        high_confidence=INTERACTION["high_confidence"],
    script:
        "../scripts/interaction_panels.py"


rule interaction_main_figures:
    input:
        tensor="results/{ensemble}/interaction/main/tensor.npz",
        omega="results/{ensemble}/interaction/main/omega.parquet",
        info="results/{ensemble}/interaction/main/tensor.json",
        split=prepared_interaction_split,
    output:
        fig1=report(
            "results/{ensemble}/interaction/main/fig1.png",
            caption="../report/interaction/fig1.rst",
            category="Interaction: {ensemble}",
            subcategory="main",
            labels={"figure": "Fig 1"},
        ),
        fig1_csv="results/{ensemble}/interaction/main/fig1.csv",
        fig8=report(
            "results/{ensemble}/interaction/main/fig8.png",
            caption="../report/interaction/fig8.rst",
            category="Interaction: {ensemble}",
            subcategory="main",
            labels={"figure": "Fig 8"},
        ),
        fig8_csv="results/{ensemble}/interaction/main/fig8.csv",
        fig9=report(
            "results/{ensemble}/interaction/main/fig9.png",
            caption="../report/interaction/fig9.rst",
            category="Interaction: {ensemble}",
            subcategory="main",
            labels={"figure": "Fig 9"},
        ),
        fig9_csv="results/{ensemble}/interaction/main/fig9.csv",
        fig10=report(
            "results/{ensemble}/interaction/main/fig10.png",
            caption="../report/interaction/fig10.rst",
            category="Interaction: {ensemble}",
            subcategory="main",
            labels={"figure": "Fig 10"},
        ),
        fig10_csv="results/{ensemble}/interaction/main/fig10.csv",
        fig11=report(
            "results/{ensemble}/interaction/main/fig11.png",
            caption="../report/interaction/fig11.rst",
            category="Interaction: {ensemble}",
            subcategory="main",
            labels={"figure": "Fig 11"},
        ),
        fig11_csv="results/{ensemble}/interaction/main/fig11.csv",
    log:
        "results/logs/interaction/{ensemble}/main_figures.log",
    conda:
        "../envs/analysis.yaml"
    params:
        per_class=INTERACTION["fig1_per_class"],
    script:
        "../scripts/interaction_main_figures.py"


rule interaction_epochs_figure:
    input:
        epoch_tensors,
    output:
        figure=report(
            "results/{ensemble}/interaction/fig2a.png",
            caption="../report/interaction/fig2a.rst",
            category="Interaction: {ensemble}",
            subcategory="over training",
            labels={"figure": "Fig 2a"},
        ),
        table="results/{ensemble}/interaction/fig2a.csv",
    log:
        "results/logs/interaction/{ensemble}/fig2a.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_fig2a.py"


rule interaction_ground_truth:
    input:
        tensor="results/{ensemble}/interaction/main/tensor.npz",
        omega="results/{ensemble}/interaction/main/omega.parquet",
        info="results/{ensemble}/interaction/main/tensor.json",
        truth=synthetic_truth,
        world="resources/prepared/synthetic/world.json",
    output:
        figure=report(
            "results/{ensemble}/interaction/ground_truth.png",
            caption="../report/interaction/ground_truth.rst",
            category="Interaction: {ensemble}",
            subcategory="ground truth",
            labels={"figure": "recovery"},
        ),
        table="results/{ensemble}/interaction/ground_truth.csv",
        summary="results/{ensemble}/interaction/ground_truth.json",
    log:
        "results/logs/interaction/{ensemble}/ground_truth.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_ground_truth.py"


rule interaction_summary:
    input:
        unpack(interaction_summary_inputs),
    output:
        "results/{ensemble}/interaction/summary.json",
    log:
        "results/logs/interaction/{ensemble}/summary.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_summary.py"
