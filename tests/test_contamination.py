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


# ---------------------------------------------------------------- config: member counts
@pytest.mark.parametrize("part", ["padding", "headline"])
def test_config_refuses_more_members_than_the_ensemble_has(part):
    cfg = load_config("config.yaml")
    bad = copy.deepcopy(cfg)
    bad["contamination"][part]["members"] = cfg["ensembles"]["synth"]["members"] + 1
    with pytest.raises(ConfigError, match=f"contamination.{part}.members: 5 members of 'synth' asked for"):
        validate_config(bad)
    ok = copy.deepcopy(cfg)
    ok["contamination"][part]["members"] = cfg["ensembles"]["synth"]["members"]
    validate_config(ok)


def test_config_refuses_unknown_teacher_and_control_recipes():
    cfg = load_config("config.yaml")
    for part, key in (("headline", "teacher_recipe"), ("padding", "control_recipe")):
        bad = copy.deepcopy(cfg)
        bad["contamination"][part][key] = "nope"
        with pytest.raises(ConfigError, match=f"contamination.{part}.{key}: 'nope' is not a recipe"):
            validate_config(bad)


# ---------------------------------------------------------------- the students' own initialisation
def test_students_have_their_own_seed_stream_and_initialisation():
    from featurelab.training.solo import initial_model

    cfg = load_config("config.yaml")
    plan = Plan(cfg)
    head = cfg["contamination"]["headline"]
    teachers = plan.headline_seeds()
    students = plan.student_seeds()
    assert students == [head["student_seed"] + i for i in range(len(teachers))]
    assert not set(students) & set(teachers)
    for s, t in zip(students, plan.headline_models()["teacher"]):
        assert plan.teacher_of_student(s) == t
    # the student's weights before distillation: not its teacher's, and the same from its seed again
    a = initial_model("resnet18", K, 0.125, 3, students[0]).state_dict()
    b = initial_model("resnet18", K, 0.125, 3, students[0]).state_dict()
    t = initial_model("resnet18", K, 0.125, 3, teachers[0]).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    conv = [k for k in a if k.endswith("weight") and a[k].ndim == 4][0]
    assert not torch.equal(a[conv], t[conv])


def test_distilled_student_starts_from_its_own_seed(tmp_path):
    """distill_member's student is built from the seed it is given (the student's), not from the
    teacher's: one epoch at lr 0 leaves it exactly at initial_model(student seed)."""
    from featurelab.data.prepared import Split
    from featurelab.training import Recipe
    from featurelab.training.distill import distill_member
    from featurelab.training.solo import initial_model, load_member, train_member

    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8), np.arange(40) % K,
                  tuple(str(i) for i in range(K)))
    r = Recipe(lr=1e-9, momentum=0.0, weight_decay=0.0, batch_size=20, max_epochs=1, stop_at_train_acc=None)
    train_member(split, arch="resnet18", width=0.0625, seed=3, recipe=r, out_path=tmp_path / "t.pt",
                 state_path=tmp_path / "t.state", log=lambda s: None)
    distill_member(split, tmp_path / "t.pt", seed=1003, recipe=Recipe(lr=0.0, momentum=0.0, weight_decay=0.0,
                                                                       batch_size=20, max_epochs=1),
                   out_path=tmp_path / "s.pt", state_path=tmp_path / "s.state", log=lambda s: None)
    student, payload = load_member(tmp_path / "s.pt")
    assert payload["metrics"]["seed"] == 1003
    own = initial_model("resnet18", K, 0.0625, 3, 1003).state_dict()
    teacher_init = initial_model("resnet18", K, 0.0625, 3, 3).state_dict()
    st = student.state_dict()
    params = [k for k in own if k.endswith("weight")]
    assert all(torch.equal(st[k], own[k]) for k in params)
    assert not all(torch.equal(st[k], teacher_init[k]) for k in params)


