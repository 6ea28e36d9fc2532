"""How many replicates would decide each verdict that is undecided, or flips between runs?
(docs/verdicts.md, "Sizing the replicates".)

A verdict flips between two float orders when its interval straddles, or nearly touches, its
threshold: the estimate moves a little, and the interval with it. The remedy is not a looser
threshold but a narrower interval, i.e. more replicates. For every condition of every verdict
in one or more results trees (each study's ``summary.json``) whose interval contains its
threshold in some run, this prints the replicates n* at which an interval of the same spread
would exclude the threshold, from the interval's own basis:

* Student-t over n replicates (seeds, members, pairs): the spread s = half-width · √n / t_{n−1};
  n* = the smallest n with t_{n−1} · s / √n < |estimate − threshold|;
* Fisher-z of a correlation over n points: half-width in z ∝ 1/√(n−3);
  n* = 3 + (n − 3) · (z half-width / |z(estimate) − z(threshold)|)²;
* a percentile bootstrap over n resampled units: half-width ∝ 1/√n, n* = n · (half-width / distance)².

The estimate and the spread are the mean over the runs that have the verdict (the largest
half-width), so n* is the size at which the runs' common finding would be decided. A
permutation test (O.4's Mantel) has no such closed form and is listed without n*.

    python analysis/replicates_needed.py RUN_A/results [RUN_B/results ...] [--max 64]
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis.verdict_stability import summaries  # noqa: E402
from featurelab.verdicts import LEVEL, is_verdict  # noqa: E402


def verdicts(summary: dict, path: str = "") -> list[tuple[str, dict]]:
    """Every verdict dict of a (nested) summary, with its path of keys."""
    out: list[tuple[str, dict]] = []
    if is_verdict(summary):
        return [(path, summary)]
    if isinstance(summary, dict):
        for k, v in summary.items():
            out += verdicts(v, f"{path}.{k}" if path else str(k))
    elif isinstance(summary, list):
        for i, v in enumerate(summary):
            out += verdicts(v, f"{path}[{i}]")
    return out


def needed(basis: str, n: int, estimate: float, half: float, threshold: float, level: float = LEVEL,
           cap: int = 10_000) -> int | None:
    """Replicates at which an interval of this spread around ``estimate`` excludes ``threshold``
    (None: the basis has no closed form, or the estimate sits on the threshold)."""
    dist = abs(estimate - threshold)
    if not (n and half and half > 0) or dist == 0:
        return None
    if "Student-t" in basis:
        if n < 2:
            return None
        s = half * math.sqrt(n) / scipy.stats.t.ppf(0.5 + level / 2, n - 1)
        for m in range(2, cap + 1):
            if scipy.stats.t.ppf(0.5 + level / 2, m - 1) * s / math.sqrt(m) < dist:
                return m
        return cap
    if "Fisher" in basis:
        if not (-1 < estimate < 1 and -1 < threshold < 1) or n <= 3:
            return None
        zd = abs(math.atanh(estimate) - math.atanh(threshold))
        z_half = math.atanh(min(abs(estimate) + half, 0.999999)) - math.atanh(abs(estimate))
        return int(math.ceil(3 + (n - 3) * (z_half / zd) ** 2))
    if "bootstrap" in basis:
        return int(math.ceil(n * (half / dist) ** 2))
    return None


def rows(runs: list[Path]) -> list[dict]:
    found: dict[tuple[str, str, int], list[dict]] = {}
    for run in runs:
        for study, s in summaries(run).items():
            for path, v in verdicts({k: x for k, x in s.items() if k != "controls"}):
                for i, c in enumerate(v.get("conditions") or []):
                    found.setdefault((study, path, i), []).append({**c, "verdict": v["verdict"],
                                                                    "basis": v.get("basis", "")})
    out = []
    for (study, path, i), cs in found.items():
        cs = [c for c in cs if c.get("lo") is not None and c.get("hi") is not None and c.get("estimate") is not None]
        if not cs:
            continue
        thr = cs[0]["threshold"]
        straddles = [c["lo"] < thr < c["hi"] for c in cs]
        verdict_set = {c["verdict"] for c in cs}
        if not any(straddles) and len(verdict_set) == 1:
            continue
        est = sum(c["estimate"] for c in cs) / len(cs)
        # the interval's reach on the threshold's side (a bootstrap or Fisher-z interval is
        # not symmetric about its estimate): the side that has to clear the threshold
        half = max((c["hi"] - c["estimate"]) if thr >= c["estimate"] else (c["estimate"] - c["lo"]) for c in cs)
        n = min(int(c.get("n") or 0) for c in cs)
        out.append({"study": study, "finding": path + (f"[{i}]" if i else ""), "verdicts": "/".join(c["verdict"] for c in cs),
                    "estimate": est, "threshold": thr, "half": half, "n": n, "basis": cs[0]["basis"],
                    "n_needed": needed(cs[0]["basis"], n, est, half, thr)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    args = ap.parse_args()
    for r in args.results:
        if not r.is_dir():
            sys.exit(f"{r}: no such results folder")
    table = rows(args.results)
    print("| study | finding | verdicts | estimate | threshold | ± | n | n needed | basis |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(table, key=lambda r: (r["study"], r["finding"])):
        print(f"| {r['study']} | {r['finding']} | {r['verdicts']} | {r['estimate']:.4g} | {r['threshold']:g} | "
              f"{r['half']:.3g} | {r['n']} | {r['n_needed'] if r['n_needed'] is not None else '—'} | {r['basis']} |")
    print(f"\n{len(table)} conditions undecided or flipping in {len(args.results)} run(s)")


if __name__ == "__main__":
    main()
