"""The contrastive framework (featurelab.training.contrastive): NT-Xent (Chen et al., ICML 2020,
Eq. 1) against a brute-force loop and closed forms, the two views, pre-training, the frozen
encoder under the linear head, held-out stopping, the saved member, config and planner."""
import copy
import math
from pathlib import Path

import pytest
import torch
from conftest import world_splits

from featurelab.config import ConfigError, load_config, validate_config
from featurelab.training import Recipe, SimCLR, load_member, train_member
from featurelab.training.contrastive import SimCLRViews, colour_jitter, nt_xent, pretrain_lr
from featurelab.training.inputs import to_input
from featurelab.training.solo import evaluate

ROOT = Path(__file__).resolve().parents[1]
PRE = {"epochs": 3, "temperature": 0.5, "projection_dim": 16, "batch_size": 32, "lr": 0.1, "warmup_epochs": 1,
       "crop_scale": [0.5, 1.0]}
RECIPE = Recipe.from_dict({"lr": 0.05, "batch_size": 32, "max_epochs": 3, "stop_at_train_acc": None, "simclr": PRE})


pytestmark = pytest.mark.usefixtures("one_thread")  # bitwise comparisons: one float order


@pytest.fixture(scope="module")
def world():
    return world_splits(n_train=96, n_test=64, num_classes=4, image_size=16, seed=1)


def run(world, tmp, recipe=RECIPE, seed=0, heldout=None, **kw):
    train, test = world
    return train_member(train, test=test, heldout=heldout, arch="resnet18", width=1 / 16, seed=seed, recipe=recipe,
                        out_path=tmp / "m.pt", state_path=tmp / "state.pt", checkpoint_dir=tmp / "ckpt",
                        device="cpu", threads=1, log=lambda s: None, **kw)


def brute_nt_xent(z1, z2, tau):
    """Eq. 1 written out: views 2k-1, 2k (0-based 2k, 2k+1) of image k, a loop over every pair."""
    views = [v for k in range(z1.shape[0]) for v in (z1[k], z2[k])]
    sim = [[float(a @ b / (a.norm() * b.norm())) for b in views] for a in views]
    n2 = len(views)

    def ell(i, j):
        den = sum(math.exp(sim[i][k] / tau) for k in range(n2) if k != i)
        return -math.log(math.exp(sim[i][j] / tau) / den)

    return sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n2 // 2)) / n2


def test_nt_xent_is_eq1_of_the_paper():
    g = torch.Generator().manual_seed(0)
    for n, d, tau in ((5, 8, 0.5), (3, 4, 0.1), (7, 3, 1.0)):
        z1, z2 = (torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(2))
        loss, _ = nt_xent(z1, z2, tau)
        assert loss.item() == pytest.approx(brute_nt_xent(z1, z2, tau), rel=1e-5)
        assert nt_xent(3 * z1, 0.5 * z2, tau)[0].item() == pytest.approx(loss.item(), rel=1e-5)  # cosine: scale-free
    # closed forms with identical views: all N images alike -> every other view is as similar as the
    # positive: log(2N - 1); N orthonormal images -> log(1 + 2(N - 1) e^(-1/τ))
    n, tau = 6, 0.5
    same = torch.ones(n, 4)
    assert nt_xent(same, same, tau)[0].item() == pytest.approx(math.log(2 * n - 1), rel=1e-6)
    ortho = torch.eye(n, 8)
    loss, acc = nt_xent(ortho, ortho, tau)
    assert loss.item() == pytest.approx(math.log(1 + 2 * (n - 1) * math.exp(-1 / tau)), rel=1e-6)
    assert acc.item() == 1.0


def test_the_two_views_of_an_image_differ_and_stay_its_own():
    # images of one constant colour each: without colour jitter every view of image i is image i's colour
    colours = torch.rand(6, 3, 1, 1, generator=torch.Generator().manual_seed(1))
    x = colours.expand(6, 3, 12, 12).contiguous()
    s = SimCLR(crop_scale=(0.3, 1.0), jitter=0.0, grayscale_p=0.0)
    views = SimCLRViews(s, [0.0] * 3, [1.0] * 3, seed=0)
    v1, v2 = views(x), views(x)
    assert v1.shape == v2.shape == x.shape
    torch.testing.assert_close(v1, x), torch.testing.assert_close(v2, x)
    # a textured batch: the two views of an image differ (crop, flip, colour)
    g = torch.Generator().manual_seed(2)
    x = torch.nn.functional.interpolate(torch.rand(8, 3, 4, 4, generator=g), size=16, mode="nearest")
    views = SimCLRViews(SimCLR(crop_scale=(0.6, 1.0), jitter=0.5, grayscale_p=0.2), [0.5] * 3, [0.25] * 3, seed=3)
    v1, v2 = views(x), views(x)
    assert all(not torch.allclose(v1[i], v2[i]) for i in range(8))
    a, b = views.state(), SimCLRViews(SimCLR(), [0.5] * 3, [0.25] * 3, seed=3).state()
    assert not torch.equal(a, b)  # the generator moved; a resumed run restores it