# ---------------------------------------------------------------- padding placement
def _motif_masks(cfg):
    """One (H, W) mask per motif of the test split, from the world's ground truth: the pixels a
    background shift leaves unchanged are the motif pixels; each motif lies in its grid cell."""
    from featurelab.data.synthetic import generate_split as gen

    test, _, truth = gen(cfg, "test")
    shifted, _, _ = gen(cfg, "shifted")
    motif_pixels = (test == shifted).all(-1)
    cell = cfg.image_size // cfg.grid
    masks = []
    for i, cells in enumerate(truth.cells):
        for c in cells:
            m = np.zeros(motif_pixels.shape[1:], dtype=bool)
            r0, c0 = (c // cfg.grid) * cell, (c % cfg.grid) * cell
            m[r0:r0 + cell, c0:c0 + cell] = motif_pixels[i, r0:r0 + cell, c0:c0 + cell]
            if m.any():
                masks.append(m)
    return np.array(masks)


def test_pad_resize_keeps_every_motif_while_pad_crop_can_cut_them():
    cfg = WorldConfig(n_train=10, n_test=40, image_size=24, seed=0)
    masks = _motif_masks(cfg)
    pad = 6
    kept = padding.kept_evidence(masks, pad, "resize")
    assert kept.min() > 0.95 and kept.max() < 1.05  # every motif present, shrunk by (24/36)²
    worst = np.minimum(padding.kept_evidence(masks, pad, "crop", (0, 0)),
                       padding.kept_evidence(masks, pad, "crop", (2 * pad, 2 * pad)))
    assert (worst < 0.5).mean() > 0.2  # the extreme crops cut a good share of the motifs
    np.testing.assert_allclose(padding.kept_evidence(masks, pad, "crop", (pad, pad)), 1.0)  # the centred crop


def test_pad_resize_known_answer_and_test_images():
    from featurelab.training.augment import pad_resize

    x = torch.ones(1, 1, 8, 8)
    y = pad_resize(x, 4, [0.0])  # 8 px in a 16-px frame shrunk to 8: the image is the middle 4x4
    assert y.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(y[0, 0, 3:5, 3:5], 1.0, atol=1e-6)  # antialiasing blurs its edge only
    np.testing.assert_allclose(y[0, 0, :1], 0.0, atol=1e-6)
    assert float(y.sum()) == pytest.approx(16.0, rel=1e-5)  # its mass: 64 pixels × (8/16)²
    imgs = np.full((2, 8, 8, 3), 200, np.uint8)
    out = padding.pad_test_images(imgs, 4, [150, 50, 50], "resize")
    assert (out[:, 3:5, 3:5] == 200).all() and (out[:, 0, 0] == [150, 50, 50]).all()


def test_augmenter_pad_mode_resize_frames_every_image():
    from featurelab.training.augment import Augmenter

    aug = Augmenter("crop_flip", 3, [255, 0, 0], [0.0] * 3, [1 / 255] * 3, seed=0, pad_mode="resize")
    x = torch.full((4, 3, 12, 12), 7.0)
    out = aug(x)
    assert torch.allclose(out[:, :, 0, 0], torch.tensor([255.0, 0.0, 0.0]).expand(4, 3))
    assert torch.allclose(out[:, :, 6, 6], torch.full((4, 3), 7.0))
    with pytest.raises(ValueError, match="pad_mode"):
        Augmenter("crop_flip", 3, None, [0.0] * 3, [1.0] * 3, seed=0, pad_mode="zoom")


# ---------------------------------------------------------------- PGD
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_pgd_stays_within_eps_and_raises_the_loss(norm):
    from featurelab.training.adversarial import pgd_attack

    torch.manual_seed(0)
    model = build_model("resnet18", K, 0.0625).eval()
    mean, std = [0.5, 0.4, 0.3], [0.25, 0.2, 0.3]
    pixels = torch.rand(16, 3, 16, 16)
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    x = (pixels - m) / s
    y = torch.arange(16) % K
    eps = 0.5 if norm == "l2" else 4 / 255
    adv = pgd_attack(model, x, y, mean, std, eps, steps=4, norm=norm)
    delta = adv * s + m - pixels
    if norm == "l2":
        assert delta.reshape(16, -1).norm(dim=1).max() <= eps + 1e-5
    else:
        assert delta.abs().max() <= eps + 1e-6
    assert (adv * s + m).min() >= -1e-6 and (adv * s + m).max() <= 1 + 1e-6
    with torch.no_grad():
        clean = torch.nn.functional.cross_entropy(model(x), y, reduction="none")
        attacked = torch.nn.functional.cross_entropy(model(adv), y, reduction="none")
    assert (attacked >= clean - 1e-6).all() and attacked.mean() > clean.mean() + 1e-3
    assert model.training is False and all(p.requires_grad for p in model.parameters())


def test_pgd_warmup_and_recipe_switch():
    from featurelab.training import Recipe
    from featurelab.training.adversarial import epoch_eps

    assert epoch_eps(1.0, 0, 10) == pytest.approx(0.1)
    assert epoch_eps(1.0, 9, 10) == 1.0 and epoch_eps(1.0, 30, 10) == 1.0
    off = Recipe()
    assert not off.adversarial and "adv_eps" not in off.identity()
    on = Recipe.from_dict({"adv_steps": 4})
    assert on.adversarial and on.identity()["adv_steps"] == 4 and on.identity()["adv_eps"] == pytest.approx(255 / 256)
    with pytest.raises(ValueError, match="adv_norm"):
        Recipe.from_dict({"adv_steps": 4, "adv_norm": "l1"})


def test_adversarial_training_runs_and_is_reproducible(tmp_path):
    from featurelab.data.prepared import Split
    from featurelab.training import Recipe
    from featurelab.training.solo import load_member, train_member

    rng = np.random.default_rng(0)
    split = Split(rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8), np.arange(40) % K,
                  tuple(str(i) for i in range(K)))
    r = Recipe.from_dict({"lr": 0.05, "batch_size": 20, "max_epochs": 1, "stop_at_train_acc": None,
                          "augment": "crop_flip", "pad": 2, "pad_color": [150, 50, 50], "pad_mode": "resize",
                          "adv_steps": 2, "adv_noise_sd": 0.1})
    for name in ("a", "b"):
        train_member(split, arch="resnet18", width=0.0625, seed=0, recipe=r, out_path=tmp_path / f"{name}.pt",
                     state_path=tmp_path / f"{name}.state", threads=1, log=lambda s: None)
    a, _ = load_member(tmp_path / "a.pt")
    b, _ = load_member(tmp_path / "b.pt")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ---------------------------------------------------------------- the headline claim
