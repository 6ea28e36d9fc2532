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


# --- co-occurrence classes (the width study's control) ----------------------------------------

def _digest(cfg, split, background="id"):
    import hashlib

    images, labels, truth = generate_split(cfg, split, background)
    d = hashlib.sha256()
    d.update(images.tobytes())
    d.update(labels.tobytes())
    d.update(truth.to_json().encode())
    return d.hexdigest()[:16]


def test_default_world_is_bit_for_bit_the_generator_before_cooccurrence():
    """Digests taken with the generator as it was before the co-occurrence key existed."""
    cfg = WorldConfig(image_size=24, n_r=4, n_train=200, n_test=100, n_val=50, seed=5)
    assert {s: _digest(cfg, s) for s in ("train", "test", "val", "shifted")} == {
        "train": "4995e000f58e8403", "test": "462d7096b353d985", "val": "8ed6d871da262032",
        "shifted": "112bdaee5105c514"}
    assert _digest(WorldConfig(n_train=100, n_test=50), "train") == "2dc001970237c7cc"
    off = WorldConfig.from_dict({"image_size": 24, "n_r": 4, "n_train": 200, "n_test": 100, "n_val": 50,
                                 "seed": 5, "cooccurrence": {"classes": 0}})
    assert _digest(off, "train") == "4995e000f58e8403"


def test_cooccurrence_changes_only_the_pair_classes():
    base = dict(image_size=24, n_r=4, n_train=400, n_test=100, seed=2)
    a = generate_split(WorldConfig(**base), "train")
    b = generate_split(WorldConfig.from_dict({**base, "cooccurrence": {"classes": 4}}), "train")
    assert np.array_equal(a[1], b[1])                      # the same labels
    other = a[1] >= 4
    assert np.array_equal(a[0][other], b[0][other])         # other classes: the same pixels
    assert not np.array_equal(a[0][~other], b[0][~other])
    assert b[2]["cooccurrence"].to_numpy().tolist() == (~other).tolist()
    assert "cooccurrence" not in a[2]


def test_cooccurrence_pixels_match_truth():
    cfg = WorldConfig.from_dict({**SMALL, "cooccurrence": {"classes": 6}})
    images, labels, truth = generate_split(cfg, "test")
    idx = np.flatnonzero(labels < 6)[:25]
    for i in idx:
        row = truth.iloc[i]
        assert len(row["motifs"]) == 2
        assert find_motifs(images[i], cfg) == sorted(zip(row["motifs"], row["cells"])), f"image {i}"


def test_a_single_motif_tells_nothing_the_pair_tells_the_class():
    """Counts over 6,000 images: within each pair of classes, every single motif falls in
    both classes about equally (a chi-square test of independence does not reject), while
    the two motifs together give the class without exception."""
    from scipy.stats import chi2_contingency

    cfg = WorldConfig.from_dict({"n_train": 6000, "n_test": 10, "seed": 1, "cooccurrence": {"classes": 4}})
    _, labels, truth = generate_split(cfg, "train")
    M = cfg.motifs_per_class
    for p in range(2):
        rows = truth[truth.label // 2 == p]
        a, a2, b, b2 = 2 * p * M, 2 * p * M + 1, (2 * p + 1) * M, (2 * p + 1) * M + 1
        sets = rows.motifs.map(frozenset)
        cls = rows.label.to_numpy() % 2
        for m in (a, a2, b, b2):
            has = sets.map(lambda s: m in s).to_numpy()
            table = np.array([[np.sum(has & (cls == c)), np.sum(~has & (cls == c))] for c in (0, 1)])
            assert table.min() > 200
            assert chi2_contingency(table).pvalue > 1e-3, (m, table)
            # P(class 2p | m) within 5 sd of 1/2
            frac = table[0, 0] / table[:, 0].sum()
            assert abs(frac - 0.5) < 5 * 0.5 / np.sqrt(table[:, 0].sum())
        for pair, want in (({a, b}, 0), ({a2, b2}, 0), ({a, b2}, 1), ({a2, b}, 1)):
            hit = sets.map(lambda s: s == pair).to_numpy()
            assert hit.sum() > 100 and (cls[hit] == want).all()
        assert sets.map(len).eq(2).all()
    # the other classes keep their own motifs
    rest = truth[truth.label >= 4]
    assert all((motif_class(cfg, np.array(m)) == y).all() for m, y in zip(rest.motifs, rest.label))


@pytest.mark.parametrize("co, msg", [({"classes": 3}, "even"), ({"classes": 12}, "exceed"),
                                     ({"classes": -2}, "even"), ({"k": 2}, "cooccurrence keys")])
def test_cooccurrence_rejects_bad_settings(co, msg):
    with pytest.raises(ValueError, match=msg):
        WorldConfig.from_dict({"cooccurrence": co}).validate()
