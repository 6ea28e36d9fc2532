"""Rule contamination_numerical: every numerical run of the contamination study (Zhang et al.,
ICML 2024, Secs. 3-4, App. F.1), trained side by side as one batched model per task
(featurelab.contamination.numerical); the curves and the per-neuron records as Parquet."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.contamination import findings
from featurelab.contamination.numerical import NumericalSetting, Run, momentum_decay_factor, run_batch
from featurelab.files import write_json

with logged(snakemake.log[0]):
    p = snakemake.params.numerical
    setting = NumericalSetting.from_dict({**p["setting"], "iterations": p["iterations"],
                                          "record_every": p["record_every"]})
    specs = snakemake.params.runs
    runs = [Run(r["task"], r["activation"], r["variant"], r["seed"]) for r in specs]
    log(f"{len(runs)} runs, {setting.iterations} iterations each, batched by task: "
        + ", ".join(r["name"] for r in specs))
    results = run_batch(setting, runs, log=log, threads=snakemake.threads)
    curves, neurons = findings.numerical_tables(specs, results)
    curves.to_parquet(snakemake.output.curves, index=False)
    neurons.to_parquet(snakemake.output.neurons, index=False)
    factor = momentum_decay_factor(setting.lr, setting.momentum, setting.weight_decay, setting.iterations)
    write_json(snakemake.output.setting, {"setting": setting.__dict__, "linear_decay_factor": float(factor),
                                          "runs": list(specs), "seconds": float(sum({r["seconds"] for r in results}))})
    log(f"{len(curves)} curve points, {len(neurons)} neuron records; a zero-gradient direction decays by "
        f"{factor:.5f} over {setting.iterations} iterations")
