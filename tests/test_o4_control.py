"""The O.4 control: the rare_slice world key, the K rule and noise floor, Algorithm 1's
seeds and model order, and decide_o4 on hand-made parts (known answers)."""
from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from featurelab.activations import write_activations
from featurelab.controls import Part, decision
from featurelab.data.synthetic import WorldConfig, generate_split
from featurelab.interaction import measures as ME
from featurelab.interaction import tensor as TE
from featurelab.interaction.controls import decide_o4, o4_arm

SMALL = dict(num_classes=4, image_size=16, n_train=300, n_test=200, n_val=50)


def _hash(cfg: WorldConfig, split: str) -> str:
    im, lb, tr = generate_split(cfg, split)
    return hashlib.sha256(im.tobytes() + lb.tobytes() + np.asarray(tr["rare_pool"]).tobytes()).hexdigest()[:16]


# ---- the world key ---------------------------------------------------------------------------

def test_default_world_unchanged():
    # hashes of the generator before rare_slice existed (main at 7935ff2)
    cfg = WorldConfig.from_dict(SMALL)
    assert {s: _hash(cfg, s) for s in ("train", "test", "val")} == {
        "train": "c4e8a958dac9cb65", "test": "5a7c5aafd2bc4fb4", "val": "77bdc13ab48305c6"}
    cfg = WorldConfig.from_dict({**SMALL, "blue_tie": {"enabled": False}})
    assert (_hash(cfg, "train"), _hash(cfg, "test")) == ("33b401f3277b4731", "9f3b609291c4a828")
    assert WorldConfig.from_dict({**SMALL, "rare_slice": {"count": 1, "index": 0}}) == WorldConfig.from_dict(SMALL)


@pytest.mark.parametrize("g", [0, 1, 2, 3])
def test_rare_slice_is_train_only_and_confines_rare_motifs(g):
    base = WorldConfig.from_dict(SMALL)
    cfg = WorldConfig.from_dict({**SMALL, "rare_slice": {"count": 4, "index": g}})
    for s in ("test", "val", "shifted"):
        a, b = generate_split(base, s), generate_split(cfg, s)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        assert a[2].equals(b[2])
    im0, lb0, tr0 = generate_split(base, "train")
    im, lb, tr = generate_split(cfg, "train")
    assert np.array_equal(lb, lb0) and np.array_equal(tr["dominant"], tr0["dominant"])
    mpc = cfg.motifs_per_class
    rare = ~tr["dominant"].to_numpy()
    for ids, y in zip(tr["motifs"][rare], lb[rare]):
        loc = np.asarray(ids) - y * mpc
        assert np.all(loc >= cfg.t_d) and np.all((loc - cfg.t_d) % 4 == g)
        assert len(ids) == cfg.n_r
    # dominant images are untouched, bit for bit
    dom = ~rare
    assert np.array_equal(im[dom], im0[dom])
    assert list(tr["motifs"][dom]) == list(tr0["motifs"][dom])
    assert set(tr["rare_pool"][rare]) == {cfg.t_r // 4}
    # the slices together cover every rare motif, and differ from each other
    assert not np.array_equal(im[rare], im0[rare])


def test_rare_slice_validation():
    with pytest.raises(ValueError, match="index"):
        WorldConfig.from_dict({**SMALL, "rare_slice": {"count": 4, "index": 4}}).validate()
    with pytest.raises(ValueError, match="fewer than the n_r"):
        WorldConfig.from_dict({**SMALL, "t_r": 8, "n_r": 3, "rare_slice": {"count": 4, "index": 0}}).validate()
    with pytest.raises(ValueError, match="unknown rare_slice keys"):
        WorldConfig.from_dict({**SMALL, "rare_slice": {"groups": 2}})
    with pytest.raises(ValueError, match="count"):
        WorldConfig.from_dict({**SMALL, "rare_slice": {"count": 0}}).validate()


# ---- K rule and noise floor ------------------------------------------------------------------

def test_k_share():
    assert TE.k_share(512) == 50 and TE.k_share(64) == 6 and TE.k_share(4) == 1
    assert TE.k_share(64, 0.5) == 32
    with pytest.raises(ValueError):
        TE.k_share(64, 0)


def test_noise_floor_by_simulation():
    # independent columns: the max |r| over `tests` pairs exceeds the floor with prob ~ alpha
    rng = np.random.default_rng(0)
    n, tests, alpha = 200, 50, 0.2
    floor = TE.correlation_noise_floor(n, tests, alpha)
    hits = 0
    reps = 400
    for _ in range(reps):
        x = rng.standard_normal((n, tests))
        y = rng.standard_normal((n, tests))
        x = (x - x.mean(0)) / x.std(0)
        y = (y - y.mean(0)) / y.std(0)
        hits += np.max(np.abs((x * y).mean(0))) > floor
    assert 0.10 < hits / reps < 0.26  # Bonferroni: at most alpha, close to 1-(1-a/t)^t = 0.18
    assert TE.correlation_noise_floor(1000, 1, 0.1) == pytest.approx(np.tanh(1.6449 / np.sqrt(997)), rel=1e-4)
    with pytest.raises(ValueError):
        TE.correlation_noise_floor(3, 1)


def test_gamma_corr_floor():
    lam = np.full((2, 2, 3, 3), 0.05)
    assert TE.gamma_corr(lam) == pytest.approx(0.05)
    assert TE.gamma_corr(lam, floor=0.2) == 0.2
    assert TE.gamma_corr(lam, fixed=0.7, floor=0.9) == 0.7  # a fixed value is the user's
    with pytest.raises(ValueError):
        TE.gamma_corr(lam, floor=1.0)


def _model_with_head(rng, n=400, d=12, c=3, signal_dims=2):
    """Activations whose class lives in the top `signal_dims` directions (large variance),
    noise elsewhere (small), a linear head reading only the signal."""
    y = rng.integers(0, c, n)
    if signal_dims == 2 and c == 3:  # a centred triangle: no single direction separates the classes
        ang = 2 * np.pi * np.arange(3) / 3
        means = 6 * np.c_[np.cos(ang), np.sin(ang)]
    else:
        means = rng.standard_normal((c, signal_dims)) * 10
    z = np.zeros((n, d))
    z[:, :signal_dims] = means[y] + rng.standard_normal((n, signal_dims))
    z[:, signal_dims:] = 0.3 * rng.standard_normal((n, d - signal_dims))
    w = np.zeros((d, c))
    w[:signal_dims] = means.T
    b = -0.5 * (means ** 2).sum(1)
    return z, z @ w + b, y


def test_k_retaining_accuracy_known_answer():
    rng = np.random.default_rng(1)
    z, logits, y = _model_with_head(rng)
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))  # rotate: the signal is in 2 directions
    acts = z @ q
    w, b = TE.linear_head(acts, logits)
    assert np.allclose(acts @ w + b, logits, atol=1e-8)
    assert TE.k_retaining_accuracy([acts], [logits], y, tolerance=0.01) == 2
    full, at1 = TE.projected_accuracy(acts, logits, y, 1)
    assert at1 < full - 0.1
    assert TE.projected_accuracy(acts, logits, y, 2)[1] >= full - 0.01
    # one K for all: the model that needs more decides
    z2, logits2, _ = _model_with_head(np.random.default_rng(2), signal_dims=3)
    assert TE.k_retaining_accuracy([acts, z2], [logits, logits2], y, tolerance=0.01) >= 2
    with pytest.raises(ValueError, match="not affine"):
        TE.linear_head(acts, np.tanh(logits))


