# External models (the config's external section, featurelab.plan.external): one job per
# model of every set writes its activations in the zoo's Parquet layout under
# results/external/<name>/m<i>/activations/<layer>/<split>.parquet, which the studies read
# like a zoo member's. A checkpoint or TorchScript model is run over the prepared splits
# (featurelab.external.extract_external: the zoo's extraction, the same device handling); an
# activation file is checked against the prepared split point by point (rows, index, labels)
# and rewritten (featurelab.external.import_activations). Either way, no study job starts on a
# file that did not pass.


for _name in PLAN.external:

    rule:
        name:
            f"external_{_name}"
        input:
            unpack(external_inputs(_name)),
        output:
            **external_rule_outputs(_name),
        log:
            f"results/logs/external/{_name}/m{{member}}.log",
        benchmark:
            f"results/benchmarks/external/{_name}/m{{member}}.tsv"
        wildcard_constraints:
            member=r"\d+",
        conda:
            "../envs/torch.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=60,
        params:
            name=_name,
            spec=PLAN.external[_name].spec,
            route=PLAN.external[_name].route,
            layers=list(PLAN.external[_name].layers),
            splits=list(PLAN.external[_name].splits),
            batch_size=config["extract"]["batch_size"],
            device=config["device"],
        script:
            "../scripts/external_member.py"
