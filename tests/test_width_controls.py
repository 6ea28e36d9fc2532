"""The width study's control (featurelab.width.controls) and the measures it adds: known answers
on hand-made features written as the width study's Parquet files."""
import numpy as np
import pytest

from featurelab.activations import write_activations
from featurelab.controls import Part
from featurelab.width.controls import arm_finding, decide_width
from featurelab.width.measures import feature_span_error, fse_bootstrap, probe_correct
from featurelab.width.ridge import relative_squared_error

SIZES = {"train": 800, "val": 400, "test": 800}


def test_fse_bootstrap_is_the_fse_of_each_resample():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(50, 4))
    p1, p2 = Y + 0.3 * rng.normal(size=Y.shape), Y + rng.normal(size=Y.shape)
    d = fse_bootstrap(Y, [p1, p2, Y], resamples=5, seed=7)
    assert d.shape == (5, 3) and np.all(d[:, 2] == 0)        # a perfect prediction: FSE 0
    idx = np.random.default_rng(7).integers(0, 50, 50)         # the first resample, by hand
    by_hand = [np.mean(np.sum((Y[idx] - p[idx]) ** 2, 0) / np.sum((Y[idx] - Y[idx].mean(0)) ** 2, 0)) for p in (p1, p2)]
    assert np.allclose(d[0, :2], by_hand)
    full = fse_bootstrap(Y, [p1], resamples=400, seed=1)[:, 0]
    assert abs(full.mean() - relative_squared_error(Y, p1)[0].mean()) < 0.02
    with pytest.raises(ValueError, match="shape"):
        fse_bootstrap(Y, [p1[:10]])


def test_probe_correct_mean_is_fp():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    c = probe_correct(X[:100], y[:100], X[100:], y[100:])
    assert c.dtype == bool and c.shape == (100,) and c.mean() > 0.9


def _latent(n, rng):
    """Two pairs of classes (0,1), (2,3): the pair g from a single feature, the class within
    the pair from the product x·z of two ±1 signs (the co-occurrence world in miniature)."""
    g, x, z = rng.integers(0, 2, n), rng.choice([-1.0, 1.0], n), rng.choice([-1.0, 1.0], n)
    y = 2 * g + (x * z < 0)
    return y, np.stack([2.0 * g - 1, x, z, x * z], 1)


def _make_arm(tmp_path, arm, product_in_narrow, seed):
    """Base: two members, rotations of all four latents (+ noise); narrow: 4 members of two
    features each, mixtures of the latents without the product (on) or with it (off)."""
    rng = np.random.default_rng(seed)
    data = {s: _latent(n, rng) for s, n in SIZES.items()}
    latent_dim = 4 if product_in_narrow else 3
    mix = {"base": [rng.normal(size=(4, 6)) for _ in range(2)],
           "narrow": [rng.normal(size=(latent_dim, 2)) for _ in range(4)]}
    parts = {}
    for role, mats in mix.items():
        feats = []
        for m, W in enumerate(mats):
            paths = {}
            for split, (y, L) in data.items():
                F = L[:, :W.shape[0]] @ W + 0.05 * rng.normal(size=(len(y), W.shape[1]))
                p = tmp_path / arm / role / f"m{m}" / "features" / "trained" / f"{split}.parquet"
                write_activations(p, index=np.arange(len(y)), label=y, prediction=y,
                                  logits=np.zeros((len(y), 4)), activation=F, metadata={})
                paths[f"trained/{split}"] = p
            feats.append(paths)
        parts[role] = Part(name=role, dataset=f"d_{arm}", models=[f"{role}{i}" for i in range(len(mats))],
                           features=feats, world={"cooccurrence": {"classes": 4 if not product_in_narrow else 0}},
                           info={"width": 0.5 if role == "base" else 0.03125, "seed": seed})
    return parts


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("width_control")
    return {"on": _make_arm(tmp, "on", False, 0), "off": _make_arm(tmp, "off", True, 1)}


def test_decide_width_known_answer(arms):
    """On: the product is in the base only: FSG > 0, the base's FP ≈ 1 against the
    concatenation's ≈ 1/2 within pairs, and the residual carries the class: holds. Off: the
    concatenation spans the product too: FP gap ≈ 0, residual gain ≈ 0: does not hold."""
    r = decide_width(arms, {"n_concat": 4}, resamples=300)
    on, off = r["arms"]["on"], r["arms"]["off"]
    assert r["on"]["verdict"] == "holds" and r["passes"] is True
    assert r["off"]["verdict"] != "holds"
    assert on["fp"]["base"] > 0.95 and on["fp"]["concat"] < 0.65 and on["fp"]["appended"] > 0.95
    assert on["fp_pair_classes"]["concat"] < 0.65 and on["fse"]["concat_to_base"] > on["fse"]["base_ref_to_base"]
    assert abs(off["fp"]["base"] - off["fp"]["concat"]) < 0.02
    assert off["conditions"]["fp_gap"]["verdict"] in ("undecided", "fails")
    assert r["sizes"]["on"]["narrow"] == {"members": 4, "width": 0.03125, "features": 8}
    assert "width 0.5" in r["design"] and "cooccurrence.classes = 4" in r["design"]


def test_arm_finding_fsg_matches_the_study_fse(arms):
    from featurelab.width.controls import read_part_features

    base, labels = read_part_features(arms["on"]["base"], 2)
    narrow, _ = read_part_features(arms["on"]["narrow"], 4)
    r = arm_finding(base, narrow, labels, n_concat=4, resamples=50)
    A = {s: np.concatenate([m[s] for m in narrow], 1) for s in ("train", "val")}
    want = (feature_span_error(A["train"], base[0]["train"], A["val"], base[0]["val"])["fse"]
            - feature_span_error(base[1]["train"], base[0]["train"], base[1]["val"], base[0]["val"])["fse"])
    assert np.isclose(r["conditions"]["fsg"]["estimate"], want)


def test_decide_width_rejects_bad_parts(arms):
    with pytest.raises(ValueError, match="no part 'wide'"):
        decide_width(arms, {"base": "wide"}, resamples=10)
    with pytest.raises(ValueError, match="needs 9"):
        decide_width(arms, {"n_concat": 9}, resamples=10)
    with pytest.raises(ValueError, match="unknown settings"):
        decide_width(arms, {"alpha": 2}, resamples=10)
    bare = {a: {**p, "base": Part(name="base", dataset="x", models=["a", "b"])} for a, p in arms.items()}
    with pytest.raises(ValueError, match="features: true"):
        decide_width(bare, {}, resamples=10)
    mixed = {"on": arms["on"], "off": {"base": arms["off"]["base"], "narrow": arms["on"]["narrow"]}}
    with pytest.raises(ValueError, match="disagree"):
        decide_width(mixed, {"n_concat": 4}, resamples=10)
