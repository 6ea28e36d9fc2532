"""Benchmark of featurelab.diversity.metrics (Gontijo-Lopes, Dauphin, Cubuk, "No One Representation
to Rule Them All: Overlapping Features of Training Methods", ICLR 2022, §3-4, Figs 1-5): the
vectorised pairwise analysis of a model zoo against the obvious per-pair Python loop, in one process.
Prints numbers; no assertions.

    python benchmarks/bench_diversity.py [--models 30] [--points 10000] [--classes 10] [--boot 1000]
                                         [--seed 0] [--baseline-pairs 24] [--threads N]

Data: random logits of ``--models`` models on a validation split (half as many points) and a test
split of ``--points`` points, correlated through a shared per-point difficulty and a per-family
term (5 families), each model with its own scale (so calibration matters); accuracies ~0.6-0.8.

(a) vectorised: ``fit_temperatures`` (all models at once) + ``pairwise_metrics`` of all pairs +
``angle_histograms`` of all pairs + ``bootstrap_pair_metrics`` (5 categories of pairs: the family
distance 0-4) with ``--boot`` resamples.

(b) baseline: per-model ``fit_temperature`` (SciPy bounded Brent) and, per pair, the scalar
functions: ``error_inconsistency``, an ensemble by ``np.mean`` + ``argmax``, ``conversion_rate``,
four ``np.histogram`` calls of θ, and a bootstrap loop drawing ``rng.integers(0, N, N)`` indices per
resample (the generator re-seeded per pair, so it is paired too and draws the same indices as (a)).
The per-pair part is timed on ``--baseline-pairs`` evenly spaced pairs and scaled per pair to all
pairs (0 = all pairs).

``--threads`` caps the BLAS threads (threadpoolctl) of both paths; by default BLAS uses every core.
On a 2-core machine that is busy with other work, 2 BLAS threads can make the bootstrap's matrix
products ~10× slower than 1 thread (spin-waiting threads), so ``--threads 1`` is the robust setting there.

Goal: ≥ 20× over the baseline and the vectorised path under 10 s at the defaults.
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from featurelab.diversity import metrics as D


def make_logits(M: int, N: int, K: int, rng: np.random.Generator, families: np.ndarray,
                signal: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlated logits ``(M, N, K)`` and labels ``(N,)``: per point a shared difficulty, per
    family a shared term, per model its own noise; the true class gets ``signal[m]``."""
    y = rng.integers(0, K, N)
    shared = rng.standard_normal((N, K))
    fam = rng.standard_normal((families.max() + 1, N, K))
    logits = np.empty((M, N, K))
    for m in range(M):
        z = 0.55 * shared + 0.55 * fam[families[m]] + 0.63 * rng.standard_normal((N, K))
        z[np.arange(N), y] += signal[m]
        logits[m] = scale[m] * z
    return logits, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=30)
    ap.add_argument("--points", type=int, default=10000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-pairs", type=int, default=24,
                    help="pairs the per-pair baseline is timed on, scaled per pair (0 = all pairs)")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's default)")
    args = ap.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    M, N, K, B = args.models, args.points, args.classes, args.boot
    rng = np.random.default_rng(args.seed)
    families = np.arange(M) * 5 // M
    signal = rng.uniform(1.6, 2.6, M)
    scale = rng.uniform(0.5, 3.0, M)
    val_logits, y_val = make_logits(M, max(N // 2, 2), K, rng, families, signal, scale)
    test_logits, y = make_logits(M, N, K, rng, families, signal, scale)
    i_all, j_all = np.triu_indices(M, 1)
    P = i_all.size
    distance = np.abs(families[i_all] - families[j_all])
    groups = {f"family distance {d}": np.flatnonzero(distance == d).tolist() for d in range(5)}
    groups = {k: v for k, v in groups.items() if v}
    print(f"featurelab.diversity.metrics benchmark: {M} models, {N} test points (+{val_logits.shape[1]} "
          f"validation), {K} classes, {P} pairs, {B} bootstrap resamples, seed {args.seed}; numpy "
          f"{np.__version__}, {platform.processor() or platform.machine()}, "
          f"BLAS threads {args.threads if args.threads is not None else 'default'}")

    # warm-up (imports, first-call overheads), not timed
    small = D.softmax(test_logits[:3, :200])
    D.fit_temperature(val_logits[0, :200], y_val[:200])
    D.fit_temperatures(val_logits[:2, :200], y_val[:200])
    m0 = D.pairwise_metrics(small, y[:200], return_correct=True)
    D.bootstrap_pair_metrics(m0["correct"], m0["ens_correct"], (m0["i"], m0["j"]), n_boot=5)

    # ------------------------------------------------------------------ (a) vectorised
    times = {}
    t0 = time.perf_counter()
    T = D.fit_temperatures(val_logits, y_val)
    probs = D.softmax(test_logits, T[:, None, None])
    t1 = time.perf_counter()
    met = D.pairwise_metrics(probs, y, return_correct=True)
    t2 = time.perf_counter()
    hist = D.angle_histograms(probs, y)
    t3 = time.perf_counter()
    boot = D.bootstrap_pair_metrics(met["correct"], met["ens_correct"], (met["i"], met["j"]), n_boot=B,
                                    seed=args.seed, groups_of_pairs=groups, return_samples=True)
    t4 = time.perf_counter()
    times = {"fit_temperatures + softmax": t1 - t0, "pairwise_metrics (all pairs)": t2 - t1,
             "angle_histograms (all pairs)": t3 - t2, f"bootstrap_pair_metrics ({B} resamples)": t4 - t3}
    vec_total = t4 - t0
    print(f"\n(a) vectorised: {vec_total:.2f} s")
    for k, v in times.items():
        print(f"  {k:38s} {v:7.3f} s")

    # ------------------------------------------------------------------ (b) baseline
    n_sub = P if args.baseline_pairs <= 0 else min(P, args.baseline_pairs)
    sub = np.unique(np.linspace(0, P - 1, n_sub).astype(int))
    t0 = time.perf_counter()
    T_ref = np.array([D.fit_temperature(val_logits[m], y_val) for m in range(M)])
    probs_ref = np.stack([D.softmax(test_logits[m] / T_ref[m]) for m in range(M)])
    t_temp = time.perf_counter() - t0
    edges = D.DEFAULT_ANGLE_BINS
    diffs = {"ei": 0.0, "gain": 0.0, "conversion": 0.0, "histograms": 0.0, "bootstrap samples": 0.0}
    t_metrics = t_hist = t_boot = 0.0
    for p in sub:
        i, j = int(i_all[p]), int(j_all[p])
        ta = time.perf_counter()
        pi, pj = probs_ref[i], probs_ref[j]
        pred_i, pred_j = pi.argmax(-1), pj.argmax(-1)
        pred_e = np.mean(np.stack([pi, pj]), axis=0).argmax(-1)
        ei = D.error_inconsistency(pred_i, pred_j, y)
        acc_i, acc_j, acc_e = np.mean(pred_i == y), np.mean(pred_j == y), np.mean(pred_e == y)
        gain = acc_e - (acc_i + acc_j) / 2
        conv = D.conversion_rate(pred_i, pred_j, pred_e, y)
        tb = time.perf_counter()
        theta = D.specialisation_angle(D.top1_confidence(pi), D.top1_confidence(pj))
        ci, cj, ce = pred_i == y, pred_j == y, pred_e == y
        h = {"both_correct": np.histogram(theta[ci & cj], edges)[0], "both_wrong": np.histogram(theta[~ci & ~cj], edges)[0],
             "only_i": np.histogram(theta[ci & ~cj], edges)[0], "only_j": np.histogram(theta[~ci & cj], edges)[0]}
        tc = time.perf_counter()
        r = np.random.default_rng(args.seed)
        bs = np.empty((B, 3))
        for b in range(B):
            idx = r.integers(0, N, N)
            bi, bj, be = ci[idx], cj[idx], ce[idx]
            d = bi != bj
            nd = np.count_nonzero(d)
            bs[b] = (np.mean(d), np.mean(be) - (np.mean(bi) + np.mean(bj)) / 2,
                     np.count_nonzero(d & be) / nd if nd else np.nan)
        td = time.perf_counter()
        t_metrics += tb - ta
        t_hist += tc - tb
        t_boot += td - tc
        for k, v in (("ei", ei), ("gain", gain), ("conversion", conv)):
            diffs[k] = max(diffs[k], float(np.nan_to_num(abs(met[k][p] - v), nan=np.inf)
                                           if not (np.isnan(met[k][p]) and np.isnan(v)) else 0.0))
        diffs["histograms"] = max(diffs["histograms"], max(float(np.abs(hist[g][p] - h[g]).max()) for g in h))
        vs = np.stack([boot["samples"][k][:, p] for k in ("ei", "gain", "conversion")], axis=1)
        diffs["bootstrap samples"] = max(diffs["bootstrap samples"], float(np.nanmax(np.abs(vs - bs))))
    scale_pairs = P / sub.size
    base_total = t_temp + (t_metrics + t_hist + t_boot) * scale_pairs
    measured = "all pairs" if sub.size == P else f"timed on {sub.size} of {P} pairs, scaled per pair x{scale_pairs:.1f}"
    print(f"\n(b) baseline (per-model fit_temperature, per-pair loop; {measured}): {base_total:.1f} s")
    print(f"  {'fit_temperature x' + str(M) + ' + softmax':38s} {t_temp:7.3f} s")
    print(f"  {'EI + ensemble + conversion per pair':38s} {t_metrics * scale_pairs:7.3f} s "
          f"({t_metrics / sub.size * 1e3:.2f} ms/pair)")
    print(f"  {'θ histograms per pair':38s} {t_hist * scale_pairs:7.3f} s ({t_hist / sub.size * 1e3:.2f} ms/pair)")
    print(f"  {'bootstrap loop per pair':38s} {t_boot * scale_pairs:7.3f} s ({t_boot / sub.size * 1e3:.1f} ms/pair)")

    print(f"\nagreement (the {sub.size} baseline pairs; max |Δ|): temperature (relative) "
          f"{float(np.max(np.abs(T / T_ref - 1))):.1e}, probabilities {float(np.max(np.abs(probs - probs_ref))):.1e}, "
          + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    print(f"\nspeed-up (baseline / vectorised): {base_total / vec_total:.1f}x; vectorised total {vec_total:.2f} s "
          f"(goal: >= 20x and under 10 s)")

    print(f"\nmodels: accuracy {met['acc_i'].min():.3f}..{max(met['acc_i'].max(), met['acc_j'].max()):.3f}, "
          f"temperature {T.min():.2f}..{T.max():.2f}")
    print(f"  {'category':20s} {'pairs':>5s}   {'EI [95% CI]':>24s}   {'gain [95% CI]':>26s}   "
          f"{'conversion [95% CI]':>24s}")
    for g, res in boot["groups"].items():
        cells = [f"{res[k]['estimate']:.4f} [{res[k]['lo']:.4f}, {res[k]['hi']:.4f}]" for k in ("ei", "gain", "conversion")]
        print(f"  {g:20s} {len(groups[g]):5d}   {cells[0]:>24s}   {cells[1]:>26s}   {cells[2]:>24s}")
    print(f"  per-pair bootstrap se of EI: {boot['pair_ei_se'].min():.4f}..{boot['pair_ei_se'].max():.4f} "
          f"(binomial sqrt(EI(1-EI)/N): {np.sqrt(met['ei'] * (1 - met['ei']) / N).min():.4f}.."
          f"{np.sqrt(met['ei'] * (1 - met['ei']) / N).max():.4f})")


if __name__ == "__main__":
    main()
