"""Benchmark of featurelab.contamination.numerical (Zhang et al., "Feature Contamination",
ICML 2024, Secs. 3-4 and App. F.1): all numerical runs of the default config, batched,
against one run at a time as the authors' script does (a plain nn.Linear in R^256 +
torch.optim.SGD per run, AdamW for the spheres, full batch), in one process on 2 cores.
Prints numbers; no assertions.

    python benchmarks/bench_contamination.py [--iterations 2000] [--seeds 0] [--baseline-iterations 200]
                                             [--threads 2]
    python benchmarks/bench_contamination.py --config config.yaml [--out findings.json] [--threads 1]

``--config``: the numerical runs of a config file (a preset, or config.yaml), exactly as the
workflow's ``contamination_numerical`` job trains them (each task at its own iteration count,
batched by task and variant), timed, with the findings of
:func:`featurelab.contamination.findings.numerical_findings` printed and written to ``--out``
(the numbers docs/contamination.md quotes).

Default run set: classification {relu, identity} × {code, theory}, regression {relu, identity}
× code, spheres {relu, gelu, sigmoid, tanh}, for each seed. The baseline is timed on
``--baseline-iterations`` iterations per run and scaled per iteration to ``--iterations``
(both record every ``record_every`` iterations, so the evaluation overhead scales alike).

Goal: ≥ 3× over the baseline and the whole numerical part under 2 minutes at the default's
iteration count.
"""
from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace

import numpy as np
import torch

from featurelab.contamination import numerical as N


def default_runs(seeds: list[int]) -> list[N.Run]:
    runs = []
    for seed in seeds:
        runs += [N.Run("classification", a, v, seed) for a in ("relu", "identity") for v in ("code", "theory")]
        runs += [N.Run("regression", a, "code", seed) for a in ("relu", "identity")]
        runs += [N.Run("spheres", a, "code", seed) for a in ("relu", "gelu", "sigmoid", "tanh")]
    return runs


