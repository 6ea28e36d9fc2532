"""Rule width_measure: every FSE/FSG/FP/residual measurement of one architecture of the width
study (Duzgun, Jelassi, Li, 2024), for each α = 1/k and state (trained or random init), over
the repeats (featurelab.width.study.measure_alpha)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import time

import pandas as pd
from threadpoolctl import threadpool_limits

from featurelab.width.study import measure_alpha, read_members

with logged(snakemake.log[0]):
    arch, s, p = snakemake.wildcards.arch, snakemake.params.settings, snakemake.params
    tables = []
    for state in p.states:
        base, labels = read_members(snakemake.input[f"{state}__a1"])
        for k, counts in p.counts.items():
            narrow, labels_n = read_members(snakemake.input[f"{state}__a{k}"])
            for split, y in labels.items():
                if (labels_n[split] != y).any():
                    raise ValueError(f"base and α=1/{k} features disagree on the {split} labels")
            log(f"{arch} α=1/{k} {state}: {len(base)} base members ({base[0]['train'].shape[1]} features), "
                f"{len(narrow)} low-width members ({narrow[0]['train'].shape[1]} features); N_f={counts['n_f']}, "
                f"N_p={counts['n_p']}; {len(labels['train'])} fit / {len(labels['val'])} validation / "
                f"{len(labels['test'])} test points")
            t0 = time.perf_counter()
            with threadpool_limits(snakemake.threads):
                table = measure_alpha(base, narrow, labels, n_f=counts["n_f"], n_p=counts["n_p"],
                                      repeats=s["repeats"], select=s["select"], loo_subsample=s["loo_subsample"],
                                      probe_c=s["probe_c"], probe_max_iter=s["probe_max_iter"],
                                      shuffled_fit_fraction=s["shuffled_fit_fraction"], seed=s["seed"], log=log)
            table.insert(0, "state", state)
            table.insert(0, "alpha", 1 / int(k))
            table.insert(0, "arch", arch)
            tables.append(table)
            log(f"{len(table)} measurements in {time.perf_counter() - t0:.1f} s")
    pd.concat(tables, ignore_index=True).to_csv(snakemake.output[0], index=False)
