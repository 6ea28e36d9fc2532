"""Benchmark: feature span error onto 512 targets from α = 1/16 concatenations.

Two regressor sets on 45,000 fit points (CIFAR-10's training split less a validation split),
both concatenations of 32-feature "M_1/16" members:

* ``nf``: N_f = 16 members → 512 regressors;
* ``np``: N_p = 254 members → 8,128 regressors (the paper's N_p-scale concatenation).

Features are random float32 with shared structure: a latent factor matrix Z (n × 64) drives
every member (``relu(Z A_m + noise)``, member-specific A_m) and the 512 targets
(``relu(Z B + noise)``, the "M_1" penultimate features), so FSE sits well inside (0, 1).

For each case the script times :func:`featurelab.width.feature_span_error` (one
factorisation, exact efficient leave-one-out over an 8-value λ grid, FSE on 5,000 evaluation
points) and reports its stages, then fits scikit-learn ``Ridge(alpha=λ*)`` target by target
(λ* = our LOO choice, i.e. the baseline gets its penalty for free) on a few targets, scales
that time to 512 targets, and checks that both give the same ε_s on those targets. Each case
runs in its own child process so ``ru_maxrss`` is that case's peak resident memory
("after data" = generated arrays alone; "after FSE" = data + our solver; sklearn runs last).

    .venv/bin/python benchmarks/bench_width.py            # full: n = 45,000
    .venv/bin/python benchmarks/bench_width.py --quick    # n = 3,000, 128 targets, 64 members
    .venv/bin/python benchmarks/bench_width.py --case np --loo-subsample 8192

Goals (2 cores): the N_p case under 2 minutes and ≥ 20× faster than target by target.
Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurelab import width as W  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def generate(n: int, n_eval: int, members: int, member_dim: int, targets: int, latent: int,
             seed: int) -> tuple[np.ndarray, ...]:
    """float32 regressors (n+n_eval, members·member_dim) and targets (n+n_eval, targets)."""
    rng = np.random.default_rng(seed)
    total = n + n_eval
    Z = rng.standard_normal((total, latent), dtype=np.float32)
    Z *= np.geomspace(3.0, 0.3, latent).astype(np.float32)
    p = members * member_dim
    X = np.empty((total, p), dtype=np.float32)
    for m in range(members):
        A = rng.standard_normal((latent, member_dim), dtype=np.float32) / np.sqrt(latent)
        # each member sees the latent factors through its own map, with private noise
        blk = Z @ A
        blk += 0.5 * rng.standard_normal(blk.shape, dtype=np.float32)
        np.maximum(blk, 0.0, out=blk)
        X[:, m * member_dim:(m + 1) * member_dim] = blk
    B = rng.standard_normal((latent, targets), dtype=np.float32) / np.sqrt(latent)
    Y = Z @ B
    # the "M_1" features also hold a nonlinear part no member sees linearly
    Y += 0.3 * np.tanh(Z[:, :8] @ rng.standard_normal((8, targets), dtype=np.float32)) ** 2
    Y += 0.2 * rng.standard_normal(Y.shape, dtype=np.float32)
    np.maximum(Y, 0.0, out=Y)
    return X[:n], Y[:n], X[n:], Y[n:]


def run_case(args: argparse.Namespace) -> dict:
    members = args.members_nf if args.case == "nf" else args.members_np
    t0 = time.perf_counter()
    X, Y, Xe, Ye = generate(args.n, args.n_eval, members, 32, args.targets, args.latent, args.seed)
    gen_s = time.perf_counter() - t0
    mem_data = peak_mb()
    data_mb = (X.nbytes + Y.nbytes + Xe.nbytes + Ye.nbytes) / 2**20

    t0 = time.perf_counter()
    res = W.feature_span_error(X, Y, Xe, Ye, select=args.select, loo_subsample=args.loo_subsample,
                               solver_kwargs={"eigh_dtype": args.eigh_dtype})
    ours_s = time.perf_counter() - t0
    mem_ours = peak_mb()

    # scikit-learn, target by target, with our chosen λ (no penalty search for it)
    from sklearn.linear_model import Ridge

    k = min(args.sklearn_targets, args.targets)
    lam = float(res["lambda"])
    t0 = time.perf_counter()
    eps_sk = []
    for j in range(k):
        pred = Ridge(alpha=lam).fit(X, Y[:, j]).predict(Xe)
        y = Ye[:, j].astype(np.float64)
        eps_sk.append(np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
    sk_s = time.perf_counter() - t0
    sk_total = sk_s / max(k, 1) * args.targets
    eps_ours = res["per_target"][:k]
    return {
        "case": args.case, "n_fit": args.n, "n_eval": args.n_eval, "regressors": X.shape[1],
        "targets": args.targets, "members": members, "data_mb": data_mb, "generate_s": gen_s,
        "fse": res["fse"], "lambda": lam, "lambda_rel": lam / (res["lambdas"][0] / W.DEFAULT_RELATIVE_LAMBDAS[0]),
        "grid": len(res["lambdas"]), "method": res["method"], "select": res["select"],
        "loo_subsample": args.loo_subsample, "eigh_dtype": args.eigh_dtype, "timings": res["timings"], "ours_s": ours_s,
        "peak_after_data_mb": mem_data, "peak_after_fse_mb": mem_ours, "peak_total_mb": peak_mb(),
        "sklearn_targets": k, "sklearn_s": sk_s, "sklearn_512_s": sk_total,
        "speedup": sk_total / ours_s if k else float("nan"),
        "max_abs_eps_diff": float(np.max(np.abs(np.asarray(eps_sk) - eps_ours))) if k else float("nan"),
        "loadavg": os.getloadavg(),
    }


def print_result(r: dict) -> None:
    t = r["timings"]
    print(f"\n== case {r['case']}: {r['members']} members × 32 = {r['regressors']} regressors, "
          f"{r['targets']} targets, n_fit = {r['n_fit']}, n_eval = {r['n_eval']} (float32, {r['data_mb']:.0f} MB)")
    print(f"  data generation                 {r['generate_s']:8.1f} s")
    print(f"  ours: feature_span_error        {r['ours_s']:8.1f} s   (route {r['method']}, select {r['select']}"
          f"{'' if r['loo_subsample'] is None else ' on ' + str(r['loo_subsample']) + ' points'}, {r['grid']} λ)")
    print(f"    Gram pass XᵀX, XᵀY            {t.get('gram', float('nan')):8.1f} s")
    print(f"    eigh ({r['eigh_dtype']})               {t.get('eigh', float('nan')):8.1f} s")
    print(f"    λ selection (LOO pass)        {t.get('select', float('nan')):8.1f} s")
    rest = r["ours_s"] - sum(t.values())
    print(f"    coefficients + eval           {rest:8.1f} s")
    print(f"  FSE = {r['fse']:.4f}, λ* = {r['lambda']:.4g} (= {r['lambda_rel']:.0e} × mean Gram eigenvalue)")
    print(f"  peak RSS: after data {r['peak_after_data_mb']:.0f} MB, after FSE {r['peak_after_fse_mb']:.0f} MB "
          f"(solver +{r['peak_after_fse_mb'] - r['peak_after_data_mb']:.0f} MB), "
          f"with sklearn {r['peak_total_mb']:.0f} MB")
    if r["sklearn_targets"]:
        print(f"  sklearn Ridge target by target: {r['sklearn_targets']} targets in {r['sklearn_s']:.1f} s "
              f"→ {r['targets']} targets ≈ {r['sklearn_512_s']:.0f} s ({r['sklearn_512_s'] / 3600:.2f} h)")
        print(f"  speed-up ≈ {r['speedup']:.0f}×;  max |ε_s(ours) − ε_s(sklearn)| on those targets = "
              f"{r['max_abs_eps_diff']:.2e}")
    print(f"  load average during the case: {', '.join(f'{v:.1f}' for v in r['loadavg'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n = 3,000, 128 targets, N_p case with 64 members")
    ap.add_argument("--case", choices=["nf", "np", "all"], default="all")
    ap.add_argument("--n", type=int, default=45_000)
    ap.add_argument("--n-eval", type=int, default=5_000)
    ap.add_argument("--targets", type=int, default=512)
    ap.add_argument("--members-nf", type=int, default=16)
    ap.add_argument("--members-np", type=int, default=254)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--select", choices=["loo", "gcv"], default="loo")
    ap.add_argument("--loo-subsample", type=int, default=None)
    ap.add_argument("--eigh-dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--sklearn-targets", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.n, args.n_eval, args.targets, args.members_np = 3_000, 500, 128, 64
        args.sklearn_targets = min(args.sklearn_targets, 2)

    if args.child:
        print("RESULT " + json.dumps(run_case(args)), flush=True)
        return

    import numpy
    import scipy
    print(f"bench_width: python {platform.python_version()}, numpy {numpy.__version__}, scipy {scipy.__version__}, "
          f"{os.cpu_count()} CPUs, load average {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    cases = ["nf", "np"] if args.case == "all" else [args.case]
    argv, skip = [], False  # the parent's flags, less --case, go to every child
    for a in sys.argv[1:]:
        if skip or a.startswith("--case="):
            skip = False
            continue
        if a == "--case":
            skip = True
            continue
        argv.append(a)
    for case in cases:
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--case", case, "--child"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
        r = json.loads(line[len("RESULT "):])
        print_result(r)
        print(f"  (child process wall time {time.perf_counter() - t0:.1f} s)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
