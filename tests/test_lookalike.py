"""The look-alike switch of the synthetic world (the gde control): off by default, and the
default world bit for bit what it was; on, every rare motif is its source with exactly
``flips`` pixels flipped, in the source's colour."""
import hashlib

import numpy as np
import pytest

from featurelab.data.synthetic import WorldConfig, generate_split, lookalike_source, motif_bank

SMALL = dict(image_size=24, n_train=200, n_test=100, n_val=0)


def _digest(cfg: WorldConfig) -> str:
    h = hashlib.sha256()
    m, c = motif_bank(cfg)
    h.update(m.tobytes())
    h.update(c.tobytes())
    for split in ("train", "test"):
        x, y, _ = generate_split(cfg, split)
        h.update(x.tobytes())
        h.update(y.tobytes())
    return h.hexdigest()


def test_default_world_unchanged_bit_for_bit():
    # the digest of the generator before the switch existed (commit 45b83e0), same recipe
    assert _digest(WorldConfig(**SMALL)) == "b9dfa730d5082750fb8c4c3ecf457e6399d21c214b431587ddab21b0cc4b9ce1"
    assert WorldConfig().lookalike.enabled is False
    assert WorldConfig.from_dict({"lookalike": {"enabled": False, "flips": 5}}).lookalike.flips == 5


@pytest.mark.parametrize("flips", [1, 3, 7])
def test_copies_differ_from_source_by_exactly_flips_pixels(flips):
    cfg = WorldConfig.from_dict({**SMALL, "lookalike": {"enabled": True, "flips": flips}})
    base_masks, base_colours = motif_bank(WorldConfig(**SMALL))
    masks, colours = motif_bank(cfg)
    n_rare = 0
    for gid in range(len(masks)):
        c, local = divmod(gid, cfg.motifs_per_class)
        if local < cfg.t_d:  # dominant motifs are untouched
            assert np.array_equal(masks[gid], base_masks[gid]) and np.array_equal(colours[gid], base_colours[gid])
            continue
        src = int(lookalike_source(cfg, gid))
        assert src == ((c + 1) % cfg.num_classes) * cfg.motifs_per_class + (local - cfg.t_d) % cfg.t_d
        assert int((masks[gid] != masks[src]).sum()) == flips
        assert np.array_equal(colours[gid], colours[src])
        n_rare += 1
    assert n_rare == cfg.num_classes * cfg.t_r
    keys = {np.packbits(m).tobytes() for m in masks}
    assert len(keys) == len(masks)  # still all distinct


def test_lookalike_keeps_the_splits_streams():
    on = WorldConfig.from_dict({**SMALL, "lookalike": {"enabled": True}})
    x0, y0, t0 = generate_split(WorldConfig(**SMALL), "test")
    x1, y1, t1 = generate_split(on, "test")
    assert np.array_equal(y0, y1)
    for col in ("dominant", "blue_level", "rare_pool"):
        assert np.array_equal(t0[col].to_numpy(), t1[col].to_numpy())
    dom = t0["dominant"].to_numpy()
    assert np.array_equal(x0[dom], x1[dom])  # dominant images carry no rare motif
    assert not np.array_equal(x0[~dom], x1[~dom])


@pytest.mark.parametrize("bad", [{"flips": 0}, {"flips": 19}, {"flips": 2.5}, {"enabled": "yes"}])
def test_bad_lookalike_is_refused(bad):
    with pytest.raises(ValueError, match="lookalike"):
        WorldConfig.from_dict({**SMALL, "lookalike": {"enabled": True, **bad}}).validate()


def test_unknown_lookalike_key():
    with pytest.raises(ValueError, match="lookalike.strength"):
        WorldConfig.from_dict({"lookalike": {"strength": 3}})