# ---- Algorithm 1: seeds, order, order-averaged shared features -------------------------------

def _lam3():
    """M = 3 models, K = 1: model 0 matches 1 (0.8) and 2 (0.7); 1 and 2 do not match."""
    lam = np.zeros((3, 3, 1, 1))
    for i in range(3):
        lam[i, i] = 1.0
    lam[0, 1] = lam[1, 0] = 0.8
    lam[0, 2] = lam[2, 0] = 0.7
    lam[1, 2] = lam[2, 1] = 0.1
    return lam


def test_seeds_and_first_model_bias():
    lam = _lam3()
    c, seeds = TE.cluster_seeds(lam, 0.5)
    assert c.ravel().tolist() == [0, 0, 0]  # model 0 seeds, claims both
    assert seeds.ravel().tolist() == [True, False, False]
    assert TE.seed_shares(seeds).tolist() == [1.0, 0.0, 0.0]
    assert np.array_equal(c, TE.cluster_features(lam, 0.5))
    # order (1, 2, 0): 1 seeds and claims 0; 2 seeds alone
    c = TE.cluster_features_in_order(lam, 0.5, [1, 2, 0])
    assert c[0, 0] == c[1, 0] != c[2, 0]
    # order (2, 0, 1): 2 claims 0 at 0.7; 1 seeds and takes 0 over at 0.8 > 0.7
    c = TE.cluster_features_in_order(lam, 0.5, [2, 0, 1])
    assert c[0, 0] == c[1, 0] != c[2, 0]
    with pytest.raises(ValueError, match="permutation"):
        TE.cluster_features_in_order(lam, 0.5, [0, 0, 1])


