"""Packed training (issue 7): G members as one grouped network follow each member's own maths."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import sgd_step, world_splits, zoo_models

from featurelab.training import (
    FastPath,
    Recipe,
    choose_amp,
    describe_fast,
    evaluate,
    initial_model,
    load_member,
    member_losses,
    member_state,
    pack_models,
    set_member_state,
    stack_members,
    to_input,
    train_member,
    train_pack,
)

RECIPE = Recipe(lr=0.05, batch_size=32, max_epochs=2, stop_at_train_acc=None, checkpoint_epochs=(0, 1, 5))
SEEDS = [3, 4, 5]


pytestmark = pytest.mark.usefixtures("one_thread")  # bitwise comparisons: one float order


@pytest.fixture(scope="module")
def world():
    return world_splits(n_train=160, n_test=64, num_classes=4, seed=1)


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_packed_network_is_each_member_side_by_side(arch):
    members = [initial_model(arch, 4, 1 / 16, 3, s) for s in SEEDS]
    net = pack_models(members)
    for g, m in enumerate(members):  # unpacking gives back exactly each member's initial weights
        sd, ref = member_state(net, g), m.state_dict()
        assert list(sd) == list(ref)
        for k in ref:
            assert torch.equal(sd[k], ref[k]), k
        solo = initial_model(arch, 4, 1 / 16, 3, 0)
        solo.load_state_dict(sd)  # load_member's route
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(8, 3, 32, 32, generator=gen) for _ in SEEDS]
    layers = ("penultimate", "block1", "block3")
    for mode in ("eval", "train"):  # running statistics, then batch statistics
        net.train(mode == "train")
        for m in members:
            m.train(mode == "train")
        out = net.features(torch.cat(xs, 1), layers)
        assert out["logits"].shape == (8, len(SEEDS), 4)
        for g, m in enumerate(members):
            ref = m.features(xs[g], layers)
            torch.testing.assert_close(out["logits"][:, g], ref["logits"], atol=1e-5, rtol=1e-4)
            for layer in layers:
                d = ref[layer].shape[1]
                torch.testing.assert_close(out[layer][:, g * d:(g + 1) * d], ref[layer], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_one_sgd_step_packed_equals_each_members_own_step(arch):
    members = [initial_model(arch, 4, 1 / 16, 3, s) for s in SEEDS]
    net = pack_models(members)
    data = torch.randn(40, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 4, (40,), generator=torch.Generator().manual_seed(2))
    idx = torch.stack([torch.randperm(40, generator=torch.Generator().manual_seed(s))[:16] for s in SEEDS])
    sgd = dict(lr=0.05, momentum=0.9, weight_decay=1e-4)
    sgd_step(net, stack_members(data, idx, False), labels[idx].t(), lambda o, y: member_losses(o, y).sum(), **sgd)
    for g, m in enumerate(members):
        sgd_step(m, data[idx[g]], labels[idx[g]], F.cross_entropy, **sgd)
        # the BN running statistics moved too; a narrow net amplifies rounding quickly, hence one step
        packed, own = member_state(net, g), m.state_dict()
        for k in own:
            torch.testing.assert_close(packed[k], own[k], atol=1e-5, rtol=1e-5, msg=k)


def test_stacking_in_channels_last_layout():
    x = torch.randn(10, 3, 4, 4)
    idx = torch.tensor([[1, 2], [7, 0]])
    a = stack_members(x, idx, False)
    b = stack_members(x.permute(0, 2, 3, 1).contiguous(), idx, True)
    assert b.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, b) and torch.equal(a[1, 3:6], x[0]) and torch.equal(a[0, 0:3], x[1])


def test_set_member_state_round_trip():
    members = [initial_model("resnet18", 4, 1 / 16, 3, s) for s in SEEDS]
    net = pack_models(members)
    other = initial_model("resnet18", 4, 1 / 16, 3, 99).state_dict()
    set_member_state(net, 1, other)
    for k, v in member_state(net, 1).items():
        assert torch.equal(v, other[k]) or k.endswith("num_batches_tracked")
    assert torch.equal(member_state(net, 0)["linear.weight"], members[0].state_dict()["linear.weight"])


def _pack(world, tmp, recipe=RECIPE, seeds=SEEDS, arch="resnet18", **kw):
    train, test = world
    return train_pack(train, test=test, arch=arch, width=1 / 16, seeds=seeds, recipe=recipe, subset_size=128,
                      out_paths=[tmp / f"member{g}.pt" for g in range(len(seeds))], state_path=tmp / "state.pt",
                      checkpoint_dirs=[tmp / f"member{g}" for g in range(len(seeds))],
                      member_logs=[tmp / f"member{g}.log" for g in range(len(seeds))],
                      device="cpu", threads=1, log=lambda s: None, metas=[{"member": g} for g in range(len(seeds))],
                      **kw)


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_packed_training_writes_member_files_close_to_solo_runs(world, tmp_path, arch):
    packed = _pack(world, tmp_path, arch=arch)
    train, test = world
    solo_acc = []
    for g, seed in enumerate(SEEDS):
        model, payload = load_member(tmp_path / f"member{g}.pt")
        assert payload["arch"] == arch and payload["seed"] == seed and len(payload["subset"]) == 128
        assert payload["meta"] == {"member": g} and payload["metrics"]["epochs"] == 2
        assert sorted(p.name for p in (tmp_path / f"member{g}").iterdir()) == ["epoch000.pt", "epoch001.pt",
                                                                             "epoch005.pt"]
        init = torch.load(tmp_path / f"member{g}/epoch000.pt")
        ref = initial_model(arch, 4, 1 / 16, 3, seed).state_dict()
        assert all(torch.equal(init[k], ref[k]) for k in ref)  # each member starts from its own seed
        final = torch.load(tmp_path / f"member{g}/epoch005.pt")  # past the end: the final weights
        assert all(torch.equal(final[k], payload["state_dict"][k]) for k in final)
        assert "epoch   2/2" in (tmp_path / f"member{g}.log").read_text()
        solo = train_member(train, test=test, arch=arch, width=1 / 16, seed=seed, recipe=RECIPE, subset_size=128,
                            out_path=tmp_path / "solo.pt", state_path=tmp_path / "solo_state.pt", device="cpu",
                            threads=1, log=lambda s: None)
        solo_payload = torch.load(tmp_path / "solo.pt", weights_only=False)
        assert np.array_equal(payload["subset"], solo_payload["subset"])
        assert payload["mean"] == solo_payload["mean"]
        # the same maths; a narrow net amplifies rounding differences, so compare in a band
        assert abs(packed[g]["history"][0]["loss"] - solo["history"][0]["loss"]) < 0.05
        solo_acc.append(solo["test_acc"])
    assert abs(np.mean([m["test_acc"] for m in packed]) - np.mean(solo_acc)) <= 0.1
    assert not (tmp_path / "state.pt").exists()


def test_killed_pack_resumes_to_the_same_weights(world, tmp_path):
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=3, stop_at_train_acc=None, checkpoint_epochs=(0, 2))
    (tmp_path / "full").mkdir(), (tmp_path / "killed").mkdir()
    _pack(world, tmp_path / "full", recipe=recipe, seeds=[1, 2])
    first = _pack(world, tmp_path / "killed", recipe=recipe, seeds=[1, 2], stop_after_epochs=1)
    assert first[0]["interrupted"] and (tmp_path / "killed/state.pt").exists()
    _pack(world, tmp_path / "killed", recipe=recipe, seeds=[1, 2])
    for g in range(2):
        a = torch.load(tmp_path / f"full/member{g}.pt", weights_only=False)["state_dict"]
        b = torch.load(tmp_path / f"killed/member{g}.pt", weights_only=False)["state_dict"]
        assert all(torch.equal(a[k], b[k]) for k in a)
        for e in (0, 2):
            ca, cb = (torch.load(tmp_path / f"{r}/member{g}/epoch{e:03d}.pt") for r in ("full", "killed"))
            assert all(torch.equal(ca[k], cb[k]) for k in ca)


def test_a_member_that_reaches_the_target_stops_with_its_weights_of_that_epoch(world, tmp_path):
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=12, stop_at_train_acc=0.4,
                    checkpoint_epochs=tuple(range(1, 13)))
    res = _pack(world, tmp_path, recipe=recipe, seeds=[0, 1, 2])
    _, test = world
    assert any(m["stop_reason"] == "train_acc" for m in res)
    for g, m in enumerate(res):
        h, e = m["history"], m["epochs"]
        assert [r["epoch"] for r in h] == list(range(1, e + 1))
        if m["stop_reason"] == "train_acc":
            assert h[-1]["train_acc"] >= 0.4 and all(r["train_acc"] < 0.4 for r in h[:-1])
        else:
            assert e == 12
        model, payload = load_member(tmp_path / f"member{g}.pt")
        for later in range(e, 13):  # the stopping epoch and every one after it: the recorded weights
            ckpt = torch.load(tmp_path / f"member{g}/epoch{later:03d}.pt")
            assert all(torch.equal(ckpt[k], payload["state_dict"][k]) for k in ckpt)
        if e > 1:
            before = torch.load(tmp_path / f"member{g}/epoch{e - 1:03d}.pt")
            assert not torch.equal(before["linear.weight"], payload["state_dict"]["linear.weight"])
        # the test accuracy is that of the recorded weights, not of the slices that rode along
        x = to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))
        assert evaluate(model, x, torch.as_tensor(test.labels)) == pytest.approx(m["test_acc"])


def test_fast_path_options_resolve_per_device(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda dev=None: (9, 0))  # an H100
    drop = lambda d: {k: v for k, v in d.items() if k != "amp_note"}  # noqa: E731
    assert drop(FastPath().resolve(cpu)) == {"amp_dtype": None, "channels_last": False, "compile": None}
    assert drop(FastPath().resolve(cuda)) == {"amp_dtype": torch.bfloat16, "channels_last": True, "compile": None}
    assert FastPath(compile=True).resolve(cpu)["compile"] == "default"
    assert FastPath(compile="reduce-overhead").resolve(cuda)["compile"] == "reduce-overhead"
    with pytest.raises(ValueError, match="compile"):
        FastPath(compile="fastest").resolve(cpu)
    assert FastPath(amp="fp32", channels_last=False).resolve(cuda)["amp_dtype"] is None
    assert FastPath(amp="bf16").resolve(cpu)["amp_dtype"] is torch.bfloat16
    with pytest.raises(ValueError, match="amp"):
        FastPath(amp="fp8").resolve(cpu)


@pytest.mark.parametrize("capability, dtype", [((6, 0), None), ((7, 0), None), ((7, 5), None),
                                               ((8, 0), torch.bfloat16), ((8, 6), torch.bfloat16),
                                               ((9, 0), torch.bfloat16)])
def test_amp_auto_takes_bf16_only_where_the_gpu_has_it(monkeypatch, capability, dtype):
    """amp auto: bfloat16 from compute capability 8.0 (Ampere) on; a V100 (7.0) or T4 (7.5)
    keeps float32, and the log says why."""
    cuda = torch.device("cuda")
    assert choose_amp("auto", cuda, capability)[0] is dtype
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda dev=None: capability)
    opts = FastPath().resolve(cuda)
    assert opts["amp_dtype"] is dtype
    note = describe_fast(opts)
    assert f"compute capability {capability[0]}.{capability[1]}" in note
    assert ("no native bfloat16" in note) == (dtype is None)
    # asked for explicitly, bf16 is autocast anyway (and the log warns); fp32 never; the CPU: fp32 unless asked
    assert choose_amp("bf16", cuda, capability)[0] is torch.bfloat16
    assert ("emulated" in choose_amp("bf16", cuda, capability)[1]) == (dtype is None)
    assert choose_amp("fp32", cuda, capability)[0] is None
    assert choose_amp("auto", torch.device("cpu"))[0] is None
    assert choose_amp("bf16", torch.device("cpu"))[0] is torch.bfloat16


def test_bf16_channels_last_pack_on_cpu_runs(world, tmp_path):
    """The GPU settings run on the CPU too (slowly): outputs are float32 and contiguous."""
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=1, stop_at_train_acc=None)
    res = _pack(world, tmp_path, recipe=recipe, seeds=[0, 1], fast={"amp": "bf16", "channels_last": True})
    model, payload = load_member(tmp_path / "member1.pt")
    assert all(v.is_contiguous() for v in payload["state_dict"].values())
    assert payload["state_dict"]["linear.weight"].dtype == torch.float32
    assert 0 <= res[1]["test_acc"] <= 1 and np.isfinite(res[1]["final_loss"])


def test_plain_cpu_path_unchanged_by_the_fast_options(world, tmp_path):
    """fast=None and the explicit CPU defaults give the same weights bit for bit."""
    train, _ = world
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=1, stop_at_train_acc=None)
    out = []
    for i, fast in enumerate((None, {"amp": "fp32", "channels_last": False, "compile": False})):
        train_member(train, arch="resnet18", width=1 / 16, seed=0, recipe=recipe, subset_size=96,
                     out_path=tmp_path / f"m{i}.pt", state_path=tmp_path / f"s{i}.pt", device="cpu", threads=1,
                     log=lambda s: None, fast=fast)
        out.append(torch.load(tmp_path / f"m{i}.pt", weights_only=False)["state_dict"])
    assert all(torch.equal(out[0][k], out[1][k]) for k in out[0])


def test_channels_last_on_cpu_is_reproducible_run_to_run(world, tmp_path):
    """config.yaml trains in channels-last on the CPU: a member and a pack come out bit for
    bit the same when trained twice."""
    train, _ = world
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=1, stop_at_train_acc=None)
    fast = {"amp": "fp32", "channels_last": True, "compile": False}
    solo, packs = [], []
    for i in range(2):
        train_member(train, arch="resnet18", width=1 / 16, seed=0, recipe=recipe, subset_size=96,
                     out_path=tmp_path / f"m{i}.pt", state_path=tmp_path / f"s{i}.pt", device="cpu", threads=1,
                     log=lambda s: None, fast=fast)
        solo.append(torch.load(tmp_path / f"m{i}.pt", weights_only=False)["state_dict"])
        (tmp_path / f"p{i}").mkdir()
        _pack(world, tmp_path / f"p{i}", recipe=recipe, seeds=[0, 1], fast=fast)
        packs.append(load_member(tmp_path / f"p{i}" / "member1.pt")[1]["state_dict"])
    assert all(torch.equal(solo[0][k], solo[1][k]) for k in solo[0])
    assert all(torch.equal(packs[0][k], packs[1][k]) for k in packs[0])


def _workflow_config(pack=True):
    return {
        "data": {"synthetic": {"n_train": 200, "n_test": 60, "num_classes": 4, "seed": 1}},
        "recipes": {"tiny": {"lr": 0.05, "batch_size": 50, "max_epochs": 2, "stop_at_train_acc": None,
                             "checkpoint_epochs": [0, 1]}},
        "ensembles": {"narrow": {"dataset": "synthetic", "arch": "resnet18", "width": 0.0625, "members": 3,
                                 "subset": 150, "recipe": "tiny"},
                      "wide": {"dataset": "synthetic", "arch": "vgg16", "width": 0.25, "members": 1,
                               "subset": 150, "recipe": "tiny"}},
        "extract": {"layers": ["penultimate"], "splits": ["test"]},
        "theory": {"simulate_pairs": 200},
        "train": {"pack": {"enabled": pack, "max_width": 0.125, "members_per_job": 2}},
        "device": "cpu",
    }


def _snakemake(root, workdir, config, *args):
    import subprocess

    import yaml
    from conftest import snakemake_cmd

    (workdir / "cfg.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([*snakemake_cmd(), "-s", str(root / "Snakefile"), "-d", str(workdir),
                           "--configfile", str(workdir / "cfg.yaml"), *args],
                          capture_output=True, text=True, timeout=600)


def _job_counts(text):
    counts, table = {}, False
    for line in text.splitlines():
        if line.startswith("job ") and "count" in line:
            table = True
        elif table and line.strip() and not line.startswith("-"):
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                break
            counts[parts[0]] = int(parts[1])
    return counts


def test_plan_of_a_packed_config(repo_root, tmp_path):
    """Packed ensembles go through train_pack + unpack_member, the others through train_member."""
    res = _snakemake(repo_root, tmp_path, _workflow_config(), "-n", "--quiet", "rules")
    assert res.returncode == 0, res.stderr[-3000:]
    counts = _job_counts(res.stdout + res.stderr)
    assert counts["train_pack"] == 2 and counts["unpack_member"] == 3 and counts["train_member"] == 1, counts
    off = _snakemake(repo_root, tmp_path, _workflow_config(pack=False), "-n", "--quiet", "rules")
    counts = _job_counts(off.stdout + off.stderr)
    assert counts["train_member"] == 4 and "train_pack" not in counts and "unpack_member" not in counts, counts


@pytest.mark.slow
def test_packed_workflow_writes_the_members_files(repo_root, tmp_path):
    cfg = _workflow_config()
    narrow, wide = zoo_models(cfg, "narrow"), zoo_models(cfg, "wide")
    res = _snakemake(repo_root, tmp_path, cfg, "--cores", "2", "results/ensembles/narrow/training_summary.csv",
                     f"results/zoo/{narrow[2]}/activations/penultimate/test.parquet",
                     f"results/zoo/{wide[0]}/metrics.json")
    assert res.returncode == 0, res.stderr[-3000:]
    import pandas as pd

    summary = pd.read_csv(tmp_path / "results/ensembles/narrow/training_summary.csv")
    assert list(summary["member"]) == [0, 1, 2] and list(summary["seed"]) == [0, 1, 2]
    assert summary["test_acc"].between(0, 1).all() and (summary["epochs"] == 2).all()
    for m, name in enumerate(narrow):
        model, payload = load_member(tmp_path / f"results/zoo/{name}/model.pt")
        assert payload["meta"] == {"model": name, "dataset": "synthetic"}
        ckpts = (tmp_path / f"results/zoo/{name}/checkpoints").iterdir()
        assert sorted(p.name for p in ckpts if p.name.startswith("epoch")) == ["epoch000.pt", "epoch001.pt"]
        assert "epoch   2/2" in (tmp_path / f"results/logs/train/{name}.log").read_text()
    group = narrow[0].rsplit("-s", 1)[0]
    assert "a pack of 1" in (tmp_path / f"results/logs/train/{group}-p1.log").read_text()
    assert "epoch   2/2" in (tmp_path / f"results/logs/train/{wide[0]}.log").read_text()  # train_member's route
    assert sorted(p.name for p in (tmp_path / "results/zoo/packs").iterdir()) == [f"{group}-p0", f"{group}-p1"]
    again = _snakemake(repo_root, tmp_path, cfg, "-n", "results/ensembles/narrow/training_summary.csv")
    assert "Nothing to be done" in again.stdout + again.stderr
