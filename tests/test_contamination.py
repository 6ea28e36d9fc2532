"""The contamination study's deep-network and padding measures, the shifted split, the plan
(Zhang et al., "Feature Contamination", ICML 2024); the numerical setting has its own file."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from featurelab.config import ConfigError, load_config, validate_config
from featurelab.contamination import deep, findings, padding
from featurelab.data.synthetic import ID_RG, SHIFTED_RG, WorldConfig, generate_split, motif_bank
from featurelab.models import build_model
from featurelab.plan import Plan
from featurelab.training.augment import crop_flip, pad_fill

K = 10


# ---------------------------------------------------------------- selectivity
def test_selectivity_one_hot_and_flat_profiles():
    one_hot = np.eye(K)[:, :K]  # unit c answers to class c only
    got = deep.selectivity(one_hot, eps=1e-8)
    want = (1 - 1 / K) / (1 + 1 / K)
    np.testing.assert_allclose(got, want, atol=1e-7)
    flat = np.full((K, 3), 0.7)
    np.testing.assert_allclose(deep.selectivity(flat), 0.0, atol=1e-12)


def test_selectivity_matches_the_formula_on_random_means_and_refuses_bad_shapes():
    rng = np.random.default_rng(0)
    mu = rng.random((5, 7))
    want = [(m.max() - m.mean()) / (m.max() + m.mean() + 1e-8) for m in mu.T]
    np.testing.assert_allclose(deep.selectivity(mu), want, rtol=1e-12)
    with pytest.raises(ValueError, match="class_means"):
        deep.selectivity(np.ones(4))
    with pytest.raises(ValueError, match="eps"):
        deep.selectivity(mu, eps=-1)


# ---------------------------------------------------------------- stage statistics
def _brute_stage_outputs(model, x):
    """Each stage's output by running the network by hand (ResNet blocks end in their ReLU)."""
    outs, h = [], model.stem(x)
    for stage in model.stages:
        h = stage(h)
        outs.append(h)
    return outs


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_stage_statistics_against_a_hand_computation(arch):
    torch.manual_seed(0)
    model = build_model(arch, K, 0.0625).eval()
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(40) % K
    mean, std = [0.5] * 3, [0.25] * 3
    stats = deep.stage_statistics(model, images, labels, mean, std, K, batch_size=16)
    x = (torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255 - 0.5) / 0.25
    with torch.no_grad():
        if arch == "resnet18":
            outs = _brute_stage_outputs(model, x)
        else:  # the stage's last ReLU, before its max-pool
            outs, h = [], x
            for stage in model.stages:
                for layer in stage:
                    if isinstance(layer, torch.nn.MaxPool2d):
                        outs.append(h)
                    h = layer(h)
    assert len(stats["rate"]) == len(outs)
    for s, o in enumerate(outs):
        o = o.double().numpy()
        for k in range(K):
            sel = labels == k
            np.testing.assert_allclose(stats["rate"][s][k], (o[sel] > 0).mean(axis=(0, 2, 3)), atol=1e-9)
            np.testing.assert_allclose(stats["mean"][s][k], o[sel].mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(stats["channel_mean"][s], o.mean(axis=(0, 2, 3)), rtol=1e-5, atol=1e-7)


def test_stage_statistics_needs_every_class():
    model = build_model("resnet18", K, 0.0625).eval()
    images = np.zeros((3, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="every class needs an image"):
        deep.stage_statistics(model, images, np.array([0, 1, 2]), [0.5] * 3, [0.25] * 3, K)


def test_ranked_rates_flat_and_one_hot():
    flat = np.full((K, 4), 0.3)
    np.testing.assert_allclose(deep.ranked_rates(flat), 0.3)
    one = np.eye(K)
    r = deep.ranked_rates(one)
    assert r[0] == 1.0 and np.all(r[1:] == 0.0)


# ---------------------------------------------------------------- padding
def test_training_padding_puts_exactly_the_colour_outside_the_image():
    """crop_flip with a pad colour: every output pixel is either an image pixel or exactly the
    padding colour, and where the crop offset puts padding, it is the colour."""
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    fill = pad_fill([150, 50, 50], mean, std)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, 12, 12) + 10.0  # image values far from the fill
    pad = 4
    out = crop_flip(x, pad, fill, g)
    g2 = torch.Generator().manual_seed(0)
    dy = torch.randint(0, 2 * pad + 1, (8,), generator=g2)
    dx = torch.randint(0, 2 * pad + 1, (8,), generator=g2)
    flip = torch.rand(8, generator=g2) < 0.5
    colour = torch.tensor(fill).view(3, 1, 1)
    for i in range(8):
        o = out[i].flip(-1) if flip[i] else out[i]
        rows = torch.arange(12) + dy[i] - pad
        cols = torch.arange(12) + dx[i] - pad
        inside = ((rows >= 0) & (rows < 12))[:, None] & ((cols >= 0) & (cols < 12))[None, :]
        assert torch.equal(o[:, ~inside], colour.expand(3, 12, 12)[:, ~inside])
        r, c = rows.clamp(0, 11), cols.clamp(0, 11)
        assert torch.equal(o[:, inside], x[i][:, r][:, :, c][:, inside])
    assert np.allclose(fill, [(150 / 255 - 0.4) / 0.2, (50 / 255 - 0.5) / 0.25, (50 / 255 - 0.6) / 0.3])


def test_pad_test_images_bands_and_shift():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 10, 10, 3), dtype=np.uint8)
    out = padding.pad_test_images(imgs, 3, [150, 50, 50])
    assert (out[:, :3] == [150, 50, 50]).all() and (out[:, :, :3] == [150, 50, 50]).all()
    np.testing.assert_array_equal(out[:, 3:, 3:], imgs[:, :7, :7])
    np.testing.assert_array_equal(padding.pad_test_images(imgs, 0, [1, 2, 3]), imgs)
    with pytest.raises(ValueError, match="pad"):
        padding.pad_test_images(imgs, 10, [1, 2, 3])
    with pytest.raises(ValueError, match="colour"):
        padding.pad_test_images(imgs, 2, [300, 0, 0])


