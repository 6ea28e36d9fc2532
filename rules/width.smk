# The width study (paper 002 §3, SPEC 7): a validation split held out of the base
# dataset, width-scaled ensembles (rules/train.smk trains them, one job per member),
# penultimate features of every member trained and at its random initialisation, the
# FSE/FSG/FP measurements per architecture, α and state, then figures and tables.


rule holdout_dataset:
    input:
        train="resources/prepared/{base}/train.npz",
        test="resources/prepared/{base}/test.npz",
    output:
        train="resources/prepared/{base}__holdout{n}/train.npz",
        val="resources/prepared/{base}__holdout{n}/val.npz",
        test="resources/prepared/{base}__holdout{n}/test.npz",
    log:
        "results/logs/data/{base}__holdout{n}.log",
    wildcard_constraints:
        base=BASE_DATASETS,
        n=r"\d+",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/holdout_dataset.py"


rule extract_width_member:
    input:
        unpack(width_dataset_splits),
        model="results/{ensemble}/models/member{member}.pt",
    output:
        expand(
            "results/{{ensemble}}/features/member{{member}}/{state}/{split}.parquet",
            state=WIDTH_STATES,
            split=WIDTH_SPLITS,
        ),
    log:
        "results/logs/extract/{ensemble}/features_member{member}.log",
    benchmark:
        "results/benchmarks/extract/{ensemble}/features_member{member}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        states=WIDTH_STATES,
        splits=WIDTH_SPLITS,
        batch_size=config["extract"]["batch_size"],
        device=config["device"],
    script:
        "../scripts/extract_width_member.py"


rule width_counts:
    output:
        table=report(
            "results/width/member_counts.csv",
            caption="../report/width/member_counts.rst",
            category="Width study",
            labels={"table": "N_f and N_p"},
        ),
        markdown="results/width/member_counts.md",
    log:
        "results/logs/width/member_counts.log",
    conda:
        "../envs/analysis.yaml"
    params:
        archs=WIDTH["archs"],
        dens=WIDTH_DENS,
        base_width=WIDTH["base_width"],
        dataset=WIDTH["dataset"],
        ensembles=WIDTH_ENSEMBLES,
    script:
        "../scripts/width_counts.py"


rule width_measure:
    input:
        unpack(width_measure_inputs),
    output:
        "results/width/{arch}/{state}/a{k}.csv",
    log:
        "results/logs/width/{arch}_{state}_a{k}.log",
    benchmark:
        "results/benchmarks/width/{arch}_{state}_a{k}.tsv"
    wildcard_constraints:
        arch="resnet18|vgg16",
        state="trained|init",
        k=r"\d+",
    conda:
        "../envs/analysis.yaml"
    threads: 2
    resources:
        mem_mb=16000,
        runtime=240,
    params:
        settings={
            k: WIDTH[k]
            for k in (
                "repeats",
                "select",
                "loo_subsample",
                "probe_c",
                "probe_max_iter",
                "shuffled_fit_fraction",
                "seed",
            )
        },
        ensembles=lambda wc: {
            "base": WIDTH_ENSEMBLES[f"w_{wc.arch}_a1"],
            "narrow": WIDTH_ENSEMBLES[f"w_{wc.arch}_a{wc.k}"],
        },
    script:
        "../scripts/width_measure.py"


rule width_report:
    input:
        unpack(width_report_inputs),
    output:
        fig1=report(
            "results/width/{arch}/fig1.png",
            caption="../report/width/fig1.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"figure": "Fig 1: FSG"},
        ),
        fig2=report(
            "results/width/{arch}/fig2.png",
            caption="../report/width/fig2.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"figure": "Fig 2: reverse FSG"},
        ),
        fig3=report(
            "results/width/{arch}/fig3.png",
            caption="../report/width/fig3.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"figure": "Fig 3: FP"},
        ),
        fig4=report(
            "results/width/{arch}/fig4.png",
            caption="../report/width/fig4.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"figure": "Fig 4: residuals"},
        ),
        shuffled=report(
            "results/width/{arch}/shuffled_regression.csv",
            caption="../report/width/shuffled_regression.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"table": "Tables 4-5: shuffled regression"},
        ),
        accuracy=report(
            "results/width/{arch}/accuracy.csv",
            caption="../report/width/accuracy.rst",
            category="Width study",
            subcategory="{arch}",
            labels={"table": "Table 2: accuracy"},
        ),
        aggregate="results/width/{arch}/aggregate.csv",
        findings="results/width/{arch}/findings.json",
        init_figures=expand(
            "results/width/{{arch}}/{fig}.png",
            fig=WIDTH_INIT_FIGURES if WIDTH["random_init"] else [],
        ),
    log:
        "results/logs/width/{arch}_report.log",
    wildcard_constraints:
        arch="resnet18|vgg16",
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/width_report.py"


rule width_summary:
    input:
        aggregates=expand("results/width/{arch}/aggregate.csv", arch=WIDTH["archs"]),
        findings=expand("results/width/{arch}/findings.json", arch=WIDTH["archs"]),
        counts="results/width/member_counts.csv",
    output:
        summary="results/width/summary.json",
        table3=report(
            "results/width/table3.csv",
            caption="../report/width/table3.rst",
            category="Width study",
            labels={"table": "Table 3: residual FP"},
        ),
        table3_md="results/width/table3.md",
    log:
        "results/logs/width/summary.log",
    conda:
        "../envs/analysis.yaml"
    params:
        archs=WIDTH["archs"],
        settings=WIDTH,
    script:
        "../scripts/width_summary.py"
