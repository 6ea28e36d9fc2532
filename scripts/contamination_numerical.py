"""Rule contamination_numerical: every numerical run of the contamination study (Zhang et al.,
ICML 2024, Secs. 3-4, App. F.1), trained side by side as one batched model per task
(featurelab.contamination.numerical); the curves and the per-neuron records as Parquet, the
setting with each task's iterations and the factor by which weight decay alone shrinks a
direction without data gradient (per task and variant: momentum 0.9 in the code variant, plain
SGD in the theory variant) as JSON."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import dataclasses

import pandas as pd

from featurelab.contamination import findings
from featurelab.contamination.numerical import NumericalSetting, Run, momentum_decay_factor, run_batch
from featurelab.files import write_json

with logged(snakemake.log[0]):
    p = snakemake.params.numerical
    base = NumericalSetting.from_dict({**p["setting"], "record_every": p["record_every"]}, strict=True)
    specs = snakemake.params.runs
    curves, neurons, iterations, factors = [], [], {}, {}
    for T in sorted({r["iterations"] for r in specs}):
        group = [r for r in specs if r["iterations"] == T]
        setting = dataclasses.replace(base, iterations=T)
        log(f"{len(group)} runs of {T} iterations, batched by task: " + ", ".join(r["name"] for r in group))
        results = run_batch(setting, [Run(r["task"], r["activation"], r["variant"], r["seed"]) for r in group],
                            log=log, threads=snakemake.threads)
        c, n = findings.numerical_tables(group, results)
        curves.append(c)
        neurons.append(n)
        for task, variant in {(r["task"], r["variant"]) for r in group}:
            iterations[task] = T
            if task != "spheres":  # AdamW's decay is not this closed form
                momentum = setting.momentum if variant == "code" else 0.0
                factors[f"{task}_{variant}"] = momentum_decay_factor(setting.lr, momentum, setting.weight_decay, T)
    curves, neurons = pd.concat(curves, ignore_index=True), pd.concat(neurons, ignore_index=True)
    curves.to_parquet(snakemake.output.curves, index=False)
    neurons.to_parquet(snakemake.output.neurons, index=False)
    write_json(snakemake.output.setting, {"setting": dataclasses.asdict(base), "iterations": iterations,
                                          "linear_decay_factor": factors, "runs": list(specs)})
    log(f"{len(curves)} curve points, {len(neurons)} neuron records; a zero-gradient direction of the SGD runs "
        "decays by " + ", ".join(f"{factors[k]:.5f} ({k})" for k in sorted(factors)))