def test_colour_response_equals_stage_means_of_a_solid_image():
    torch.manual_seed(0)
    model = build_model("resnet18", K, 0.0625).eval()
    mean, std = [0.5] * 3, [0.25] * 3
    resp = padding.colour_response(model, [[150, 50, 50], [128, 128, 128]], 16, mean, std)
    stats = deep.stage_statistics(model, padding.solid_images([[150, 50, 50]] * K, 16), np.arange(K), mean, std, K)
    for s, r in enumerate(resp):
        np.testing.assert_allclose(r[0], stats["channel_mean"][s], rtol=1e-5, atol=1e-7)


def test_visualisation_raises_the_channel_it_optimises():
    torch.manual_seed(0)
    model = build_model("resnet18", K, 0.0625).eval()
    mean, std = [0.5] * 3, [0.25] * 3
    grey = padding.colour_response(model, [[128, 128, 128]], 16, mean, std)[-1][0]
    imgs = padding.visualize_channels(model, 4, [0, 1], 16, mean, std, steps=30, lr=0.1)
    assert imgs.shape == (2, 16, 16, 3) and imgs.dtype == np.uint8
    stats = deep.stage_statistics(model, np.repeat(imgs, [1, 1], axis=0), np.array([0, 1]), mean, std, 2)
    got = stats["mean"][-1]
    assert got[0, 0] > grey[0] and got[1, 1] > grey[1]


# ---------------------------------------------------------------- the shifted split
def test_shifted_split_changes_only_background_pixels():
    cfg = WorldConfig(n_train=10, n_test=60, image_size=24, seed=3)
    test, y, t = generate_split(cfg, "test")
    shifted, y2, t2 = generate_split(cfg, "shifted")
    np.testing.assert_array_equal(y, y2)
    assert t.motifs.tolist() == t2.motifs.tolist() and t.cells.tolist() == t2.cells.tolist()
    np.testing.assert_array_equal(t.blue_level, t2.blue_level)
    bg, bg2 = np.array(t.background.tolist()), np.array(t2.background.tolist())
    assert (bg[:, :2] >= ID_RG[0]).all() and (bg[:, :2] <= ID_RG[1]).all()
    assert (bg2[:, :2] >= SHIFTED_RG[0]).all() and (bg2[:, :2] <= SHIFTED_RG[1]).all()
    np.testing.assert_array_equal(bg[:, 2], bg2[:, 2])
    masks, _ = motif_bank(cfg)
    same = (test[..., :2] == shifted[..., :2]).all(-1).sum(axis=(1, 2))
    motif_pixels = np.array([sum(int(masks[m].sum()) for m in ms) for ms in t.motifs])
    np.testing.assert_array_equal(same, motif_pixels)


