"""Benchmark of featurelab.theory: the closed-form sweeps behind Figures 4, 16 and 5a,
and the Monte Carlo simulation. Prints timings and the figures as text; no assertions.

    python benchmarks/bench_theory.py [--plot DIR] [--repeat N]

Goal: the full Fig 4 + Fig 16 closed-form sweep in well under 5 s on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from featurelab import theory as T


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def print_fig4(df: pd.DataFrame) -> None:
    print("\nFigure 4 (zeta = 0.9·1{k>0}): accuracy / agreement / accuracy − agreement")
    for name, g in df.groupby("ablation", sort=False):
        step = max(1, len(g) // 8)
        rows = pd.concat([g.iloc[::step], g.iloc[[-1]]]).drop_duplicates()
        print(f"-- ablating {name}" + (f" (coupled {g['coupled'].iloc[0]} = ⌊{T.ALPHA}·{g['parameter'].iloc[0]}⌋)"
                                        if g["coupled"].iloc[0] else ""))
        print(rows[["value", "accuracy", "agreement", "difference"]].to_string(
            index=False, float_format=lambda v: f"{v:.4f}"))


def print_fig16(df: pd.DataFrame) -> None:
    print("\nFigure 16: accuracy − agreement; rows = parameter value, columns = eta")
    for (panel, fam), g in df.groupby(["ablation", "zeta_family"], sort=False):
        piv = g.pivot_table(index="value", columns="eta", values="difference", sort=True)
        step = max(1, len(piv) // 6)
        piv = pd.concat([piv.iloc[::step], piv.iloc[[-1]]])
        piv = piv[~piv.index.duplicated()]
        print(f"-- {fam} zeta, ablating {panel}")
        print(piv.to_string(float_format=lambda v: f"{v:+.3f}"))


def plot(fig4: pd.DataFrame, fig16: pd.DataFrame, fig5a: pd.DataFrame, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    names = list(fig4["ablation"].unique())
    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, name in zip(axes.flat, names):
        g = fig4[fig4["ablation"] == name]
        ax.plot(g["value"], g["accuracy"], label="accuracy")
        ax.plot(g["value"], g["agreement"], label="agreement")
        ax.set_title(f"ablating {name}")
    axes.flat[0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig4_theory.png"), dpi=100)
    panels = list(fig16["ablation"].unique())
    fig, axes = plt.subplots(3, len(panels), figsize=(4 * len(panels), 9))
    for i, fam in enumerate(T.ZETA_FAMILIES):
        for j, panel in enumerate(panels):
            g = fig16[(fig16["zeta_family"] == fam) & (fig16["ablation"] == panel)]
            for eta, h in g.groupby("eta"):
                axes[i, j].plot(h["value"], h["difference"], label=f"{eta:g}")
            axes[i, j].set_title(f"{fam}: {panel}")
        axes[i, -1].legend(fontsize=6, title="eta")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig16_theory.png"), dpi=100)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(fig5a["beta"], fig5a["bound"])
    ax.set_xlabel("coverage")
    ax.set_ylabel("Lemma B.1 bound")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig5a_theory.png"), dpi=100)
    print(f"\nplots written to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--plot", metavar="DIR", help="also save PNGs of the figures here")
    ap.add_argument("--repeat", type=int, default=3, help="timing repeats of the sweep")
    args = ap.parse_args()

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}")
    d = T.DEFAULTS
    print(f"defaults {d}: accuracy = {T.accuracy(**d):.6f}, agreement = {T.agreement(**d):.6f}"
          f" (expected: 0.8447, 0.8832)")

    times = []
    for _ in range(args.repeat):
        T._terms.cache_clear()          # cold: every q2 recomputed
        (fig4, t4) = timed(T.sweep_fig4)
        (fig16, t16) = timed(T.sweep_fig16)
        (fig5a, t5) = timed(T.sweep_fig5a)
        times.append((t4, t16, t5))
    best = min(times, key=sum)
    print(f"\nclosed-form sweeps (cold cache, best of {args.repeat}): "
          f"Fig 4 {len(fig4)} rows {best[0]:.3f} s; Fig 16 {len(fig16)} rows {best[1]:.3f} s; "
          f"Fig 5a {len(fig5a)} rows {best[2]:.4f} s; total {sum(best):.3f} s (goal < 5 s)")

    print("\nsimulation vs closed form (seed 0):")
    settings = [
        ("defaults, const 0.9", T.DEFAULTS, None),
        ("defaults, step eta=2", T.DEFAULTS, {"family": "step", "eta": 2}),
        ("defaults, prop eta=1.9", T.DEFAULTS, {"family": "proportional", "eta": 1.9}),
        ("c=48 t_r=600 n_r=50", {**d, "c": 48, "t_r": 600, "n_r": 50}, None),
        ("p_d=0.3 t_d=100 n_d=12", {**d, "p_d": 0.3, "t_d": 100, "n_d": 12}, None),
    ]
    for label, prm, zeta in settings:
        cf = T.closed_form(prm, zeta)
        for n_pairs, n_points in ((2_000, 50), (20_000, 50)):
            sim, ts = timed(T.simulate, prm, zeta, n_pairs=n_pairs, n_points=n_points, seed=0)
            za = (sim["accuracy"] - cf["accuracy"]) / sim["accuracy_se"]
            zg = (sim["agreement"] - cf["agreement"]) / sim["agreement_se"]
            print(f"  {label:24s} {n_pairs * n_points:>9,d} samples {ts:6.3f} s | "
                  f"acc {sim['accuracy']:.4f}±{sim['accuracy_se']:.4f} (closed {cf['accuracy']:.4f}, z={za:+.2f}) "
                  f"agr {sim['agreement']:.4f}±{sim['agreement_se']:.4f} (closed {cf['agreement']:.4f}, z={zg:+.2f})")

    print_fig4(fig4)
    print_fig16(fig16)
    print("\nFigure 5a: Lemma B.1 bound vs coverage beta (beta_d = beta_r) at the defaults")
    print(fig5a[["beta", "bound"]].iloc[::2].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.plot:
        plot(fig4, fig16, fig5a, args.plot)


if __name__ == "__main__":
    main()
