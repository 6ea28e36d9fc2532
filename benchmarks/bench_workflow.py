"""Wall time, peak memory and job overhead of a whole `snakemake --cores N` run, from scratch.

Runs the workflow of this checkout in a fresh temporary working directory (nothing
reused) with the default config, or the one given, samples the resident memory of the whole
process tree every 0.2 s, and prints:

* the wall time and the peak memory of the run;
* the jobs per rule, the trainings, and what the model zoo saved (members that two
  ensembles or studies share, trained once);
* where the job time went: each job's wall time (its Snakemake benchmark, or the job's own
  start and end in Snakemake's log) against the work its script timed
  (``featurelab.workflow.logged``: the log's last line, ``work <s> s``); the difference is
  start-up (the process, Python, the imports). The share of start-up in all job time is the
  overhead share.

    python benchmarks/bench_workflow.py --cores 2
    python benchmarks/bench_workflow.py --cores 2 --configfile presets/cpu.yaml
    python benchmarks/bench_workflow.py --cores 2 --overlay analysis/float_order_b.yaml --keep

``--overlay`` files are merged over the config file (Snakemake merges ``--configfile A B``
key by key), e.g. to run the same config under another float order.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurelab.plan import Plan  # noqa: E402
from featurelab.workflow import WORK_MARK  # noqa: E402


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def job_times(snakemake_log: str, work: Path | None = None) -> list[tuple[str, float, str]]:
    """(rule, wall seconds, log file) of every job, from Snakemake's own log: each job's
    start ([time] then `rule <name>:` with its `log:` and `jobid:`) and its `Finished job`,
    to the second; a job with a Snakemake benchmark file (under ``work``) takes its precise
    wall time from it."""
    started, rules, logs, benches, out = {}, {}, {}, {}, []
    stamp = None
    rule = log = job = None
    for line in snakemake_log.splitlines():
        m = re.match(r"\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]", line)
        if m:
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            continue
        m = re.match(r"(?:local)?rule (\w+):", line.strip())
        if m:
            rule, log, job = m.group(1), None, None
            continue
        m = re.match(r"benchmark: (\S+)", line.strip())
        if m and job is not None:  # printed after the job's id
            benches[job] = m.group(1)
            continue
        m = re.match(r"log: (\S+)", line.strip())
        if m:
            log = m.group(1)
            continue
        m = re.match(r"jobid: (\d+)", line.strip())
        if m and rule:
            job = m.group(1)
            started[job], rules[job], logs[job], benches[job] = stamp, rule, log, None
            continue
        m = re.match(r"Finished job(?:id:)? (\d+)", line.strip())
        if m and m.group(1) in started and stamp:
            j = m.group(1)
            seconds = (stamp - started[j]).total_seconds()
            tsv = work / benches[j] if work is not None and benches[j] else None
            if tsv is not None and tsv.exists():
                rows = tsv.read_text().splitlines()
                seconds = float(rows[1].split("\t")[0]) if len(rows) >= 2 else seconds
            out.append((rules[j], seconds, logs[j]))
    return out


def work_seconds(log: Path) -> float | None:
    """The work a job's script timed (its log's last line), None without one."""
    if not log.exists():
        return None
    m = re.findall(rf"^{WORK_MARK} ([0-9.]+) s$", log.read_text(errors="replace"), flags=re.M)
    return float(m[-1]) if m else None


def merged_config(path: Path, overlays: list[Path]) -> dict:
    """The config Snakemake sees with ``--configfile path *overlays``: each overlay merged
    key by key (snakemake.utils.update_config), then validated with defaults."""
    import yaml
    from snakemake.utils import update_config

    from featurelab.config import validate_config

    config = yaml.safe_load(path.read_text()) or {}
    for o in overlays:
        update_config(config, yaml.safe_load(o.read_text()) or {})
    return validate_config(config)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--configfile", type=Path, default=ROOT / "config.yaml")
    ap.add_argument("--overlay", type=Path, nargs="*", default=[], help="config files merged over --configfile")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    ap.add_argument("extra", nargs="*", help="more snakemake arguments")
    args = ap.parse_args()
    plan = Plan(merged_config(args.configfile, args.overlay))
    work = Path(tempfile.mkdtemp(prefix="featurelab-bench-"))
    exe = Path(sys.executable).parent / "snakemake"
    cmd = [str(exe), "-s", str(ROOT / "Snakefile"), "-d", str(work), "--configfile", str(args.configfile.resolve()),
           *[str(o.resolve()) for o in args.overlay],
           "--cores", str(args.cores), *args.extra]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    with open(work / "snakemake.out", "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(ps))
            time.sleep(0.2)
    wall = time.perf_counter() - t0
    text = (work / "snakemake.out").read_text(errors="replace")
    if proc.returncode:
        print(text[-3000:])
        sys.exit(f"snakemake failed with exit code {proc.returncode}; working directory {work}")

    jobs = job_times(text, work)
    per_rule = defaultdict(lambda: [0, 0.0, 0.0])  # jobs, wall, work
    for rule, seconds, log in jobs:
        done = work_seconds(work / log) if log else None
        r = per_rule[rule]
        r[0] += 1
        r[1] += seconds
        r[2] += done if done is not None else seconds  # no script: all of it is the rule's own work
    total_wall = sum(r[1] for r in per_rule.values())
    total_work = sum(r[2] for r in per_rule.values())
    trainings = per_rule["train_member"][0] + sum(len(m) for m in plan.packs.values())
    print(f"\nconfig {args.configfile.name}, cores {args.cores}: wall {wall:.1f} s, peak RSS of the process tree "
          f"{peak / 2**20:.0f} MiB")
    print(f"jobs {len(jobs)}, trainings {trainings} of {plan.trainings_asked} members asked for "
          f"(the zoo saved {plan.trainings_saved}), packed training jobs {per_rule['train_pack'][0]}")
    print(f"job time {total_wall:.1f} s, of which script work {total_work:.1f} s and start-up (process, Python, "
          f"imports) {total_wall - total_work:.1f} s: overhead share {(total_wall - total_work) / total_wall:.1%}")
    print(f"{'rule':28s} {'jobs':>5s} {'job s':>8s} {'work s':>8s} {'start-up s/job':>15s}")
    for rule, (n, s, w) in sorted(per_rule.items(), key=lambda kv: -kv[1][1]):
        if n:
            print(f"{rule:28s} {n:5d} {s:8.1f} {w:8.1f} {(s - w) / n:15.2f}")
    print("(job time: the Snakemake benchmark where the rule keeps one, else Snakemake's log, to the second)")
    if args.keep:
        print(f"working directory: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