# ---------------------------------------------------------------- findings
def test_deep_findings_on_a_hand_made_table():
    rows = []
    for member in range(3):
        for state, sel in (("init", 0.1), ("trained", 0.4)):
            for split, shift in (("test", 0.0), ("shifted", -0.1)):
                for ch in range(2):
                    rows.append({"member": member, "state": state, "split": split, "stage": 1, "channel": ch,
                                 "class": 0, "rate": 0.5, "mean": 1.0, "selectivity": sel + shift + 0.01 * member})
    ch = pd.DataFrame(rows)
    acc = pd.DataFrame([{"member": m, "state": s, "split": sp, "accuracy": a}
                        for m in range(3) for s in ("init", "trained")
                        for sp, a in (("test", 0.8), ("shifted", 0.6))])
    f = findings.deep_findings(ch, acc)
    st = f["stages"][1]
    assert st["trained_minus_init"]["mean"] == pytest.approx(0.3)
    assert st["training_raises_selectivity"]["holds"]
    assert st["shifted_minus_test"]["mean"] == pytest.approx(-0.1)
    assert f["accuracy_drop_under_shift"]["mean"] == pytest.approx(0.2)
    assert f["shift_lowers_accuracy"]["holds"]


def test_mean_se():
    r = findings.mean_se([1.0, 2.0, 3.0])
    assert r["mean"] == 2.0 and r["se"] == pytest.approx(1 / np.sqrt(3)) and r["n"] == 3
    assert findings.mean_se([5.0])["se"] is None


# ---------------------------------------------------------------- plan and config
def test_plan_padded_ensemble_shares_controls_with_the_ensemble():
    cfg = load_config("config.yaml")
    plan = Plan(cfg)
    pairs = plan.padding_pairs()
    assert len(pairs["padded"]) == cfg["contamination"]["padding"]["members"]
    assert pairs["plain"] == plan.ensemble_models("synth")[:len(pairs["padded"])]
    for a, b in zip(pairs["padded"], pairs["plain"]):
        pa, pb = plan.models[a], plan.models[b]
        assert (pa.dataset, pa.arch, pa.width, pa.seed) == (pb.dataset, pb.arch, pb.width, pb.seed)
        assert pa.recipe == "padded" and pb.recipe == "small"
    assert not set(pairs["padded"]) & set(plan.activation_models())
    assert plan.contamination_splits() == ["test", "shifted"]
    names = [r["name"] for r in plan.contamination_runs()]
    assert "classification_relu_code_s0" in names and len(names) == len(set(names))


def test_config_refuses_a_padding_recipe_without_colour_and_a_user_ensemble_named_cont_padded():
    cfg = load_config("config.yaml")
    bad = copy.deepcopy(cfg)
    bad["recipes"]["padded"]["pad_color"] = None
    with pytest.raises(ConfigError, match="must pad with a colour"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["contamination"]["ensemble"] = "nope"
    with pytest.raises(ConfigError, match="contamination.ensemble"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["ensembles"]["cont_padded"] = copy.deepcopy(bad["ensembles"]["synth"])
    with pytest.raises(ConfigError, match="cont_padded"):
        validate_config(bad)
    bad = copy.deepcopy(cfg)
    bad["contamination"]["numerical"]["runs"] = {"spheres": {"activations": ["identity"]}}
    with pytest.raises(ConfigError, match="identity cannot separate"):
        validate_config(bad)


def test_verdict_is_decided_by_the_interval_and_says_so():
    sure = findings.mean_se([0.30, 0.31, 0.29])
    vague = findings.mean_se([0.5, -0.4, 0.1])
    against = findings.mean_se([-0.3, -0.31, -0.29])
    assert findings._verdict("x > 0", (sure, ">", 0.0))["verdict"] == "holds"
    assert findings._verdict("x > 0", (vague, ">", 0.0))["verdict"] == "undecided"
    assert findings._verdict("x > 0", (against, ">", 0.0))["verdict"] == "fails"
    assert findings._verdict("x < 0", (against, "<", 0.0))["holds"] is True
    # both conditions must hold; one failing fails the verdict
    assert findings._verdict("both", (sure, ">", 0.0), (against, ">", 0.0))["holds"] is False
    one = findings._verdict("x > 0", (findings.mean_se([0.01]), ">", 0.0))
    assert one["holds"] is True and one["basis"].startswith("one replicate")
