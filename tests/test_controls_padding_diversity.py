"""The padding and diversity controls: the train-only world keys, the random padding colour and
the two decisions, on hand-made inputs with known answers."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from featurelab.activations import write_activations
from featurelab.controls import Part, decision
from featurelab.data.synthetic import WorldConfig, generate_split

SMALL = dict(image_size=24, n_train=300, n_test=200, n_val=50, n_r=4)
#: sha256 (16 hex) of images + labels + motif lists of each split of WorldConfig(**SMALL), made by
#: the generator before the train_only keys existed (commit 45b83e0).
BEFORE = {"train": "d3f10c8de0b574b9", "test": "5e22fa2b18b07e91", "val": "fc73ed0575b8b132",
          "shifted": "0f275a66e7b9fe88"}


def _hash(cfg: WorldConfig, split: str) -> str:
    im, lab, tr = generate_split(cfg, split)
    return hashlib.sha256(im.tobytes() + lab.tobytes() + str(tr.motifs.tolist()).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ the world keys
def test_default_world_is_bit_for_bit_the_old_one():
    for cfg in (WorldConfig(**SMALL), WorldConfig.from_dict({**SMALL, "train_only": {}})):
        assert {s: _hash(cfg, s) for s in BEFORE} == BEFORE


@pytest.mark.parametrize("to", [{"frequent_offset": 2}, {"draw": 1}, {"frequent_offset": 2, "draw": 1}])
def test_train_only_keeps_test_and_val_and_changes_train(to):
    cfg = WorldConfig.from_dict({**SMALL, "train_only": to})
    for s in ("test", "val", "shifted"):
        assert _hash(cfg, s) == BEFORE[s]
    assert _hash(cfg, "train") != BEFORE["train"]


def test_frequent_offset_rotates_the_frequent_motifs_of_the_train_split():
    k = 2
    cfg = WorldConfig.from_dict({**SMALL, "train_only": {"frequent_offset": k}})
    M = cfg.motifs_per_class
    _, _, tr = generate_split(cfg, "train")
    dom = np.concatenate([np.asarray(m) % M for m in tr[tr.dominant].motifs])
    rare = np.concatenate([np.asarray(m) % M for m in tr[~tr.dominant].motifs])
    assert set(dom) == set(range(k, k + cfg.t_d))
    assert set(rare) <= set(range(k + cfg.t_d, M)) | set(range(k))
    # the demoted frequent motifs come last in the rare list: the blue tie's pool reaches them
    # only for the bluest images; without the tie they are rare motifs like the others
    free = WorldConfig.from_dict({**SMALL, "blue_tie": {"enabled": False}, "train_only": {"frequent_offset": k}})
    _, _, trf = generate_split(free, "train")
    assert set(np.concatenate([np.asarray(m) % M for m in trf[~trf.dominant].motifs])) & set(range(k))
    # motifs of an image belong to its class, as in the base world
    assert all((np.asarray(m) // M == y).all() for m, y in zip(tr.motifs, tr.label))
    # the test split keeps the base's frequent motifs
    _, _, te = generate_split(cfg, "test")
    assert set(np.concatenate([np.asarray(m) % M for m in te[te.dominant].motifs])) == set(range(cfg.t_d))


def test_train_only_draw_is_another_sample_of_the_same_distribution():
    cfg = WorldConfig.from_dict({**SMALL, "n_train": 3000, "train_only": {"draw": 1}})
    _, y, tr = generate_split(cfg, "train")
    _, y0, tr0 = generate_split(WorldConfig(**{**SMALL, "n_train": 3000}), "train")
    assert not np.array_equal(y, y0)
    M = cfg.motifs_per_class
    assert set(np.concatenate([np.asarray(m) % M for m in tr[tr.dominant].motifs])) == set(range(cfg.t_d))
    assert abs(tr.dominant.mean() - tr0.dominant.mean()) < 0.05  # both ≈ p_d = 0.7
    # its own stream: not the stream of the world's draw 1
    _, y1, _ = generate_split(WorldConfig(**{**SMALL, "n_train": 3000, "draw": 1}), "train")
    assert not np.array_equal(y, y1)


@pytest.mark.parametrize("to,msg", [({"frequent_offset": 45}, "frequent_offset"), ({"frequent_offset": -1}, "frequent_offset"),
                                    ({"draw": -1}, "train_only.draw"), ({"bogus": 1}, "train_only.bogus")])
def test_train_only_bad_values_are_refused(to, msg):
    with pytest.raises(ValueError, match=msg):
        WorldConfig.from_dict({**SMALL, "train_only": to}).validate()


# ------------------------------------------------------------------ the random padding colour
def test_random_fills_are_per_image_colours_through_the_normalisation():
    from featurelab.training.augment import random_fills

    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    g = torch.Generator().manual_seed(3)
    f = random_fills(500, mean, std, g)
    pix = f.double() * torch.tensor(std, dtype=torch.float64) + torch.tensor(mean, dtype=torch.float64)
    colours = pix * 255.0
    assert torch.allclose(colours, colours.round(), atol=1e-3)  # whole pixel values
    assert colours.min() >= -1e-3 and colours.max() <= 255 + 1e-3
    assert abs(float(colours.mean()) - 127.5) < 8  # uniform over 0..255
    assert len({tuple(c) for c in colours.round().int().tolist()}) > 490  # a colour per image


def test_augmenter_random_colour_frames_each_image_in_its_own_colour_each_call(one_thread):
    from featurelab.training.augment import Augmenter

    mean, std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    x = torch.full((4, 3, 12, 12), 0.5)
    aug = Augmenter("crop_flip", 2, "random", mean, std, seed=0, pad_mode="resize")
    a, b = aug(x), aug(x)
    corners = a[:, :, 0, 0]
    assert len({tuple(c.tolist()) for c in corners}) == 4  # each image its own colour
    assert not torch.equal(a[:, :, 0, 0], b[:, :, 0, 0])  # drawn anew at each call (epoch)
    assert torch.allclose(a[:, :, 6, 6], torch.full((4, 3), 0.5))  # the image inside is kept
    again = Augmenter("crop_flip", 2, "random", mean, std, seed=0, pad_mode="resize")
    assert torch.equal(again(x), a)  # the member's seed fixes the draws
    with pytest.raises(ValueError, match="random"):
        Augmenter("crop_flip", 2, "pink", mean, std, seed=0)


def test_per_image_fill_equal_to_the_constant_gives_the_constant_padding(one_thread):
    from featurelab.training.augment import _pad, pad_resize

    x = torch.rand(3, 3, 10, 10)
    fill = [0.1, -0.2, 0.3]
    per = torch.tensor([fill] * 3)
    assert torch.equal(_pad(x, 2, fill), _pad(x, 2, per))
    assert torch.allclose(pad_resize(x, 2, fill), pad_resize(x, 2, per))


def test_recipe_reads_pad_color_random():
    from featurelab.training import Recipe

    r = Recipe.from_dict({"augment": "crop_flip", "pad": 2, "pad_color": "random", "pad_mode": "resize"})
    assert r.pad_color == "random" and r.identity()["pad_color"] == "random"
    assert Recipe.from_dict({"augment": "crop_flip", "pad_color": [1, 2, 3]}).pad_color == (1, 2, 3)
    with pytest.raises(ValueError, match="random"):
        Recipe.from_dict({"augment": "crop_flip", "pad_color": "blue"})


# ------------------------------------------------------------------ the diversity decision
def _acts(path, correct, labels):
    pred = np.where(correct, labels, (labels + 1) % 10)
    logits = np.eye(10, dtype=np.float32)[pred]
    write_activations(path, index=np.arange(len(labels)), label=labels, prediction=pred, logits=logits,
                      activation=logits, metadata={})
    return path


def _part(tmp_path, name, rows, labels):
    paths = [_acts(tmp_path / f"{name}{i}.parquet", r, labels) for i, r in enumerate(rows)]
    return Part(name, "synthetic", [f"{name}{i}" for i in range(len(rows))], activations=paths, info={"seed": 0})


def test_decide_diversity_known_excess(tmp_path):
    N = 100
    labels = np.arange(N) % 10
    rng = np.random.default_rng(0)
    base_core = rng.random(N) < 0.6
    base_core[:24] = False
    # base models: the same errors but for 4 flipped points each (disjoint) -> excess between two
    # base models: n10 = n01 = 4 ... = 2·4/100 = 0.08 exactly
    base = []
    for i in range(3):
        c = base_core.copy()
        idx = np.arange(i * 8, i * 8 + 8)
        c[idx[:4]] = True  # only model i right on these 4: n10 = n01 = 4 for any two
        base.append(c)
    # world models: right on 20 points where every base model is wrong, wrong on 20 where all
    # are right (apart from those above): excess against a base model near 2·20/100
    wrong_all = np.where(~np.any(base, axis=0))[0][:20]
    right_all = np.where(np.all(base, axis=0))[0][:20]
    world = []
    for j in range(3):
        c = base_core.copy()
        c[wrong_all] = True
        c[right_all] = False
        c[j] = ~c[j]
        world.append(c)
    same = [b.copy() for b in base]  # a Dataset world whose models equal the base's
    b, w = _part(tmp_path, "b", base, labels), _part(tmp_path, "w", world, labels)
    s = _part(tmp_path, "s", same, labels)
    from featurelab.diversity.controls import arm_excess

    e = arm_excess({"base": b, "world": s})
    assert np.allclose(e["reinit"], 0.08) and np.allclose(e["dataset"], 2 / 3 * 0.08)  # 0 against itself
    r = decision("diversity")({"on": {"base": b, "world": w}, "off": {"base": b, "world": s}}, {})
    assert r["on"]["verdict"] == "holds" and r["off"]["verdict"] == "fails" and r["passes"] is True
    ex = r["arms"]["on"]["excess"]
    assert ex["dataset"]["mean"] > 0.35 and abs(ex["reinit"]["mean"] - 0.08) < 1e-12


def test_decide_diversity_refuses_different_test_points(tmp_path):
    labels = np.arange(50) % 10
    b = _part(tmp_path, "b", [np.ones(50, bool), np.zeros(50, bool)], labels)
    w = _part(tmp_path, "w", [np.ones(40, bool)], labels[:40])
    with pytest.raises(ValueError, match="same test points"):
        decision("diversity")({"on": {"base": b, "world": w}, "off": {"base": b, "world": b}}, {})
    with pytest.raises(ValueError, match="missing"):
        decision("diversity")({"on": {"base": b}, "off": {"base": b, "world": b}}, {})
    with pytest.raises(ValueError, match="unknown"):
        decision("diversity")({"on": {"base": b, "world": b}, "off": {"base": b, "world": b}}, {"x": 1})


# ------------------------------------------------------------------ the padding decision
def _measures(gap_padded, gap_plain):
    rows = []
    for kind, gaps in (("padded", gap_padded), ("plain", gap_plain)):
        for m, g in enumerate(gaps):
            for stage in (1, 2):
                for c in range(3):
                    rows += [{"kind": kind, "member": m, "measure": "response", "test": "grey", "stage": stage,
                              "channel": c, "value": 1.0},
                             {"kind": kind, "member": m, "measure": "response", "test": "padding colour",
                              "stage": stage, "channel": c, "value": 1.0 + (g if stage == 2 else 0.0)},
                             {"kind": kind, "member": m, "measure": "response", "test": "other colour",
                              "stage": stage, "channel": c, "value": 1.0}]
            for t in ("none", "training colour", "other colour"):
                rows.append({"kind": kind, "member": m, "measure": "accuracy", "test": t, "stage": 0, "channel": -1,
                             "value": 0.5})
    return pd.DataFrame(rows)


def test_decide_padding_reads_the_last_stage(monkeypatch, tmp_path):
    import featurelab.contamination.controls as C

    calls = []

    def fake(nets, images, labels, pad, colour, other, grey, mode, device):
        calls.append((sorted(nets), pad, list(colour), mode))
        padded_id = nets["padded"][0][0]
        return _measures([0.5, 0.6, 0.7] if padded_id.startswith("on") else [0.01, -0.02, 0.0], [0.0, 0.01, -0.01])

    monkeypatch.setattr(C, "padding_measures", fake)
    monkeypatch.setattr(C, "_test_split", lambda part: (np.zeros((2, 4, 4, 3), np.uint8), np.zeros(2, np.int64)))
    mk = lambda name: Part(name, "synthetic", [f"{name}{i}" for i in range(3)],  # noqa: E731
                           weights=[tmp_path / f"{name}{i}.pt" for i in range(3)], info={"seed": 0})
    plain = mk("plain")
    arms = {"on": {"padded": mk("on"), "plain": plain}, "off": {"padded": mk("off"), "plain": plain}}
    r = decision("padding")(arms, {"pad": 2})
    assert r["arms"]["on"]["stage"] == 2
    assert r["on"]["verdict"] == "holds" and r["off"]["verdict"] == "undecided" and r["passes"] is True
    assert abs(r["on"]["estimate"] - 0.6) < 1e-12
    assert calls[0] == (["padded", "plain"], 2, [150, 50, 50], "resize")
    r1 = decision("padding")(arms, {"pad": 2, "stage": 1})  # stage 1: no gap anywhere, exact zeros
    assert r1["on"]["verdict"] == "fails" and r1["passes"] is False
    with pytest.raises(ValueError, match="unknown"):
        decision("padding")(arms, {"colour": 1})
    with pytest.raises(ValueError, match="missing"):
        decision("padding")({"on": {"padded": mk("on")}, "off": arms["off"]}, {})
