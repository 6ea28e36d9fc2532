"""Rule width_measure: every FSE/FSG/FP/residual measurement of one architecture, α and
state (trained or random init) over the repeats (featurelab.width_study.measure_alpha)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    from featurelab.activations import read_activations
    from featurelab.width import n_f as count_n_f
    from featurelab.width_study import measure_alpha

    wc, p = snakemake.wildcards, snakemake.params
    k, state = int(wc.k), wc.state
    s = p.settings
    splits = ("train", "val", "test")

    def load(name, n_members):
        feats, labels = [], {}
        for m in range(n_members):
            member = {}
            for split in splits:
                a = read_activations(f"results/{name}/features/member{m}/{state}/{split}.parquet",
                                     columns=("label", "activation"))
                member[split] = a.activation.astype(np.float64)
                if split not in labels:
                    labels[split] = a.label
                elif not np.array_equal(labels[split], a.label):
                    raise ValueError(f"{name} member {m}: {split} points are not in the same order")
            feats.append(member)
        return feats, labels

    ens = p.ensembles
    base, labels = load(f"w_{wc.arch}_a1", ens["base"]["members"])
    narrow, labels_n = load(f"w_{wc.arch}_a{k}", ens["narrow"]["members"])
    for split in splits:
        if not np.array_equal(labels[split], labels_n[split]):
            raise ValueError(f"base and α=1/{k} features disagree on the {split} labels")
    n_f = count_n_f(f"1/{k}")
    n_p = ens["narrow"]["members"] // s["repeats"]
    log(f"{wc.arch} α=1/{k} {state}: {len(base)} base members ({base[0]['train'].shape[1]} features), "
        f"{len(narrow)} low-width members ({narrow[0]['train'].shape[1]} features); N_f={n_f}, N_p={n_p}; "
        f"{len(labels['train'])} fit / {len(labels['val'])} validation / {len(labels['test'])} test points")
    t0 = time.perf_counter()
    with threadpool_limits(snakemake.threads):
        table = measure_alpha(base, narrow, labels, n_f=n_f, n_p=n_p, repeats=s["repeats"], select=s["select"],
                              loo_subsample=s["loo_subsample"], probe_c=s["probe_c"],
                              probe_max_iter=s["probe_max_iter"], shuffled_fit_fraction=s["shuffled_fit_fraction"],
                              seed=s["seed"], log=log)
    table.insert(0, "state", state)
    table.insert(0, "alpha", 1 / k)
    table.insert(0, "arch", wc.arch)
    table.to_csv(snakemake.output[0], index=False)
    log(f"{len(table)} measurements in {time.perf_counter() - t0:.1f} s")