def run_config(path: str, threads: int, out: str | None) -> None:
    """The config's numerical runs as the workflow's job runs them, and their findings."""
    import dataclasses
    import json

    from featurelab.config import load_config
    from featurelab.contamination import findings
    from featurelab.plan import contamination_runs

    cfg = load_config(path)
    num = cfg["contamination"]["numerical"]
    specs = contamination_runs(cfg)
    base = N.NumericalSetting.from_dict({**num["setting"], "record_every": num["record_every"]}, strict=True)
    curves, iterations, factors, seconds = [], {}, {}, {}
    t_all = time.perf_counter()
    for T in sorted({r["iterations"] for r in specs}):
        group = [r for r in specs if r["iterations"] == T]
        setting = dataclasses.replace(base, iterations=T)
        t0 = time.perf_counter()
        results = N.run_batch(setting, [N.Run(r["task"], r["activation"], r["variant"], r["seed"]) for r in group],
                              log=lambda s: print("  " + s, flush=True), threads=threads)
        seconds[T] = time.perf_counter() - t0
        for r, res in zip(group, results):
            seconds[f"{r['task']}/{r['variant']}"] = res["seconds"]
        curves.append(findings.numerical_tables(group, results)[0])
        for task, variant in {(r["task"], r["variant"]) for r in group}:
            iterations[task] = T
            if task != "spheres":
                mu = setting.momentum if variant == "code" else 0.0
                factors[f"{task}_{variant}"] = N.momentum_decay_factor(setting.lr, mu, setting.weight_decay, T)
    total = time.perf_counter() - t_all
    import pandas as pd
    f = findings.numerical_findings(pd.concat(curves, ignore_index=True), factors, iterations,
                                    thresholds={k: v for k, v in cfg["contamination"]["thresholds"].items()
                                                if k in findings.NUMERICAL_THRESHOLDS},
                                    level=cfg.get("verdicts", {}).get("level", 0.95))
    print(f"\n{path}: {len(specs)} runs, {total:.1f} s on {threads} thread(s); per group: "
          + ", ".join(f"{k}: {v:.1f} s" for k, v in seconds.items() if isinstance(k, str)))
    from featurelab.verdicts import collect
    for row in collect(f, "contamination"):
        est = "—" if row["estimate"] is None else f"{row['estimate']:.4g}"
        iv = "" if row["lo"] is None else f" [{row['lo']:.4g}, {row['hi']:.4g}]"
        print(f"  {row['finding']:60s} {est}{iv}  {row['verdict']}")
    if out:
        with open(out, "w") as fh:
            json.dump({"config": path, "seconds": total, "threads": threads, "findings": f}, fh, indent=1,
                      default=float)
        print(f"findings: {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="run this config's numerical runs as the workflow does, and their findings")
    ap.add_argument("--out", help="with --config: write the findings here (JSON)")
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--baseline-iterations", type=int, default=200,
                    help="iterations per run the baseline is timed on (scaled per iteration)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args()
    if args.config:
        run_config(args.config, args.threads, args.out)
        return

    torch.set_num_threads(args.threads)
    setting = replace(N.NumericalSetting(), iterations=args.iterations)
    runs = default_runs(args.seeds)
    print(f"featurelab.contamination.numerical benchmark: {len(runs)} runs, {args.iterations} iterations, "
          f"seeds {args.seeds}, {args.threads} threads; torch {torch.__version__}, {platform.processor() or platform.machine()}")
    print(f"setting: {setting}")

    # warm-up (one-off library initialisation), not timed
    N.run_batch(replace(setting, iterations=2), runs[:1] + runs[-1:])
    N.reference_run(setting, runs[0], iterations=2)

    t0 = time.perf_counter()
    results = N.run_batch(setting, runs, log=None if args.quiet else (lambda s: print("  " + s, flush=True)))
    batched = time.perf_counter() - t0

    print(f"\nbatched (run_batch): {batched:.1f} s for {len(runs)} runs × {args.iterations} iterations, "
          f"{batched / max(args.iterations, 1) * 1e3:.2f} ms per iteration of the whole run set")
    groups: dict[str, tuple[float, int]] = {}
    for run, res in zip(runs, results):
        groups[run.task] = (res["seconds"], res["batch_runs"])
    for task, (sec, n) in groups.items():
        print(f"  {task:15s} {n:2d} runs in one batch: {sec:7.1f} s, {sec / max(args.iterations, 1) * 1e3:6.2f} ms/it, "
              f"{sec / max(args.iterations, 1) / n * 1e3:6.2f} ms per run-iteration")

    bi = args.baseline_iterations
    print(f"\nbaseline (one run at a time, nn.Linear in R^{setting.d} + torch.optim, autograd), timed on {bi} "
          f"iterations per run and scaled per iteration to {args.iterations}:")
    base_total = 0.0
    worst: dict[str, dict[str, float]] = {"SGD": {}, "AdamW": {}}
    common: list[int] = []
    for run, res in zip(runs, results):
        ref = N.reference_run(setting, run, iterations=bi)
        per_it = ref["seconds"] / max(bi, 1)
        base_total += per_it * args.iterations
        common = [int(i) for i in np.intersect1d(ref["iteration"], res["iteration"])]
        w = worst["AdamW" if run.task == "spheres" else "SGD"]
        for key in ("train_loss", "id_loss", "bg_norm"):
            a = res[key][np.isin(res["iteration"], common)]
            b = ref[key][np.isin(ref["iteration"], common)]
            w[key] = max(w.get(key, 0.0), float(np.nanmax(np.abs(a - b))))
        print(f"  {run.label:38s} {per_it * 1e3:6.2f} ms/it -> {per_it * args.iterations:7.1f} s")
    print(f"  total (scaled): {base_total:.1f} s, {base_total / max(args.iterations, 1) * 1e3:.2f} ms per iteration "
          f"of the whole run set")
    for opt, w in worst.items():
        if w:
            print(f"  agreement with the batched runs at iterations {common}, {opt} runs: max |Δ| "
                  + ", ".join(f"{k} {v:.1e}" for k, v in w.items()))
    print("  (the AdamW runs are sensitive at the float-rounding level: a 1e-7 relative change of the initial "
          "weights alone moves their losses by ~1e-3..1e-2 within 100-200 iterations)")

    print(f"\nspeed-up (baseline / batched): {base_total / batched:.2f}x; batched numerical part: {batched:.1f} s "
          f"(goal: >= 3x and < 120 s)")

    print("\nend of training (iteration {}):".format(args.iterations))
    print(f"  {'run':38s} {'train':>7s} {'ID':>7s} {'OOD':>7s} {'ID err':>7s} {'OOD err':>7s} "
          f"{'bg0':>6s} {'bgT':>6s} {'bgT/bg0':>7s} {'core T':>7s} {'asym0':>6s} {'asymT':>6s}")
    for run, res in zip(runs, results):
        print(f"  {run.label:38s} {res['train_loss'][-1]:7.4f} {res['id_loss'][-1]:7.4f} {res['ood_loss'][-1]:7.4f} "
              f"{res['id_error'][-1]:7.4f} {res['ood_error'][-1]:7.4f} {res['bg_norm'][0]:6.3f} "
              f"{res['bg_norm'][-1]:6.3f} {res['bg_norm'][-1] / res['bg_norm'][0]:7.3f} {res['core_norm'][-1]:7.3f} "
              f"{res['asymmetry'][0]:6.3f} {res['asymmetry'][-1]:6.3f}")
    f = N.momentum_decay_factor(setting.lr, setting.momentum, setting.weight_decay, args.iterations)
    print(f"  momentum_decay_factor(lr={setting.lr}, momentum={setting.momentum}, weight_decay={setting.weight_decay}, "
          f"{args.iterations}) = {f:.4f} (a direction without data gradient)")


if __name__ == "__main__":
    main()
