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

A run recorded only in the docs can stand in for a results tree: ``PAGE.md#heading`` reads
the first table after that heading (rows ``| study | finding | estimate [lo, hi] | verdict |``,
as docs/findings.md records them), e.g.

    python analysis/verdict_stability.py "docs/findings.md#Contamination and diversity (NCHW)" \
        RUN/results --names NCHW CL

Writes nothing unless ``--csv``; prints a Markdown table and the count of flips.
"""
from __future__ import annotations

import argparse
import json
import re
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


VERDICTS = ("holds", "fails", "undecided", "no verdict")


def markdown_findings(text: str, heading: str) -> pd.DataFrame:
    """The findings table recorded under ``heading`` of a Markdown page: columns study,
    finding, estimate, lo, hi, verdict, basis (empty) and rule (empty), as
    :func:`featurelab.verdicts.findings_table` gives them. A table of several runs (columns
    ``| study | finding | A: estimate [interval] | A | B: … | B | same |``) gives run ``X``
    with ``heading@X``."""
    heading, _, run = heading.partition("@")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(("#", "<details>", "<summary>")) and heading in line), None)
    if start is None:
        raise ValueError(f"no heading {heading!r} in the page")
    rows, seen = [], False
    for line in lines[start + 1:]:
        if not line.startswith("|"):
            if seen:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not seen:  # the header: which columns hold the estimate and the verdict
            seen = True
            col = 2
            if run:
                named = [i for i, c in enumerate(cells) if c.startswith(f"{run}:")]
                if not named:
                    raise ValueError(f"no run {run!r} in the table under {heading!r} ({cells})")
                col = named[0]
            continue
        if len(cells) < col + 2 or cells[col + 1].strip("*") not in VERDICTS:
            continue
        cells = cells[:2] + cells[col:col + 2]
        m = re.fullmatch(r"(\S+)?\s*(?:\[(\S+), (\S+)\])?", cells[2])
        num = (lambda x: float(x) if x else None)
        est, lo, hi = (num(m.group(1)), num(m.group(2)), num(m.group(3))) if m else (None, None, None)
        rows.append({"study": cells[0], "finding": cells[1], "estimate": est, "lo": lo, "hi": hi,
                     "verdict": cells[3].strip("*"), "basis": None, "rule": None})
    if not rows:
        raise ValueError(f"no findings table under {heading!r}")
    return pd.DataFrame(rows)


def run_table(results: str | Path) -> pd.DataFrame:
    """A run's findings: a results tree, or ``PAGE.md#heading`` (a table the docs recorded)."""
    page, _, heading = str(results).partition("#")
    if page.endswith(".md") and heading:
        return markdown_findings(Path(page).read_text(), heading)
    return findings_table(summaries(Path(results)))


def verdict_table(runs: dict[str, Path]) -> pd.DataFrame:
    """One row per (study, finding), with ``<run>_estimate``, ``<run>_lo``, ``<run>_hi``,
    ``<run>_verdict`` per run and ``stable`` (the same verdict in every run that has it)."""
    frames = []
    for name, results in runs.items():
        df = run_table(results)
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
    ap.add_argument("results", nargs="+", help="results folders of the runs to compare (or PAGE.md#heading)")
    ap.add_argument("--names", nargs="+", help="a short name per run (default: A, B, ...)")
    ap.add_argument("--csv", type=Path, help="write the whole table here")
    args = ap.parse_args()
    names = args.names or [chr(ord("A") + i) for i in range(len(args.results))]
    if len(names) != len(args.results):
        sys.exit("give one name per results folder")
    for r in args.results:
        page, _, heading = r.partition("#")
        if not (Path(r).is_dir() or (page.endswith(".md") and heading and Path(page).is_file())):
            sys.exit(f"{r}: no such results folder (nor PAGE.md#heading)")
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
