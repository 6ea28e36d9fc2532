"""The diversity study's training pieces: label smoothing, mixup, held-out stopping, the MLP
(Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022: the Hyper, Framework and Arch categories and the
accuracy matching)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import world_splits

from featurelab.architecture import feature_dim, parameter_count
from featurelab.models import build_model, count_parameters
from featurelab.training import Recipe, load_member, train_member
from featurelab.training.inputs import to_input
from featurelab.training.packed import train_pack
from featurelab.training.solo import evaluate


@pytest.fixture(scope="module")
def world():
    return world_splits(n_train=160, n_test=64, num_classes=4, seed=1)


def run(world, tmp, recipe, arch="resnet18", heldout=None, seed=0):
    train, test = world
    return train_member(train, test=test, heldout=heldout, arch=arch, width=1 / 16, seed=seed, recipe=recipe,
                        out_path=tmp / "m.pt", state_path=tmp / "state.pt", device="cpu", threads=1,
                        log=lambda s: None)


def test_the_mlp_counts_its_parameters_and_gives_penultimate_features():
    for width, size, ch in ((0.5, 24, 3), (1 / 16, 32, 1)):
        m = build_model("mlp", 10, width, ch, size)
        assert count_parameters(m) == parameter_count("mlp", width, 10, ch, size)
        out = m.eval().features(torch.zeros(5, ch, size, size), ("penultimate",))
        assert out["penultimate"].shape == (5, feature_dim("mlp", width)) and out["logits"].shape == (5, 10)
    with pytest.raises(ValueError, match="no stages"):
        m.features(torch.zeros(2, 1, 32, 32), ("block1",))
    with pytest.raises(ValueError, match="image size"):
        build_model("mlp", 10, 1.0, 3)


def test_held_out_stopping_stops_at_the_first_epoch_that_reaches_it(world, tmp_path):
    train, test = world
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=6, stop_at_train_acc=None)
    full = run(world, tmp_path, recipe, heldout=test)
    accs = [h.get("heldout_acc") for h in full["history"]]
    assert accs == [None] * 6  # no held-out stopping: nothing measured
    stop = Recipe(lr=0.05, batch_size=32, max_epochs=6, stop_at_train_acc=None, stop_at_heldout_acc=0.0)
    m = run(world, tmp_path, stop, heldout=test)
    assert m["epochs"] == 1 and m["stop_reason"] == "heldout_acc"
    never = Recipe(lr=0.05, batch_size=32, max_epochs=3, stop_at_train_acc=None, stop_at_heldout_acc=1.01)
    m = run(world, tmp_path, never, heldout=test)
    assert m["epochs"] == 3 and m["stop_reason"] == "max_epochs"
    # the held-out accuracy logged after each epoch is the model's accuracy on that split
    model, _ = load_member(tmp_path / "m.pt")
    assert m["history"][-1]["heldout_acc"] == pytest.approx(m["test_acc"])
    with pytest.raises(ValueError, match="no held-out split"):
        run(world, tmp_path, stop)


def test_label_smoothing_and_mixup_change_the_weights_and_are_reproducible(world, tmp_path):
    base = Recipe(lr=0.05, batch_size=32, max_epochs=2, stop_at_train_acc=None)
    out = {}
    for name, r in (("plain", base), ("smooth", Recipe(**{**base.__dict__, "label_smoothing": 0.2})),
                    ("mixup", Recipe(**{**base.__dict__, "mixup": 0.4}))):
        run(world, tmp_path, r, arch="mlp")
        out[name] = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    assert not torch.equal(out["plain"]["linear.weight"], out["smooth"]["linear.weight"])
    assert not torch.equal(out["plain"]["linear.weight"], out["mixup"]["linear.weight"])
    run(world, tmp_path, Recipe(**{**base.__dict__, "mixup": 0.4}), arch="mlp")
    again = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(again[k], out["mixup"][k]) for k in again)
    # only the recipes that use them fingerprint the new keys: old resume states stay valid
    assert "mixup" not in base.identity() and Recipe(mixup=0.4).identity()["mixup"] == 0.4


def test_label_smoothing_is_the_smoothed_cross_entropy():
    # the known answer: (1 - s)·CE(y) + s·mean_k CE(k)
    logits, y, s = torch.randn(7, 5), torch.randint(0, 5, (7,)), 0.2
    want = (1 - s) * F.cross_entropy(logits, y) + s * (-F.log_softmax(logits, 1).mean(1)).mean()
    assert F.cross_entropy(logits, y, label_smoothing=s).item() == pytest.approx(want.item(), rel=1e-6)


def test_packed_mixup_and_label_smoothing_follow_each_members_solo_run(world, tmp_path):
    """After two steps of mixup with label smoothing, each packed member holds its solo weights
    up to the grouped kernels' rounding (measured: 1e-6; a wrong λ, permutation or target moves
    them by 1e-3 and more): the same λ, permutations and targets. Longer runs drift apart as
    any two float orders of one SGD run do."""
    train, test = world_splits(n_train=64, n_test=64, num_classes=4, seed=1)
    world = (train, test)
    recipe = Recipe(lr=0.002, batch_size=32, max_epochs=1, stop_at_train_acc=None, label_smoothing=0.1, mixup=0.4)
    seeds = [3, 4]
    train_pack(train, arch="resnet18", width=1 / 16, seeds=seeds, recipe=recipe,
               out_paths=[tmp_path / f"p{s}.pt" for s in seeds], state_path=tmp_path / "ps.pt", device="cpu",
               threads=1, log=lambda s: None)
    plain = Recipe(lr=0.002, batch_size=32, max_epochs=1, stop_at_train_acc=None, label_smoothing=0.1)
    for s in seeds:
        a = torch.load(tmp_path / f"p{s}.pt", weights_only=False)["state_dict"]
        run(world, tmp_path, recipe, seed=s)
        b = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
        run(world, tmp_path, plain, seed=s)
        c = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
        for k in a:
            if a[k].is_floating_point():
                torch.testing.assert_close(a[k], b[k], atol=1e-5, rtol=1e-5, msg=k)
        assert not torch.allclose(a["linear.weight"], c["linear.weight"], atol=1e-4)  # mixup did act


def test_packed_held_out_stopping_is_per_member(world, tmp_path):
    train, test = world
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=6, stop_at_train_acc=None, stop_at_heldout_acc=0.27)
    res = train_pack(train, arch="resnet18", width=1 / 16, seeds=[0, 1, 2], recipe=recipe, heldout=test,
                     out_paths=[tmp_path / f"p{s}.pt" for s in range(3)], state_path=tmp_path / "ps.pt",
                     device="cpu", threads=1, log=lambda s: None)
    assert len({m["epochs"] for m in res if m["stop_reason"] == "heldout_acc"}) >= 2  # members stop apart
    for g, m in enumerate(res):
        accs = [h["heldout_acc"] for h in m["history"]]
        if m["stop_reason"] == "heldout_acc":
            assert accs[-1] >= 0.27 and all(a < 0.27 for a in accs[:-1])
        else:
            assert m["epochs"] == 6 and all(a < 0.27 for a in accs)
        # the recorded weights are those of the stopping epoch: their held-out accuracy is the last logged
        model, payload = load_member(tmp_path / f"p{g}.pt")
        x = to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))
        assert evaluate(model, x, torch.as_tensor(test.labels)) == pytest.approx(accs[-1])
    with pytest.raises(ValueError, match="no held-out split"):
        train_pack(train, arch="resnet18", width=1 / 16, seeds=[0, 1], recipe=recipe,
                   out_paths=[tmp_path / "a.pt", tmp_path / "b.pt"], state_path=tmp_path / "s.pt", device="cpu")
    with pytest.raises(ValueError, match="label_smoothing must lie"):
        Recipe.from_dict({"label_smoothing": 1.0})
    assert np.isfinite(Recipe.from_dict({"mixup": 0.2}).mixup)


def test_held_out_checks_within_an_epoch_stop_where_the_target_is_first_reached(world, tmp_path):
    """``heldout_checks: 3`` measures the held-out accuracy after minibatches 2, 4 and 5 of an
    epoch of 5 (160 points, batch 32): the model stops at the first check that reaches the
    target, its weights are that check's (their held-out accuracy is the last logged), and every
    earlier check was below it; packed members likewise, each at a check of its own (packed and
    solo runs drift apart in their float order, so the crossing need not be the same check)."""
    train, test = world
    assert Recipe(stop_at_heldout_acc=0.5, heldout_checks=3).heldout_check_batches(5) == {2, 4, 5}
    assert Recipe(heldout_checks=3).heldout_check_batches(5) == set()  # no held-out stopping: no checks
    assert Recipe(stop_at_heldout_acc=0.5, heldout_checks=9).heldout_check_batches(5) == {1, 2, 3, 4, 5}
    recipe = Recipe(lr=0.05, batch_size=32, max_epochs=6, stop_at_train_acc=None, stop_at_heldout_acc=0.3,
                    heldout_checks=3)
    m = run(world, tmp_path, recipe, heldout=test, seed=1)
    last = m["history"][-1]
    assert m["stop_reason"] == "heldout_acc" and last["heldout_acc"] >= 0.3
    assert all(h["heldout_acc"] < 0.3 for h in m["history"][:-1])
    model, payload = load_member(tmp_path / "m.pt")
    x = to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))
    assert evaluate(model, x, torch.as_tensor(test.labels)) == pytest.approx(last["heldout_acc"])
    res = train_pack(train, arch="resnet18", width=1 / 16, seeds=[1, 2], recipe=recipe, heldout=test,
                     out_paths=[tmp_path / f"p{s}.pt" for s in range(2)], state_path=tmp_path / "ps.pt",
                     device="cpu", threads=1, log=lambda s: None)
    for g, r in enumerate(res):
        h = r["history"]
        assert r["stop_reason"] == "heldout_acc" and h[-1]["heldout_acc"] >= 0.3
        assert all(e["heldout_acc"] < 0.3 for e in h[:-1])
        assert round(h[-1]["epoch"] % 1 * 5) in (0, 2, 4)  # stopped after minibatch 2 or 4, or at an epoch's end
        model, payload = load_member(tmp_path / f"p{g}.pt")
        x = to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))
        assert evaluate(model, x, torch.as_tensor(test.labels)) == pytest.approx(h[-1]["heldout_acc"])
    assert any(h["epoch"] % 1 for r in (m, *res) for h in r["history"][-1:])  # some stopped within an epoch
    assert "heldout_checks" not in Recipe().identity() and recipe.identity()["heldout_checks"] == 3
