"""Wall time and peak memory of the default `snakemake --cores N` run, from scratch.

Runs the workflow of this checkout with its config.yaml in a fresh temporary working
directory (nothing reused), samples the resident memory of the whole process tree
every 0.2 s, and prints the totals and the time of each rule from Snakemake's
benchmark files.

    python benchmarks/bench_workflow.py --cores 2
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    ap.add_argument("extra", nargs="*", help="more snakemake arguments")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="featurelab-bench-"))
    exe = Path(sys.executable).parent / "snakemake"
    cmd = [str(exe), "-s", str(ROOT / "Snakefile"), "-d", str(work), "--configfile", str(ROOT / "config.yaml"),
           "--cores", str(args.cores), "--quiet", "progress", *args.extra]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(ps))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"snakemake failed with exit code {proc.returncode}")
    per_rule = defaultdict(list)
    bench_root = work / "results/benchmarks"
    for tsv in bench_root.rglob("*.tsv"):
        rule = tsv.relative_to(bench_root).parts[0]  # train/, extract/, interaction/, theory/
        with open(tsv) as fh:
            row = next(csv.DictReader(fh, delimiter="\t"))
        per_rule[rule].append(float(row["s"]))
    print(f"\ncores {args.cores}  wall {wall:.1f} s  peak RSS of the process tree {peak / 2**20:.0f} MiB")
    for rule, times in sorted(per_rule.items()):
        print(f"  {rule:10s} {len(times)} jobs, {sum(times):7.1f} s in total, {max(times):6.1f} s the longest")
    print(f"working directory: {work}" if args.keep else "")
    if not args.keep:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
