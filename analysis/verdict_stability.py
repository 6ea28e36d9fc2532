"""Do the verdicts survive the float order? (docs/verdicts.md.)

Training on a CPU is not bitwise portable: the order of a sum changes with the thread count,
the memory layout (channels-last or not) and the machine, and a network trained twice under
two orders ends in two different places. A verdict that flips between two such runs is not
a finding. This script lists every verdict of every study's ``summary.json`` (and the
interaction study's per-ensemble summaries) in two or more results trees side by side, with
each run's estimate and interval, and says per finding whether the verdict held in all of
them.

    python analysis/verdict_stability.py RUN_A/results RUN_B/results [--names A B] [--csv out.csv]

A typical pair (the default under two float orders; bench_workflow.py --keep keeps a run):

    python benchmarks/bench_workflow.py --cores 2 --keep                    # channels-last on
    python benchmarks/bench_workflow.py --cores 2 --keep --config-overlay analysis/float_order_b.yaml

Writes nothing unless ``--csv``; prints a Markdown table and the count of flips.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.verdicts import findings_table  # noqa: E402


def summaries(results: Path) -> dict[str, dict]:
    """``{study label: summary}`` for every summary.json under ``results`` (one level of
    sub-folders deep, e.g. ``interaction/<ensemble>/summary.json``, which holds every
    variant's O.1-O.4)."""
    out = {}
    for p in sorted(results.glob("*/summary.json")) + sorted(results.glob("*/*/summary.json")):
        rel = p.parent.relative_to(results).as_posix()
        if rel.startswith(("zoo", "ensembles", "logs", "benchmarks")):
            continue
        out[rel] = json.loads(p.read_text())
    return out


def verdict_table(runs: dict[str, Path]) -> pd.DataFrame:
    """One row per (study, finding), with ``<run>_estimate``, ``<run>_lo``, ``<run>_hi``,
    ``<run>_verdict`` per run and ``stable`` (the same verdict in every run that has it)."""
    frames = []
    for name, results in runs.items():
        df = findings_table(summaries(Path(results)))
        frames.append(df.set_index(["study", "finding"]).rename(
            columns={c: f"{name}_{c}" for c in ("estimate", "lo", "hi", "verdict", "basis")}).drop(columns="rule"))
    table = pd.concat(frames, axis=1)
    verdicts = table[[f"{n}_verdict" for n in runs]]
    table["stable"] = verdicts.apply(lambda r: r.dropna().nunique() == 1 and r.notna().all(), axis=1)
    return table.reset_index()


def _fmt(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and pd.isna(x)) else f"{x:.4g}" if isinstance(x, float) else str(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path, help="results folders of the runs to compare")
    ap.add_argument("--names", nargs="+", help="a short name per run (default: A, B, ...)")
    ap.add_argument("--csv", type=Path, help="write the whole table here")
    args = ap.parse_args()
    names = args.names or [chr(ord("A") + i) for i in range(len(args.results))]
    if len(names) != len(args.results):
        sys.exit("give one name per results folder")
    for r in args.results:
        if not r.is_dir():
            sys.exit(f"{r}: no such results folder")
    t = verdict_table(dict(zip(names, args.results)))
    if args.csv:
        t.to_csv(args.csv, index=False)
    cols = ["study", "finding"] + [f"{n}_{c}" for n in names for c in ("estimate", "lo", "hi", "verdict")] + ["stable"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for _, row in t.iterrows():
        print("| " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    flips = int((~t.stable).sum())
    print(f"\n{len(t)} verdicts, {flips} not the same in every run")


if __name__ == "__main__":
    main()
