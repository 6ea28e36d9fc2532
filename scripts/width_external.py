"""Rule width_external: the width study's measurements (Duzgun, Jelassi, Li, arXiv 2407.00968,
2024) between a wide and a narrow set of models trained elsewhere (width.external): FSE/FSG both
ways, FP and the residuals' FP, the shuffled regression, their mean over the repetitions and
the findings (featurelab.width.study.measure_external, featurelab.width.tables)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd
from threadpoolctl import threadpool_limits

from featurelab.files import write_json
from featurelab.width import tables as T
from featurelab.width.study import measure_external, read_members

with logged(snakemake.log[0]):
    inp, out, p = snakemake.input, snakemake.output, snakemake.params
    s = p.settings
    base, labels = read_members(inp.base)
    narrow, labels_n = read_members(inp.narrow)
    for split, y in labels.items():
        if (labels_n[split] != y).any():
            raise ValueError(f"{p.sets['base']} and {p.sets['narrow']} disagree on the {split} labels")
    with threadpool_limits(snakemake.threads):
        table, info = measure_external(base, narrow, labels, n_p=p.external.get("n_p"),
                                       repeats=p.external.get("repeats"), select=s["select"],
                                       loo_subsample=s["loo_subsample"], probe_c=s["probe_c"],
                                       probe_max_iter=s["probe_max_iter"],
                                       shuffled_fit_fraction=s["shuffled_fit_fraction"], seed=s["seed"], log=log)
    table.insert(0, "state", "trained")
    table.insert(0, "alpha", info["alpha"])
    table.to_csv(out.measurements, index=False)
    agg = T.aggregate(table)
    counts = pd.DataFrame([{"alpha": info["alpha"], "n_f": info["n_f"], "n_p": info["n_p"]}])
    write_json(out.summary, {
        "paper": "Duzgun, Jelassi, Li, \"How Does Overparameterization Affect Features?\", arXiv 2407.00968, 2024",
        "sets": dict(p.sets), **info,
        "note": ("N_p is n_p as given" if info["n_p_given"] else
                 "N_p = N_f: the parameter counts of models given by their activations are not known "
                 "(width.external.n_p)"),
        "findings": T.findings(agg, counts, table, p.level).get("trained", {}),
        "aggregate": agg.to_dict("records"),
    })
    log(f"{info['repeats']} repetition(s), α = {info['alpha']:.4g}, N_f = {info['n_f']}, N_p = {info['n_p']}")