def test_order_averaged_shared_features_known_answer():
    lam = _lam3()
    orders = ME.model_orders(3, "cyclic")
    assert orders.tolist() == [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
    avg = ME.shared_features_over_orders(lam, 0.5, orders)
    # pair (0,1): shared in all 3 orders; (0,2): only in order 0; (1,2): only in order 0
    assert avg[0, 1] == pytest.approx(1.0)
    assert avg[0, 2] == pytest.approx(1 / 3) and avg[1, 2] == pytest.approx(1 / 3)
    assert np.allclose(avg, avg.T)
    # identity order only = the plain statistic
    assert np.array_equal(ME.shared_features_over_orders(lam, 0.5, np.arange(3)[None]),
                          ME.shared_features(TE.cluster_features(lam, 0.5)))
    r = ME.model_orders(5, "random", n=4, seed=3)
    assert r.shape == (4, 5) and r[0].tolist() == list(range(5))
    assert all(sorted(o) == list(range(5)) for o in r)


def test_cluster_features_in_order_matches_loops_on_permuted_lambda():
    rng = np.random.default_rng(5)
    proj = rng.standard_normal((4, 60, 3))
    proj[1] += proj[0]
    lam = TE.correlation_tensor(proj)
    for order in itertools.islice(itertools.permutations(range(4)), 0, 24, 5):
        o = np.asarray(order)
        ref = TE.cluster_features_loops(lam[np.ix_(o, o)], 0.3)
        got = TE.cluster_features_in_order(lam, 0.3, o)
        assert np.array_equal(got[o], ref)


# ---- decide_o4 on hand-made parts ------------------------------------------------------------

def _write(tmp_path, name, acts, preds, labels):
    p = tmp_path / f"{name}.parquet"
    n, c = len(labels), int(labels.max()) + 1
    logits = np.eye(c)[preds] * 5.0
    # logits affine in the activations: append them as the first columns (head reads them)
    a = np.c_[logits, acts].astype(np.float32)
    write_activations(p, index=np.arange(n), label=labels, prediction=preds, logits=logits.astype(np.float32),
                      activation=a, metadata={"model": name})
    return p


def _arm(tmp_path, tag, groups, per, rng, shared_by_group):
    """Parts whose members share a group signal (features and errors) when shared_by_group."""
    n, c = 300, 3
    labels = rng.integers(0, c, n)
    common = rng.standard_normal((n, 4))
    parts = {}
    for g in range(groups):
        gsig = rng.standard_normal((n, 4))
        gwrong = rng.random(n) < 0.3  # this group's error points
        paths, models = [], []
        for i in range(per):
            own = rng.standard_normal((n, 4))
            wrong = gwrong if shared_by_group else rng.random(n) < 0.3
            preds = np.where(wrong, (labels + 1) % c, labels)
            feats = np.c_[common + 0.1 * rng.standard_normal((n, 4)),
                          (gsig if shared_by_group else rng.standard_normal((n, 4))) + 0.1 * rng.standard_normal((n, 4)),
                          own]
            name = f"{tag}{g}m{i}"
            paths.append(_write(tmp_path, name, feats, preds, labels))
            models.append(name)
        parts[f"{tag}{g}"] = Part(f"{tag}{g}", "synthetic", models, activations=paths, info={"seed": g})
    return parts


def test_decide_o4_known_answer(tmp_path):
    rng = np.random.default_rng(0)
    arms = {"on": _arm(tmp_path, "on", 3, 4, rng, True), "off": _arm(tmp_path, "off", 1, 12, rng, False)}
    settings = {"k": 8, "gamma_corr_floor": 0.05, "permutations": 999}
    res = decide_o4(arms, settings)
    on, off = res["arms"]["on"], res["arms"]["off"]
    assert on["shared_features_within"] > on["shared_features_between"]
    assert on["shared_error_within"] > on["shared_error_between"]
    assert res["on"]["holds"] is True and res["on"]["p_greater"] < 0.05
    assert res["off"]["holds"] is not True
    assert res["passes"] is True
    assert res["order_averaged"]["on"]["holds"] is True
    assert on["M"] == 12 and sum(on["seed_share_per_model"]) == pytest.approx(1.0)
    assert decision("o4") is decide_o4
    # swapped arms: the mechanism off where it should be on does not pass
    assert decide_o4({"on": arms["off"], "off": arms["on"]}, settings)["passes"] is False


def test_decide_o4_auto_k_and_errors(tmp_path):
    rng = np.random.default_rng(1)
    parts = _arm(tmp_path, "a", 2, 3, rng, True)
    out = o4_arm(parts, {"permutations": 99})
    assert out["K_rule"].startswith("App. E.2") and 1 <= out["K"] <= 12
    with pytest.raises(ValueError, match="both arms"):
        decide_o4({"on": parts}, {})
    with pytest.raises(ValueError, match="at least 3"):
        o4_arm({"x": Part("x", "synthetic", ["a", "b"], activations=parts["a0"].activations[:2])}, {})
