# Controls (featurelab.controls, docs/controls.md): each paper's mechanism planted in the
# synthetic world. Every named world of controls.worlds a part trains on is generated once
# (resources/prepared/synthetic__ctl<name>/), a derived world (superclasses, a blue group)
# is cut from it, the parts' members are trained and extracted by the zoo's own rules
# (rules/train.smk, rules/extract.smk), and one job per control decides the finding in both
# arms with the study's own code: results/controls/<control>.json. controls_table gathers
# them (results/controls/summary.json, controls.md: the report's Controls page).


# ---------------------------------------------------------------- inputs and targets

# the named worlds the enabled controls train on, and the worlds derived from them
CONTROL_WORLD_NAMES = [d[len("synthetic__ctl") :] for d in control_datasets(config)]
CONTROL_DERIVED = PLAN.control_derived()


def control_derived_outputs(dataset, derived):
    files = ["train.npz", "test.npz"]
    if derived["kind"] == "blue":
        files.append("blue_thresholds.json")
    return {f.split(".")[0]: f"resources/prepared/{dataset}/{f}" for f in files}


def control_inputs(wildcards):
    return PLAN.control_inputs(wildcards.control)


def control_targets():
    if not PLAN.control_names():
        return []
    return ["results/controls/summary.json"]


for _name in CONTROL_WORLD_NAMES:

    rule:
        name:
            f"control_world_{_name}"
        output:
            **world_outputs(control_world_dataset(_name), control_world(config, _name)),
        log:
            f"results/logs/data/{control_world_dataset(_name)}.log",
        conda:
            "../envs/data.yaml"
        params:
            world=control_world(config, _name),
        script:
            "../scripts/synthetic_world.py"


for _dataset, _derived in CONTROL_DERIVED.items():

    rule:
        name:
            f"control_derived_{_dataset.replace('__', '_')}"
        input:
            train=f"resources/prepared/{_derived['base']}/train.npz",
            test=f"resources/prepared/{_derived['base']}/test.npz",
            truth=f"resources/prepared/{_derived['base']}/train_truth.parquet",
        output:
            **control_derived_outputs(_dataset, _derived),
        log:
            f"results/logs/data/{_dataset}.log",
        conda:
            "../envs/data.yaml"
        params:
            derived=_derived,
        script:
            "../scripts/control_derived.py"


rule control:
    input:
        unpack(control_inputs),
    output:
        result="results/controls/{control}.json",
    log:
        "results/logs/controls/{control}.log",
    wildcard_constraints:
        control="|".join(PLAN.control_names()) or "(?!)",
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        info=lambda w: PLAN.control_info(w.control),
        level=config["verdicts"]["level"],
        resamples=config["verdicts"]["resamples"],
        device=config["device"],
    script:
        "../scripts/control.py"


rule controls_table:
    input:
        expand("results/controls/{control}.json", control=PLAN.control_names()),
    output:
        summary="results/controls/summary.json",
        table=report(
            "results/controls/controls.csv",
            caption="../report/controls.rst",
            category="Controls",
        ),
        markdown="results/controls/controls.md",
    log:
        "results/logs/controls/table.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/controls_table.py"
