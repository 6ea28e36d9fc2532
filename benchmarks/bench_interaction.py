"""Benchmark: the interaction tensor Ω end to end from activation Parquet files.

Generates M models' activations (N points × d dims, float32) that share latent factors
(each model: a random orthonormal embedding of the same shared factors plus its own
private factors and noise), writes them in the workflow's activation format (one
Parquet file per model, ``activation`` as fixed_size_list<float32>[d] plus ``index``,
``label``, ``prediction``, ``logits``; see featurelab.activations), then times

    read → PCA (K) → Λ → γcorr → clustering → normalisation + γdata → Ω → write Ω

and reports wall time per stage and peak memory (ru_maxrss). The same run times the
pure-Python references ``cluster_features_loops`` and ``interaction_tensor_loops`` on the
same inputs, checks they agree, and prints the speed-ups. The data are generated in a
child process so the parent's peak memory is the pipeline's own.

    .venv/bin/python benchmarks/bench_interaction.py [--models 20 --points 10000 --dim 512 --k 50]

Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurelab import interaction as it  # noqa: E402
from featurelab.activations import read_activations, write_activations  # noqa: E402


def generate(out: Path, m: int, n: int, d: int, n_shared: int, n_private: int, classes: int,
             seed: int) -> None:
    """Write M activation files with shared latent structure."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    # heavy-ish tailed shared factors with decreasing scales, partly driven by the label
    shared = rng.standard_normal((n, n_shared)) + 1.5 * (rng.random((classes, n_shared)) < 0.2)[labels]
    shared *= np.geomspace(8.0, 1.0, n_shared)
    for i in range(m):
        q, _ = np.linalg.qr(rng.standard_normal((d, n_shared + n_private)))
        private = rng.standard_normal((n, n_private)) * np.geomspace(4.0, 0.5, n_private)
        z = np.hstack([shared, private])
        act = (z @ q.T + 0.1 * rng.standard_normal((n, d))).astype(np.float32)
        logits = (act @ rng.standard_normal((d, classes)) * 0.05).astype(np.float32)
        pred = np.where(rng.random(n) < 0.8, labels, rng.integers(0, classes, n))
        write_activations(out / f"model_{i:02d}.parquet", index=np.arange(n), label=labels,
                          prediction=pred, logits=logits, activation=act,
                          metadata={"architecture": "synthetic", "member": i, "layer": "penultimate"})


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--shared", type=int, default=40, help="shared latent factors")
    ap.add_argument("--private", type=int, default=40, help="private factors per model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-loops", action="store_true", help="skip the pure-Python baselines")
    ap.add_argument("--dir", type=Path, default=None, help="keep the files here (default: temp dir)")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS and Arrow to this many threads (default: library defaults)")
    ap.add_argument("--reuse", action="store_true", help="reuse model_*.parquet already in --dir")
    ap.add_argument("--generate-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.generate_only is not None:
        generate(args.generate_only, args.models, args.points, args.dim, args.shared,
                 args.private, 10, args.seed)
        return

    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_interaction_")
        workdir = Path(tmp.name)
    else:
        workdir = args.dir
        workdir.mkdir(parents=True, exist_ok=True)

    if args.threads is not None:
        import pyarrow as pa
        import threadpoolctl
        threadpoolctl.threadpool_limits(args.threads)
        pa.set_cpu_count(args.threads)
    try:
        import threadpoolctl
        blas = ", ".join(f"{p['internal_api']} {p['num_threads']} threads"
                         for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas")
    except ImportError:  # pragma: no cover
        blas = "unknown"
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
          f"(affinity {len(os.sched_getaffinity(0))}), numpy {np.__version__}, BLAS: {blas}")
    print("load average (1, 5, 15 min): %.2f %.2f %.2f" % os.getloadavg())
    print(f"M={args.models} models, N={args.points} points, d={args.dim}, K={args.k}; "
          f"files in {workdir}")

    t0 = time.perf_counter()
    if not (args.reuse and len(list(workdir.glob("model_*.parquet"))) == args.models):
        subprocess.run([sys.executable, __file__, "--generate-only", str(workdir),
                        "--models", str(args.models), "--points", str(args.points),
                        "--dim", str(args.dim), "--shared", str(args.shared),
                        "--private", str(args.private), "--seed", str(args.seed)], check=True)
    files = sorted(workdir.glob("model_*.parquet"))
    size = sum(f.stat().st_size for f in files) / 2**20
    print(f"generated/found {len(files)} files ({size:.0f} MiB, zstd) in {time.perf_counter() - t0:.1f} s "
          "(not timed below)\n")

    stages: list[tuple[str, float, float, float]] = []
    cpu_last = [time.process_time()]

    def stage(name: str, t_start: float) -> float:
        now, cpu = time.perf_counter(), time.process_time()
        stages.append((name, now - t_start, cpu - cpu_last[0], maxrss_mib()))
        cpu_last[0] = cpu
        return now

    rss0 = maxrss_mib()
    cpu_all = cpu_last[0] = time.process_time()
    t_all = t = time.perf_counter()
    acts = [read_activations(f, columns=("activation",)).activation for f in files]
    t = stage("read Parquet", t)
    proj = np.stack([it.pca_project(a, args.k) for a in acts])
    del acts
    t = stage(f"PCA K={args.k}", t)
    lam = it.correlation_tensor(proj)
    t = stage("Λ (correlation tensor)", t)
    gc = it.gamma_corr(lam)
    t = stage("γcorr (90th pct)", t)
    clusters = it.cluster_features(lam, gc)
    t = stage("clustering (Alg. 1)", t)
    normed = it.normalize_columns(proj)
    gd = it.gamma_data(normed)
    t = stage("normalise + γdata", t)
    omega = it.interaction_tensor(normed, clusters, gd)
    t = stage("Ω triplets", t)
    T = int(clusters.max()) + 1
    it.write_omega(workdir / "omega.parquet", omega, args.models, args.points, T,
                   {"gamma_corr": gc, "gamma_data": gd, "k": args.k})
    t = stage("write Ω Parquet", t)
    total = t - t_all

    print(f"{'stage':<26}{'wall s':>9}{'CPU s':>9}{'peak RSS MiB':>15}")
    for name, dt, dc, rss in stages:
        print(f"{name:<26}{dt:>9.3f}{dc:>9.3f}{rss:>15.0f}")
    print(f"{'END TO END':<26}{total:>9.3f}{time.process_time() - cpu_all:>9.3f}"
          f"{maxrss_mib():>15.0f}   (RSS before: {rss0:.0f} MiB)")
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())
    print(f"\nγcorr={gc:.4f}  γdata={gd:.4f}  T={T} clusters of {args.models * args.k} features  "
          f"|Ω|={len(omega):,} triplets  "
          f"mean nfeat={it.features_per_point(omega, args.points).mean():.1f}")
    sizes = np.bincount(clusters.ravel())
    print(f"cluster sizes: max {sizes.max()}, clusters spanning ≥{args.models // 2} models: "
          f"{int(np.sum(it.model_feature_matrix(clusters, T).sum(axis=0) >= args.models // 2))}")

    if args.no_loops:
        return
    t_vec = dict((name, dt) for name, dt, _, _ in stages)
    print("\npure-Python baselines on the same inputs:")
    dt_vec = t_vec["clustering (Alg. 1)"]
    dt_loop = None
    for label, gamma in ((f"default γcorr={gc:.3f}", gc), ("fixed γcorr=0.5", 0.5),
                         ("fixed γcorr=0.7", 0.7), ("γcorr=1 (every feature a seed)", 1.0)):
        t = time.perf_counter()
        fast = it.cluster_features(lam, gamma)
        dv = time.perf_counter() - t
        t = time.perf_counter()
        slow = it.cluster_features_loops(lam, gamma)
        dl = time.perf_counter() - t
        if dt_loop is None:
            dt_loop = dl
        print(f"  clustering, {label:<31} T={int(fast.max()) + 1:>4}: loops {dl:.3f} s vs "
              f"vectorised {dv:.4f} s -> {dl / dv:.0f}× faster; identical: "
              f"{np.array_equal(fast, slow)}")
    t = time.perf_counter()
    omega_loop = it.interaction_tensor_loops(normed, clusters, gd)
    dt_oloop = time.perf_counter() - t
    dt_ovec = t_vec["Ω triplets"]
    print(f"  Ω (default γ's): loops {dt_oloop:.3f} s vs vectorised {dt_ovec:.4f} s  "
          f"-> {dt_oloop / dt_ovec:.0f}× faster; identical: {omega_loop.equals(omega)}")
    print(f"  clustering + Ω: {(dt_loop + dt_oloop) / (dt_vec + dt_ovec):.0f}× faster")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
