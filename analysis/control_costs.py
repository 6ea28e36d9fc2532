"""What each control costs (docs/controls.md, "What each control costs").

Reads a run's Snakemake log and attributes every job's wall time to the control whose world
it works on: a job's log file names its world (``synthetic__ctl<world>[__<derived>]``), and
the config says which control's parts live on which world. Jobs on the base world
(``synthetic-…``) serve several controls and the default's own studies at once (the model
zoo shares them): they are listed as one shared line, not split. The decisions themselves
(rule ``control``) are attributed by their output's name.

    python analysis/control_costs.py WORKDIR/.snakemake/log/<run>.snakemake.log \
        --configfile config.yaml presets/controls.yaml

Job times come from Snakemake's own log, to the second (benchmarks/bench_workflow.py's
reader); with several cores, jobs overlap, so the times add up to more than the wall time.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_workflow import job_times, merged_config  # noqa: E402

WORLD = re.compile(r"synthetic__ctl([A-Za-z0-9]+)")


def world_owners(controls: dict) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(control world name → the controls whose parts train on it, recipe of a base-world part
    that is not the controls' own recipe → its controls)."""
    owners: dict[str, set[str]] = defaultdict(set)
    recipes: dict[str, set[str]] = defaultdict(set)
    for name, block in controls.items():
        if not isinstance(block, dict) or "arms" not in block or not block.get("enabled", True):
            continue
        for parts in block["arms"].values():
            for part in parts.values():
                world, recipe = part.get("world"), part.get("recipe") or controls.get("recipe")
                if world and world != "base":  # the validated config writes the base world as "base"
                    owners[world].add(name)
                elif recipe != controls.get("recipe"):
                    recipes[part["recipe"]].add(name)
    return owners, recipes


def attribute(jobs: list[tuple[str, float, str]], owners: dict[str, set[str]],
              recipes: dict[str, set[str]]) -> dict[str, list[float]]:
    """Seconds per control; a world shared by several controls is one line named by all."""
    out: dict[str, list[float]] = defaultdict(list)
    for rule, seconds, log in jobs:
        log = log or ""
        m = WORLD.search(log)
        own = [r for r in recipes if f"-{r}-" in Path(log).name]
        if rule in ("control",):
            name = Path(log).stem
            out[name].append(seconds)
        elif m:
            names = sorted(owners.get(m.group(1), {"unknown"}))
            out["+".join(names)].append(seconds)
        elif own:
            out["+".join(sorted(recipes[own[0]]))].append(seconds)
        elif rule in ("controls_table",):
            out["table"].append(seconds)
        else:
            out["base world (shared with the default)"].append(seconds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log", type=Path, help="the run's .snakemake/log/*.snakemake.log")
    ap.add_argument("--configfile", nargs="+", type=Path, required=True)
    args = ap.parse_args()
    cfg = merged_config(args.configfile[0], args.configfile[1:])
    jobs = job_times(args.log.read_text())
    costs = attribute(jobs, *world_owners(cfg.get("controls", {})))
    total = sum(s for _, s, _ in jobs)
    print(f"{len(jobs)} jobs, {total:.0f} s of job time")
    print("| control | jobs | job time (s) | share |")
    print("|---|---|---|---|")
    for name, secs in sorted(costs.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {name} | {len(secs)} | {sum(secs):.0f} | {sum(secs) / total:.0%} |")


if __name__ == "__main__":
    main()
