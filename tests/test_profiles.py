"""The execution profiles: profiles/gpu sets the threads of every rule profiles/slurm does, and
every rule that trains a network on the device asks for a GPU slot (resources gpu=1, claimed
by featurelab.gpus.job_device) on a workstation and on a cluster alike."""
import re

import yaml
from test_slurm import rule_bodies


def profile(root, name):
    return yaml.safe_load((root / "profiles" / name / "config.yaml").read_text())


def gpu_threads(prof):
    """profiles/gpu lists set-threads as `rule=n` strings (the command line's form)."""
    return dict(item.split("=") for item in prof["set-threads"])


def test_gpu_profile_sets_the_threads_of_every_rule_the_slurm_profile_does(repo_root):
    slurm, gpu = profile(repo_root, "slurm")["set-threads"], gpu_threads(profile(repo_root, "gpu"))
    assert set(slurm) <= set(gpu), sorted(set(slurm) - set(gpu))
    assert {"extract_pack", "diversity_outputs"} <= set(gpu)
    bodies = rule_bodies()
    assert set(gpu) <= set(bodies) and set(slurm) <= set(bodies)  # no misspelt rule
    assert all(int(n) >= 1 for n in gpu.values())


def test_every_training_rule_asks_for_a_gpu_slot(repo_root):
    bodies = rule_bodies()
    # the rules whose script trains a network: they hand the job's device to a trainer
    trainers = {name for name, body in bodies.items()
                if (m := re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', body))
                and re.search(r"\b(train_member|train_pack|distill_member)\(",
                              (repo_root / "scripts" / f"{m.group(1)}.py").read_text())}
    assert {"train_member", "train_pack", "contamination_student"} <= trainers
    for rule in trainers:
        assert re.search(r"^\s*gpu=1,", bodies[rule], re.M), f"{rule} declares no gpu=1 resource"
        assert re.search(r'^\s*gpu=config\["gpu"\],', bodies[rule], re.M), f"{rule} claims no GPU slot"
    # what claims a slot through job_device asks for one too (both profiles cap gpu)
    for rule, body in bodies.items():
        if re.search(r'^\s*gpu=config\["gpu"\],', body, re.M) and rule in trainers:
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', body).group(1)
            assert "job_device(" in (repo_root / "scripts" / f"{script}.py").read_text(), rule
    slurm = profile(repo_root, "slurm")
    for rule in trainers:
        assert slurm["set-resources"][rule]["slurm_partition"] == "CHANGE_ME_gpu_partition", rule
    assert "gpu=1" in profile(repo_root, "gpu")["resources"]