def _headline_table(gaps_id, gaps_ood, teacher_id=0.7, teacher_ood=0.6):
    rows = []
    for seed, (gi, go) in enumerate(zip(gaps_id, gaps_ood)):
        for model, i, o in (("teacher", teacher_id, teacher_ood), ("student", teacher_id - gi, teacher_ood - go),
                            ("plain", 0.68 + 0.01 * seed, 0.2 + 0.01 * seed)):
            rows += [{"seed": seed, "model": model, "epoch": -1, "split": "test", "accuracy": i},
                     {"seed": seed, "model": model, "epoch": -1, "split": "shifted", "accuracy": o}]
    return pd.DataFrame(rows)


def test_headline_claim_holds_when_the_student_matches_id_and_falls_short_ood():
    t = _headline_table([0.001, -0.002, 0.0015], [0.15, 0.17, 0.16])
    f = findings.headline_findings(t)["teacher_minus_student"]
    assert f["matches_in_distribution"]["verdict"] == "holds"
    assert f["falls_short_out_of_distribution"]["verdict"] == "holds"
    assert f["claim"]["verdict"] == "holds"


def test_headline_claim_fails_its_id_part_when_the_student_is_below_its_teacher_id():
    # the old rule (gap OOD − gap ID > 0) would hold here; the ID match does not
    t = _headline_table([0.10, 0.11, 0.09], [0.25, 0.27, 0.26])
    f = findings.headline_findings(t)
    ts = f["teacher_minus_student"]
    assert ts["ood_minus_id"]["mean"] == pytest.approx(0.16)
    assert ts["matches_in_distribution"]["verdict"] == "fails"
    assert ts["falls_short_out_of_distribution"]["verdict"] == "holds"
    assert ts["claim"]["verdict"] == "fails"
    # one pair: no verdict
    one = findings.headline_findings(_headline_table([0.0], [0.2]))["teacher_minus_student"]["claim"]
    assert one["verdict"] == "no verdict"


