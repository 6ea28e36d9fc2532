"""Training: determinism on CPU, resume after a kill, checkpoints, subsets."""
import numpy as np
import pytest
import torch
from conftest import world_splits

from featurelab.training import Recipe, load_member, member_subset, train_member

RECIPE = Recipe(lr=0.05, batch_size=32, max_epochs=3, stop_at_train_acc=None, checkpoint_epochs=(0, 2, 5))


@pytest.fixture(scope="module")
def world():
    return world_splits(n_train=160, n_test=64, num_classes=4, seed=1)


def run(world, tmp, seed=0, **kw):
    train, test = world
    return train_member(train, test=test, arch="resnet18", width=1 / 16, seed=seed, recipe=RECIPE,
                        subset_size=128, out_path=tmp / "m.pt", state_path=tmp / "state.pt",
                        checkpoint_dir=tmp / "ckpt", device="cpu", threads=1, log=lambda s: None, **kw)


def weights(path):
    return torch.load(path, weights_only=False)["state_dict"]


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_weights_bit_for_bit(world, tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    ma = run(world, tmp_path / "a", seed=5)
    run(world, tmp_path / "b", seed=5)
    run(world, tmp_path / "c", seed=6)
    assert_same(weights(tmp_path / "a/m.pt"), weights(tmp_path / "b/m.pt"))
    wa, wc = weights(tmp_path / "a/m.pt"), weights(tmp_path / "c/m.pt")
    assert not torch.equal(wa["linear.weight"], wc["linear.weight"])
    assert ma["epochs"] == 3 and len(ma["history"]) == 3 and 0 <= ma["test_acc"] <= 1
    assert not (tmp_path / "a/state.pt").exists()  # resumable state removed on success


def test_killed_job_resumes_to_the_same_weights(world, tmp_path):
    (tmp_path / "full").mkdir(), (tmp_path / "killed").mkdir()
    run(world, tmp_path / "full", seed=2)
    first = run(world, tmp_path / "killed", seed=2, stop_after_epochs=1)
    assert first["interrupted"] and (tmp_path / "killed/state.pt").exists()
    assert not (tmp_path / "killed/m.pt").exists()
    logs = []
    train, test = world
    second = train_member(train, test=test, arch="resnet18", width=1 / 16, seed=2, recipe=RECIPE,
                          subset_size=128, out_path=tmp_path / "killed/m.pt",
                          state_path=tmp_path / "killed/state.pt", checkpoint_dir=tmp_path / "killed/ckpt",
                          device="cpu", threads=1, log=logs.append)
    assert any("resuming" in s and "epoch 1" in s for s in logs)
    assert len(second["history"]) == 3
    assert_same(weights(tmp_path / "full/m.pt"), weights(tmp_path / "killed/m.pt"))
    for e in (0, 2, 5):  # checkpoints from before and after the kill survive
        assert_same(torch.load(tmp_path / f"full/ckpt/epoch{e:03d}.pt"),
                    torch.load(tmp_path / f"killed/ckpt/epoch{e:03d}.pt"))


def test_state_from_another_configuration_is_ignored(world, tmp_path):
    run(world, tmp_path, seed=3, stop_after_epochs=1)
    logs = []
    train, _ = world
    train_member(train, arch="resnet18", width=1 / 16, seed=4, recipe=RECIPE, subset_size=128,
                 out_path=tmp_path / "m.pt", state_path=tmp_path / "state.pt", device="cpu",
                 threads=1, log=logs.append)
    assert any("another configuration" in s for s in logs)
    assert not any("resuming" in s for s in logs)


def test_checkpoints_and_reload(world, tmp_path):
    run(world, tmp_path, seed=0)
    ckpts = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert ckpts == ["epoch000.pt", "epoch002.pt", "epoch005.pt"]
    final = weights(tmp_path / "m.pt")
    assert_same(torch.load(tmp_path / "ckpt/epoch005.pt"), final)  # past the end: final weights
    init = torch.load(tmp_path / "ckpt/epoch000.pt")
    assert not torch.equal(init["linear.weight"], final["linear.weight"])
    model, payload = load_member(tmp_path / "m.pt")
    assert payload["arch"] == "resnet18" and len(payload["subset"]) == 128


def test_stop_at_full_training_accuracy(world, tmp_path):
    train, _ = world
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=50, stop_at_train_acc=0.3)
    m = train_member(train, arch="resnet18", width=1 / 16, seed=0, recipe=recipe,
                     out_path=tmp_path / "m.pt", state_path=tmp_path / "s.pt", device="cpu",
                     threads=1, log=lambda s: None)
    assert m["stop_reason"] == "train_acc" and m["epochs"] < 50
    assert m["history"][-1]["train_acc"] >= 0.3
    assert all(h["train_acc"] < 0.3 for h in m["history"][:-1])


def test_member_subsets():
    a = member_subset(1000, 300, seed=1)
    assert len(a) == len(np.unique(a)) == 300 and a.max() < 1000
    assert np.array_equal(a, member_subset(1000, 300, seed=1))
    assert not np.array_equal(a, member_subset(1000, 300, seed=2))
    assert np.array_equal(member_subset(50, None, seed=0), np.arange(50))
    with pytest.raises(ValueError, match="subset size"):
        member_subset(100, 101, seed=0)


def test_step_schedule():
    r = Recipe(lr=0.1, lr_step_epochs=50, lr_step_factor=0.1)
    assert r.lr_at(0) == 0.1 and r.lr_at(49) == 0.1
    assert r.lr_at(50) == pytest.approx(0.01) and r.lr_at(100) == pytest.approx(0.001)
    with pytest.raises(ValueError, match="unknown training-recipe keys"):
        Recipe.from_dict({"lr": 0.1, "epochs": 3})


def test_reference_size_gives_small_splits_the_same_number_of_steps(world, tmp_path):
    r = Recipe(max_epochs=8, lr_step_epochs=5, reference_size=3000)
    assert r.for_size(600) == Recipe(max_epochs=40, lr_step_epochs=25)      # 5x fewer images, 5x the epochs
    assert r.for_size(3000).max_epochs == 8 and r.for_size(6000).max_epochs == 4
    assert r.for_size(900).max_epochs == 27                                  # 26.67 rounded up
    assert r.for_size(10**6).max_epochs == 1 and r.for_size(10**6).lr_step_epochs == 1
    plain = Recipe(max_epochs=8)
    assert plain.for_size(17) is plain
    with pytest.raises(ValueError, match="0 training images"):
        r.for_size(0)
    # in training: 128 images against a reference of 256 -> twice RECIPE's 3 epochs
    logs = []
    train, test = world
    from dataclasses import replace
    m = train_member(train, test=test, arch="resnet18", width=1 / 16, seed=0,
                     recipe=replace(RECIPE, reference_size=256, checkpoint_epochs=()), subset_size=128,
                     out_path=tmp_path / "m.pt", state_path=tmp_path / "s.pt", device="cpu", threads=1,
                     log=logs.append)
    assert m["epochs"] == 6 and len(m["history"]) == 6
    assert any("max_epochs 3 -> 6" in line for line in logs)