def test_colour_jitter_is_torchvisions_per_image():
    from torchvision.transforms.v2 import functional as TF

    g = torch.Generator().manual_seed(4)
    p = torch.rand(5, 3, 6, 6, generator=g)
    b, c, s = (0.6 + 0.8 * torch.rand(5, generator=g) for _ in range(3))
    h = 0.2 * torch.rand(5, generator=g) - 0.1
    got = colour_jitter(p, b, c, s, h)
    for i in range(5):
        want = TF.adjust_hue(TF.adjust_saturation(TF.adjust_contrast(TF.adjust_brightness(
            p[i], b[i].item()), c[i].item()), s[i].item()), h[i].item())
        torch.testing.assert_close(got[i], want, atol=1e-5, rtol=1e-5)
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    green = colour_jitter(red, torch.ones(1), torch.ones(1), torch.ones(1), torch.tensor([1 / 3]))
    torch.testing.assert_close(green[0, :, 0, 0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6, rtol=0)


def test_warm_up_then_cosine():
    s = SimCLR(epochs=10, lr=0.4, warmup_epochs=2)
    lrs = [pretrain_lr(s, e) for e in range(10)]
    assert lrs[:3] == pytest.approx([0.2, 0.4, 0.4])
    assert lrs[2 + 4] == pytest.approx(0.2)  # half-way through the cosine
    assert all(a >= b for a, b in zip(lrs[1:], lrs[2:]))


def test_pretraining_lowers_the_contrastive_loss_and_the_head_leaves_the_encoder_frozen(world, tmp_path):
    from dataclasses import replace

    longer = replace(RECIPE, simclr=replace(RECIPE.simclr, epochs=6, lr=0.2))
    m = run(world, tmp_path, longer)
    pre = [h["loss"] for h in m["pretrain_history"]]
    assert len(pre) == 6 and pre[-1] < pre[0] - 0.05, pre
    assert m["framework"] == "simclr" and m["pretrain_epochs"] == 6 and m["epochs"] == 3
    a = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    # the same seed with a longer head: the same pre-training, so the same encoder; only the linear layer moves
    m5 = run(world, tmp_path, replace(longer, max_epochs=5))
    b = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    assert [h["loss"] for h in m5["pretrain_history"]] == pre
    for k in a:
        if k.startswith("linear."):
            assert not torch.equal(a[k], b[k]), k
        else:
            assert torch.equal(a[k], b[k]), k  # weights and batch-norm statistics
    # and the head was trained: its layer left the initialisation, its training loss fell
    from featurelab.training import initial_model
    init = initial_model("resnet18", 4, 1 / 16, 3, 0).state_dict()
    assert not torch.equal(init["linear.weight"], b["linear.weight"])
    assert not torch.equal(init["stages.0.0.conv1.weight"], b["stages.0.0.conv1.weight"])  # pre-training moved it
    assert m5["history"][-1]["loss"] < m5["history"][0]["loss"]
    assert not (tmp_path / "state.pt").exists() and not (tmp_path / "state.pt.head").exists()


def test_held_out_stopping_stops_the_head_phase(world, tmp_path):
    train, test = world
    from dataclasses import replace

    stop = replace(RECIPE, max_epochs=6, stop_at_heldout_acc=0.0)
    m = run(world, tmp_path, stop, heldout=test)
    assert m["epochs"] == 1 and m["stop_reason"] == "heldout_acc" and m["pretrain_epochs"] == 3
    never = replace(RECIPE, max_epochs=3, stop_at_heldout_acc=1.01)
    m = run(world, tmp_path, never, heldout=test)
    assert m["epochs"] == 3 and m["stop_reason"] == "max_epochs"
    # the held-out accuracy logged after the head epoch is the saved network's on that split
    model, payload = load_member(tmp_path / "m.pt")
    x = to_input(test.images, payload["mean"], payload["std"], torch.device("cpu"))
    assert evaluate(model, x, torch.as_tensor(test.labels)) == pytest.approx(m["history"][-1]["heldout_acc"])
    with pytest.raises(ValueError, match="no held-out split"):
        run(world, tmp_path, stop)


def test_the_member_loads_and_extracts_like_a_supervised_one(world, tmp_path):
    from featurelab.extract import compute_activations

    train, test = world
    m = run(world, tmp_path)
    model, payload = load_member(tmp_path / "m.pt")
    assert payload["arch"] == "resnet18" and payload["metrics"]["framework"] == "simclr"
    assert "pretrain_history" not in payload["metrics"]
    acts = compute_activations(model, payload, test, ("penultimate", "block2"), torch.device("cpu"))
    assert acts["penultimate"].shape == (len(test), model.feature_dim) and acts["logits"].shape == (len(test), 4)
    assert float((acts["logits"].argmax(1) == test.labels).mean()) == pytest.approx(m["test_acc"])
    assert (tmp_path / "ckpt").is_dir()
    # the same seed gives the same member bit for bit
    (tmp_path / "b").mkdir()
    run(world, tmp_path / "b")
    again = torch.load(tmp_path / "b/m.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(v, again[k]) for k, v in payload["state_dict"].items())


def test_a_killed_run_resumes_to_the_same_weights_in_either_phase(world, tmp_path):
    run(world, tmp_path)
    want = torch.load(tmp_path / "m.pt", weights_only=False)["state_dict"]
    for kill in (2, 4):  # in pre-training, in the head phase
        d = tmp_path / f"k{kill}"
        d.mkdir()
        assert run(world, d, stop_after_epochs=kill)["interrupted"]
        assert not (d / "m.pt").exists()
        run(world, d)
        got = torch.load(d / "m.pt", weights_only=False)["state_dict"]
        assert all(torch.equal(v, got[k]) for k, v in want.items()), kill


def test_bad_settings_are_refused_with_the_key_named():
    with pytest.raises(ValueError, match="simclr.temperature"):
        Recipe.from_dict({"simclr": {"temperature": 0}})
    with pytest.raises(ValueError, match="simclr.warmup_epochs"):
        Recipe.from_dict({"simclr": {"epochs": 5, "warmup_epochs": 5}})
    with pytest.raises(ValueError, match="unknown simclr keys"):
        Recipe.from_dict({"simclr": {"epoch": 5}})
    with pytest.raises(ValueError, match="mixup"):
        Recipe.from_dict({"mixup": 0.2, "simclr": {}})
    # the fingerprint of a recipe without it is unchanged; with it, the settings count
    assert "simclr" not in Recipe().identity()
    assert Recipe.from_dict({"simclr": {"epochs": 17}}).identity()["simclr"]["epochs"] == 17
    assert Recipe.from_dict({"reference_size": 100, "simclr": {"epochs": 4, "warmup_epochs": 1}}).for_size(50).simclr \
        == SimCLR(epochs=8, warmup_epochs=2)
    base = load_config(ROOT / "config.yaml")
    for bad, key in (({"temperature": 0}, "recipes.div_simclr.simclr.temperature"),
                     ({"crop_scale": [0.9, 0.5]}, "recipes.div_simclr.simclr.crop_scale"),
                     ({"warmup_epochs": 8}, "recipes.div_simclr.simclr.warmup_epochs"),
                     ({"views": 3}, "recipes.div_simclr.simclr")):
        cfg = copy.deepcopy(base)
        cfg["recipes"]["div_simclr"]["simclr"].update(bad)
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            validate_config(cfg)
    cfg = copy.deepcopy(base)
    cfg["recipes"]["div_simclr"]["augment"] = "crop_flip"
    with pytest.raises(ConfigError, match=r"recipes\.div_simclr\.simclr: .*augment"):
        validate_config(cfg)


def test_the_planner_never_packs_a_simclr_model():
    from featurelab.plan import Plan
    from featurelab.training.packed import train_pack

    cfg = load_config(ROOT / "config.yaml")
    cfg["diversity"]["categories"]["framework"].append({"recipe": "div_simclr", "members": 2})   # beside the default's one
    plan = Plan(validate_config(cfg))
    simclr = [m for m in plan.models.values() if m.recipe == "div_simclr"]
    assert len(simclr) == 3 and all(m.width <= 0.125 and m.arch == "resnet18" for m in simclr)
    assert not any(m.id in plan.pack_of for m in simclr)           # packable by width, yet trained alone
    assert any(m.recipe == "div_mixup" and m.id in plan.pack_of for m in plan.models.values())
    assert all(plan.heldout_file(m.id) for m in simclr)             # they stop on the held-out split
    train, _ = world_splits(n_train=16, n_test=8, num_classes=2, image_size=16, seed=0)
    with pytest.raises(ValueError, match="simclr"):
        train_pack(train, arch="resnet18", width=1 / 16, seeds=[0, 1], recipe=RECIPE,
                   out_paths=["a.pt", "b.pt"], state_path="s.pt", device="cpu")
