"""profiles/slurm: its placeholders and resource mapping, and a tiny workflow run through
it against a real SLURM cluster.

The run needs a SLURM controller that answers `sinfo` on this machine, e.g. the
single-node cluster of `.ci/slurm.sh start` (no accounting database, one stand-in GPU).
Without one it is skipped, unless FEATURELAB_SLURM=1 (set by .ci/run), where it fails.
On a real cluster: FEATURELAB_SLURM_PARTITION (default: the default partition, which
must be able to give a GPU), FEATURELAB_SLURM_ACCOUNT, FEATURELAB_SLURM_STATUS_COMMAND
(default: the profile's) and `--basetemp` on a file system the compute nodes share.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import snakemake_cmd, zoo_models
from test_workflow import tiny_config

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "profiles/slurm"
REQUIRED = os.environ.get("FEATURELAB_SLURM") == "1"

# the jobs of tiny_config(members=1), one per rule: (mem_mb, runtime in minutes, gpus,
# threads) as the rule or the profile declares them, what each must have asked SLURM for
EXPECTED = {
    "synthetic_world": (4000, 60, 0, 1),  # no resources in the rule: profile defaults
    "train_member": (8000, 240, 1, 8),  # rules/train.smk, threads from set-threads
    "extract_member": (4000, 60, 0, 4),  # rules/extract.smk
    "training_summary": (4000, 60, 0, 1),
    "theory_figures": (4000, 60, 0, 1),
}


def load_profile():
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def rule_bodies():
    """{rule name: its text} of every rule in rules/*.smk."""
    bodies = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        parts = re.split(r"^rule (\w+):\n", smk.read_text(), flags=re.M)
        bodies.update(zip(parts[1::2], parts[2::2]))
    return bodies


def test_profile_parses_with_placeholders_and_resource_mapping():
    prof = load_profile()
    assert prof["executor"] == "slurm"
    assert prof["rerun-incomplete"] is True and int(prof["jobs"]) >= 1
    default = prof["default-resources"]
    # the settings a user fills in once, as visible placeholders
    assert default["slurm_partition"].startswith("CHANGE_ME")
    assert default["slurm_account"].startswith("CHANGE_ME")
    # rules without their own memory and time limit still ask for both
    assert int(default["mem_mb"]) > 0 and int(default["runtime"]) > 0
    assert all(int(n) >= 1 for n in prof["set-threads"].values())
    # every setting the profile gives is one the installed plugin knows
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm")
    fields = set(plugin.ExecutorSettings.__dataclass_fields__)
    for key in prof:
        if key.startswith("slurm-"):
            assert key[len("slurm-"):].replace("-", "_") in fields, key
    # squeue: works without an accounting database, where sacct (the plugin's default)
    # never sees a job end and the run waits forever
    assert prof["slurm-status-command"] == "squeue"

    bodies = rule_bodies()
    # every rule that asks for a GPU is sent to the GPU partition, a placeholder too
    gpu_rules = {name for name, body in bodies.items() if re.search(r"^\s*gpu=1,", body, re.M)}
    assert "train_member" in gpu_rules
    for rule in gpu_rules:
        assert prof["set-resources"][rule]["slurm_partition"] == "CHANGE_ME_gpu_partition", rule
    assert default["slurm_partition"] == "CHANGE_ME_cpu_partition"
    # the heavy rules declare their memory and time (the rest take default-resources)
    for rule in ("train_member", "extract_member", "extract_width_member", "interaction_tensors", "width_measure"):
        assert re.search(r"^\s*mem_mb=\d+,", bodies[rule], re.M), rule
        assert re.search(r"^\s*runtime=\d+,", bodies[rule], re.M), rule
    # what test_workflow_through_slurm checks SLURM received
    for rule, (mem, runtime, gpu, _) in EXPECTED.items():
        body = bodies[rule]
        if "resources:" in body:
            assert f"mem_mb={mem}," in body and f"runtime={runtime}," in body, rule
        else:
            assert (mem, runtime) == (default["mem_mb"], default["runtime"]), rule
        assert (rule in gpu_rules) == bool(gpu), rule


def no_slurm_reason():
    """Why no SLURM cluster can take jobs from here, or None if one can."""
    if shutil.which("sinfo") is None:
        return "no SLURM here: `sinfo` not found (start one with `bash .ci/slurm.sh start`)"
    try:
        res = subprocess.run(["sinfo", "-h", "-o", "%P|%a|%T"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "no SLURM here: `sinfo` did not answer within 30 s"
    if res.returncode != 0:
        return f"no SLURM here: `sinfo` failed: {(res.stderr or res.stdout).strip()[:300]}"
    if not any(line.split("|")[1] == "up" and line.split("|")[2] in ("idle", "mixed", "allocated")
               for line in res.stdout.split()):
        return f"no SLURM partition with a usable node: {res.stdout.strip()}"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (requirements/ci.txt)"
    return None


def slurm_or_skip():
    reason = no_slurm_reason()
    if reason:
        if REQUIRED:
            pytest.fail(f"FEATURELAB_SLURM=1 but {reason}")
        pytest.skip(reason)


def cluster_shape(partition):
    """CPUs and memory (MB) of the partition's largest node."""
    res = subprocess.run(["sinfo", "-h", "-p", partition, "-o", "%c|%m"],
                         capture_output=True, text=True, check=True)
    rows = [line.split("|") for line in res.stdout.split()]
    return max(int(c.rstrip("+")) for c, _ in rows), max(int(m.rstrip("+")) for _, m in rows)


def default_partition():
    res = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True)
    names = res.stdout.split()
    return next((p[:-1] for p in names if p.endswith("*")), names[0])


def minutes(limit):
    """SLURM's [days-]hours:minutes:seconds (or minutes:seconds) as minutes."""
    days, _, rest = limit.rpartition("-")
    parts = [int(x) for x in rest.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return (int(days or 0) * 24 + h) * 60 + m + s / 60


@pytest.mark.slow
def test_workflow_through_slurm(tmp_path):
    slurm_or_skip()
    partition = os.environ.get("FEATURELAB_SLURM_PARTITION") or default_partition()
    account = os.environ.get("FEATURELAB_SLURM_ACCOUNT", "featurelab")
    status = os.environ.get("FEATURELAB_SLURM_STATUS_COMMAND")
    cpus, mem_mb = cluster_shape(partition)
    need = max(m for m, *_ in EXPECTED.values())
    assert mem_mb >= need, f"partition {partition}'s nodes have {mem_mb} MB, the training jobs ask for {need}"

    # The profile as a user fills it in: its CHANGE_ME_* partitions and account replaced,
    # everything else (memory, time, threads, GPUs, executor settings) as in the file.
    # Given on the command line, --default-resources and --set-resources replace the
    # profile's lists, so they are rebuilt from the profile here.
    prof = load_profile()

    def filled(resources):
        out = dict(resources)
        for key, value in out.items():
            if str(value).startswith("CHANGE_ME"):
                out[key] = {"slurm_partition": partition, "slurm_account": account}[key]
        return out

    default = [f"{k}={v}" for k, v in filled(prof["default-resources"]).items()]
    overrides = [f"{rule}:{k}={v}" for rule, res in prof["set-resources"].items() for k, v in filled(res).items()]
    cfg = tiny_config(members=1)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    # explicit targets: exactly the jobs of EXPECTED, whatever else the default DAG grows
    model = zoo_models(cfg, "tiny")[0]
    targets = [f"results/zoo/{model}/activations/{layer}/{split}.parquet"
               for layer in ("penultimate", "block1") for split in ("train", "test")]
    targets += ["results/ensembles/tiny/training_summary.csv", "results/ensembles/tiny/training_curves.png",
                "results/theory/fig4.png"]
    cmd = [*snakemake_cmd(), "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
           "--configfile", str(tmp_path / "cfg.yaml"), "--profile", str(PROFILE),
           "--default-resources", *default, "--set-resources", *overrides,
           *(["--slurm-status-command", status] if status else []),
           "--slurm-init-seconds-before-status-checks", "2",  # the default, 40 s, per wave of jobs
           "--slurm-keep-successful-logs",  # the evidence below
           "--max-threads", str(cpus),  # set-threads asks for 8 CPUs, more than a small node has
           *targets]
    start = time.time()
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    wall = time.time() - start
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    print(f"workflow through SLURM: {wall:.0f} s")

    # the outputs
    for f in targets:
        assert (tmp_path / f).stat().st_size > 0, f

    # every job went through sbatch: one SLURM log per job, named by its SLURM job id ...
    logs = tmp_path / ".snakemake/slurm_logs"
    ids = {}
    for rule in EXPECTED:
        found = list((logs / f"rule_{rule}").rglob("*.log"))
        assert len(found) == 1, (rule, sorted(logs.rglob("*")))
        ids[found[0].stem] = rule
        assert f"rule {rule}:" in found[0].read_text(), found[0].read_text()[-2000:]
    run_id = out.split("SLURM run ID: ")[1].split()[0]

    # ... and SLURM ran each to completion with the requests the rules and the profile make
    fields = "JobID:|,Name:|,State:|,Partition:|,Account:|,MinMemory:|,TimeLimit:|,NumCPUs:|,tres-per-job:"
    res = subprocess.run(["squeue", "--states=all", "-h", "--name", run_id, "-O", fields],
                         capture_output=True, text=True, check=True)
    rows = {r[0]: r for r in (line.split("|") for line in res.stdout.splitlines()) if r[0]}
    assert set(rows) == set(ids), (sorted(rows), sorted(ids))
    for job_id, rule in ids.items():
        _, name, state, part, acct, mem, limit, ncpu, tres = rows[job_id]
        want_mem, want_runtime, want_gpus, want_threads = EXPECTED[rule]
        assert state == "COMPLETED", (rule, job_id, state)
        assert part == partition and acct == account, (rule, part, acct)
        assert mem == f"{want_mem}M", (rule, mem)
        assert minutes(limit) == want_runtime, (rule, limit)
        assert int(ncpu) == min(want_threads, cpus), (rule, ncpu)
        assert (f"gpu:{want_gpus}" in tres) if want_gpus else ("gpu" not in tres), (rule, tres)