def test_headline_precondition_teacher_against_plain_from_the_heads():
    t = _headline_table([0.0, 0.001, -0.001], [0.15, 0.16, 0.17])
    heads = pd.DataFrame([{"seed": s, "model": m, "epoch": -1, "split": sp, "accuracy": a}
                          for s in range(3) for m, a in (("teacher", 0.50 + 0.01 * s), ("plain", 0.60))
                          for sp in ("test", "shifted")])
    f = findings.headline_findings(t, heads, {"teacher_margin": 0.02})
    assert f["teacher_minus_plain_id"]["mean"] == pytest.approx(-0.09)
    assert f["teacher_at_plain_id_accuracy"]["verdict"] == "fails"
    assert "precondition" in f["teacher_minus_student"]["claim"]["note"]
    assert "fails" in f["teacher_minus_student"]["claim"]["note"]


def test_effective_robustness_line_on_hand_made_points():
    from featurelab.contamination import headline as H

    # linear: three points on ood = 0.5·id − 0.1, a model at (0.6, 0.4) is 0.4 − 0.2 = 0.2 above
    line = H.fit_line([0.4, 0.6, 0.8], [0.1, 0.2, 0.3], "linear")
    assert line["slope"] == pytest.approx(0.5) and line["intercept"] == pytest.approx(-0.1)
    assert H.effective_robustness(line, [0.6], [0.4])[0] == pytest.approx(0.2)
    # logit: points with logit(ood) = logit(id) − 1; a model on the line has effective robustness 0
    ids = np.array([0.3, 0.5, 0.7, 0.9])
    lg = np.log(ids / (1 - ids)) - 1.0
    line = H.fit_line(ids, 1 / (1 + np.exp(-lg)), "logit")
    assert line["slope"] == pytest.approx(1.0) and line["intercept"] == pytest.approx(-1.0)
    assert H.line_at(line, [0.5])[0] == pytest.approx(1 / (1 + np.e))
    assert H.effective_robustness(line, [0.5], [0.5])[0] == pytest.approx(0.5 - 1 / (1 + np.e))
    assert H.fit_line([0.5], [0.2]) is None and H.fit_line([0.5, 0.5], [0.2, 0.3]) is None


def test_effective_robustness_table_uses_plain_members_and_checkpoints():
    from featurelab.contamination import headline as H

    t = _headline_table([0.0, 0.0], [0.1, 0.1])
    t = pd.concat([t, pd.DataFrame([{"seed": 0, "model": "plain_checkpoint", "epoch": 2, "split": sp, "accuracy": a}
                                    for sp, a in (("test", 0.4), ("shifted", 0.1))])], ignore_index=True)
    er, line = H.effective_robustness_table(t, "linear")
    assert line["points"] == 3
    plain = er[er.model.isin(["plain", "plain_checkpoint"])]
    assert np.allclose(plain.line_ood, line["slope"] * plain.id + line["intercept"])
    teacher = er[er.model == "teacher"].iloc[0]
    assert teacher.effective_robustness == pytest.approx(teacher.ood - (line["slope"] * teacher.id + line["intercept"]))
    summary = findings.headline_findings(t, line_scale="linear")["effective_robustness"]
    assert summary["teacher"]["mean"] > summary["student"]["mean"]
    few = findings.effective_robustness_summary(_headline_table([0.0], [0.1]))
    assert few["line"] is None and "fewer than two" in few["note"]


def test_deep_and_padding_findings_use_student_t_verdicts():
    from featurelab.verdicts import t_quantile

    rows = []
    for member, d in enumerate((0.2, 0.3)):
        for state, sel in (("init", 0.1), ("trained", 0.1 + d)):
            for split in ("test", "shifted"):
                rows.append({"member": member, "state": state, "split": split, "stage": 1, "channel": 0,
                             "class": 0, "rate": 0.5, "mean": 1.0, "selectivity": sel})
    acc = pd.DataFrame([{"member": m, "state": s, "split": sp, "accuracy": 0.5}
                        for m in range(2) for s in ("init", "trained") for sp in ("test", "shifted")])
    f = findings.deep_findings(pd.DataFrame(rows), acc)
    d = f["stages"][1]["trained_minus_init"]
    assert d["hi"] - d["mean"] == pytest.approx(t_quantile(2) * 0.05)  # t_{0.975,1} · se, se = 0.05
    assert f["stages"][1]["training_raises_selectivity"]["verdict"] == "undecided"  # 0.25 ± 12.7·0.05
    assert "Student-t" in f["stages"][1]["training_raises_selectivity"]["basis"]
