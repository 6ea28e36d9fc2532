# The interaction study (Jiang, Baek, Kolter, ICLR 2024, §3-4, App. E-F): Ω per ensemble
# and variant (main, sensitivity settings, depths, training epochs), its figures and summary.


rule interaction_tensor:
    input:
        variant_activations,
    output:
        omega="results/interaction/{ensemble}/{variant}/omega.parquet",
        npz="results/interaction/{ensemble}/{variant}/tensor.npz",
        info="results/interaction/{ensemble}/{variant}/tensor.json",
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
        tensor="results/interaction/{ensemble}/{variant}/tensor.npz",
        omega="results/interaction/{ensemble}/{variant}/omega.parquet",
        info="results/interaction/{ensemble}/{variant}/tensor.json",
    output:
        fig2b=report(
            "results/interaction/{ensemble}/{variant}/fig2b.png",
            caption="../report/interaction/fig2b.rst",
            category="Interaction",
            subcategory="{ensemble}: {variant}",
            labels={"figure": "Fig 2b"},
        ),
        fig2b_csv="results/interaction/{ensemble}/{variant}/fig2b.csv",
        fig2c=report(
            "results/interaction/{ensemble}/{variant}/fig2c.png",
            caption="../report/interaction/fig2c.rst",
            category="Interaction",
            subcategory="{ensemble}: {variant}",
            labels={"figure": "Fig 2c"},
        ),
        fig2c_csv="results/interaction/{ensemble}/{variant}/fig2c.csv",
        fig3a=report(
            "results/interaction/{ensemble}/{variant}/fig3a.png",
            caption="../report/interaction/fig3a.rst",
            category="Interaction",
            subcategory="{ensemble}: {variant}",
            labels={"figure": "Fig 3a"},
        ),
        fig3a_csv="results/interaction/{ensemble}/{variant}/fig3a.csv",
        fig3b=report(
            "results/interaction/{ensemble}/{variant}/fig3b.png",
            caption="../report/interaction/fig3b.rst",
            category="Interaction",
            subcategory="{ensemble}: {variant}",
            labels={"figure": "Fig 3b"},
        ),
        fig3b_csv="results/interaction/{ensemble}/{variant}/fig3b.csv",
        fig3c=report(
            "results/interaction/{ensemble}/{variant}/fig3c.png",
            caption="../report/interaction/fig3c.rst",
            category="Interaction",
            subcategory="{ensemble}: {variant}",
            labels={"figure": "Fig 3c"},
        ),
        fig3c_csv="results/interaction/{ensemble}/{variant}/fig3c.csv",
        observations="results/interaction/{ensemble}/{variant}/observations.json",
    log:
        "results/logs/interaction/{ensemble}/{variant}_panels.log",
    conda:
        "../envs/analysis.yaml"
    params:
        shared_error=config["interaction"]["shared_error"],
        high_confidence=config["interaction"]["high_confidence"],
    script:
        "../scripts/interaction_panels.py"


rule interaction_main_figures:
    input:
        tensor="results/interaction/{ensemble}/main/tensor.npz",
        omega="results/interaction/{ensemble}/main/omega.parquet",
        info="results/interaction/{ensemble}/main/tensor.json",
        split=interaction_split,
    output:
        fig1=report(
            "results/interaction/{ensemble}/main/fig1.png",
            caption="../report/interaction/fig1.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": "Fig 1"},
        ),
        fig1_csv="results/interaction/{ensemble}/main/fig1.csv",
        fig8=report(
            "results/interaction/{ensemble}/main/fig8.png",
            caption="../report/interaction/fig8.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": "Fig 8"},
        ),
        fig8_csv="results/interaction/{ensemble}/main/fig8.csv",
        fig9=report(
            "results/interaction/{ensemble}/main/fig9.png",
            caption="../report/interaction/fig9.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": "Fig 9"},
        ),
        fig9_csv="results/interaction/{ensemble}/main/fig9.csv",
        fig10=report(
            "results/interaction/{ensemble}/main/fig10.png",
            caption="../report/interaction/fig10.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": "Fig 10"},
        ),
        fig10_csv="results/interaction/{ensemble}/main/fig10.csv",
        fig11=report(
            "results/interaction/{ensemble}/main/fig11.png",
            caption="../report/interaction/fig11.rst",
            category="Interaction",
            subcategory="{ensemble}: main",
            labels={"figure": "Fig 11"},
        ),
        fig11_csv="results/interaction/{ensemble}/main/fig11.csv",
    log:
        "results/logs/interaction/{ensemble}/main_figures.log",
    conda:
        "../envs/analysis.yaml"
    params:
        per_class=config["interaction"]["fig1_per_class"],
    script:
        "../scripts/interaction_main_figures.py"


rule interaction_epochs_figure:
    input:
        epoch_tensors,
    output:
        figure=report(
            "results/interaction/{ensemble}/fig2a.png",
            caption="../report/interaction/fig2a.rst",
            category="Interaction",
            subcategory="{ensemble}: over training",
            labels={"figure": "Fig 2a"},
        ),
        table="results/interaction/{ensemble}/fig2a.csv",
    log:
        "results/logs/interaction/{ensemble}/fig2a.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_epochs_figure.py"


rule interaction_ground_truth:
    input:
        unpack(synthetic_truth),
        tensor="results/interaction/{ensemble}/main/tensor.npz",
        omega="results/interaction/{ensemble}/main/omega.parquet",
        info="results/interaction/{ensemble}/main/tensor.json",
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


rule interaction_summary:
    input:
        unpack(interaction_summary_inputs),
    output:
        "results/interaction/{ensemble}/summary.json",
    log:
        "results/logs/interaction/{ensemble}/summary.log",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/interaction_summary.py"
