"""Rule width_measure: every FSE/FSG/FP/residual measurement of one architecture, α and
state (trained or random init) over the repeats (featurelab.width.study.measure_alpha)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import time

    from threadpoolctl import threadpool_limits

    from featurelab.width.study import measure_alpha, read_members

    wc, s, counts = snakemake.wildcards, snakemake.params.settings, snakemake.params.counts
    base, labels = read_members(snakemake.input.base)
    narrow, labels_n = read_members(snakemake.input.narrow)
    for split, y in labels.items():
        if (labels_n[split] != y).any():
            raise ValueError(f"base and α=1/{wc.k} features disagree on the {split} labels")
    log(f"{wc.arch} α=1/{wc.k} {wc.state}: {len(base)} base members ({base[0]['train'].shape[1]} features), "
        f"{len(narrow)} low-width members ({narrow[0]['train'].shape[1]} features); N_f={counts['n_f']}, "
        f"N_p={counts['n_p']}; {len(labels['train'])} fit / {len(labels['val'])} validation / "
        f"{len(labels['test'])} test points")
    t0 = time.perf_counter()
    with threadpool_limits(snakemake.threads):
        table = measure_alpha(base, narrow, labels, n_f=counts["n_f"], n_p=counts["n_p"], repeats=s["repeats"],
                              select=s["select"], loo_subsample=s["loo_subsample"], probe_c=s["probe_c"],
                              probe_max_iter=s["probe_max_iter"], shuffled_fit_fraction=s["shuffled_fit_fraction"],
                              seed=s["seed"], log=log)
    table.insert(0, "state", wc.state)
    table.insert(0, "alpha", 1 / int(wc.k))
    table.insert(0, "arch", wc.arch)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} measurements in {time.perf_counter() - t0:.1f} s")
