"""The synthetic feature world: its ground truth must match its pixels."""
import numpy as np
import pytest

from featurelab.data.synthetic import WorldConfig, generate_split, motif_bank, motif_class, motif_kind, rare_pool_size

SMALL = dict(n_train=300, n_test=200, seed=3)


def find_motifs(img: np.ndarray, cfg: WorldConfig) -> list[tuple[int, int]]:
    """Brute force: every (motif id, cell) whose mask pixels all show the motif's colour."""
    masks, colours = motif_bank(cfg)
    col8 = np.clip(np.rint(colours * 255), 0, 255).astype(np.uint8)
    s, g = cfg.motif_size, cfg.grid
    cell = cfg.image_size // g
    found = []
    for c in range(g * g):
        y, x = (c // g) * cell, (c % g) * cell
        for dy in range(cell - s + 1):
            for dx in range(cell - s + 1):
                patch = img[y + dy:y + dy + s, x + dx:x + dx + s]
                hits = np.all(patch[None] == col8[:, None, None, :], axis=-1)  # (motifs, s, s)
                ok = np.all(hits | ~masks, axis=(1, 2))
                for m in np.flatnonzero(ok):
                    found.append((int(m), c))
    return sorted(set(found))


def test_ground_truth_matches_pixels():
    cfg = WorldConfig(**SMALL)
    images, labels, truth = generate_split(cfg, "test")
    for i in range(40):
        row = truth.iloc[i]
        expected = sorted(zip(row["motifs"], row["cells"]))
        assert find_motifs(images[i], cfg) == expected, f"image {i}"


def test_truth_follows_the_generative_story():
    cfg = WorldConfig(**SMALL)
    _, labels, truth = generate_split(cfg, "train")
    assert (truth["label"].to_numpy() == labels).all()
    for _, row in truth.iterrows():
        ids = np.array(row["motifs"])
        assert len(set(ids)) == len(ids)  # without replacement
        assert (motif_class(cfg, ids) == row["label"]).all()
        kind = "dominant" if row["dominant"] else "rare"
        assert (motif_kind(cfg, ids) == kind).all()
        assert len(ids) == (cfg.n_d if row["dominant"] else cfg.n_r)
        if not row["dominant"]:  # blue tie: rare motifs only from the first rare_pool ones
            local = ids % cfg.motifs_per_class - cfg.t_d
            assert local.max() < row["rare_pool"]
    # the dominant share is p_d up to sampling error (n=300: sd ≈ 0.026)
    assert abs(truth["dominant"].mean() - cfg.p_d) < 0.1


def test_same_seed_same_world_and_splits_differ():
    cfg = WorldConfig(**SMALL)
    a, la, _ = generate_split(cfg, "train")
    b, lb, _ = generate_split(cfg, "train")
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    t, _, _ = generate_split(cfg, "test")
    assert not np.array_equal(a[:200], t)


def test_blue_tie_bluer_images_draw_from_larger_rare_pools():
    cfg = WorldConfig(**{**SMALL, "n_train": 2000})
    images, _, truth = generate_split(cfg, "train")
    x = images.astype(np.float64)
    blue_share = x[..., 2].sum(axis=(1, 2)) / x.sum(axis=(1, 2, 3))
    assert np.corrcoef(blue_share, truth["blue_level"])[0, 1] > 0.8
    assert np.corrcoef(truth["blue_level"], truth["rare_pool"])[0, 1] > 0.99
    assert rare_pool_size(cfg, np.array([0.0]))[0] == round(0.25 * cfg.t_r)
    assert rare_pool_size(cfg, np.array([1.0]))[0] == cfg.t_r
    off = WorldConfig.from_dict({**SMALL, "blue_tie": {"enabled": False}})
    assert (rare_pool_size(off, np.linspace(0, 1, 5)) == cfg.t_r).all()


def test_motifs_are_distinct():
    cfg = WorldConfig()
    masks, _ = motif_bank(cfg)
    assert masks.shape == (cfg.num_classes * (cfg.t_d + cfg.t_r), cfg.motif_size, cfg.motif_size)
    assert len({m.tobytes() for m in masks}) == len(masks)


@pytest.mark.parametrize("bad, key", [
    (dict(n_d=6, t_d=5), "n_d"), (dict(n_r=41), "n_r"), (dict(p_d=1.5), "p_d"),
    (dict(n_r=17, t_r=40), "fit"),
])
def test_impossible_worlds_are_refused(bad, key):
    with pytest.raises(ValueError, match=key):
        generate_split(WorldConfig(**{**SMALL, **bad}), "train")
