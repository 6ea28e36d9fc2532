"""The diversity study's analysis on pools whose answer is known (featurelab.diversity.study;
Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022)."""
import numpy as np
import pytest

from featurelab.diversity.study import CATEGORIES, analyse

K, NV, NT, D = 5, 600, 3000, 12
SETTINGS = {"window": [0.0, 1.0], "bootstrap": 200, "seed": 0, "greedy": {"steps": 3},
            "overlap": {"fractions": [1.0, 0.5, 0.0], "draws": 2}, "compression": {"dims": [2, 4, 8]},
            "interaction_k": 4}


def pool(noise, accuracy_of=None, seed=0):
    """A base and two models per category; a model's logits are the label's one-hot plus a
    shared part and ``noise[category]`` times its own part: the larger a category's own part,
    the less its errors coincide with the base's (the shared part makes errors correlated)."""
    rng = np.random.default_rng(seed)
    yv, yt = rng.integers(0, K, NV), rng.integers(0, K, NT)
    shared = {s: rng.standard_normal((len(y), K)) for s, y in (("val", yv), ("test", yt))}
    entries, outputs, metrics = [], {}, {}
    for c in ("base", *CATEGORIES):
        for r in range(1 if c == "base" else 2):
            m = f"{c}{r}"
            entries.append({"model": m, "category": c, "source": "synth" if c in ("base", "reinit") else "new"})
            outputs[m] = {}
            for s, y in (("val", yv), ("test", yt)):
                a = noise.get(c, 0.0)
                z = 1.6 * np.eye(K)[y] + np.sqrt(max(0.0, 1 - a * a)) * shared[s] + a * rng.standard_normal((len(y), K))
                feats = np.concatenate([z, rng.standard_normal((len(y), D - K))], 1)
                outputs[m][s] = {"labels": y, "logits": 2.0 * z, "features": feats}
            metrics[m] = {"arch": "resnet18", "seed": r}
    return entries, outputs, metrics


def test_error_inconsistency_that_grows_by_construction_is_found_to_grow():
    noise = {"base": 0.0, "reinit": 0.1, "hyper": 0.3, "arch": 0.5, "framework": 0.7, "dataset": 0.9}
    tables, f = analyse(*pool(noise), SETTINGS, log=lambda s: None)
    cats = tables["categories"].set_index("category")
    assert list(cats.index) == list(CATEGORIES)
    assert np.all(np.diff(cats["ei"].to_numpy()) > 0)
    assert f["error_inconsistency_grows"]["verdict"] == "holds"
    assert f["error_inconsistency_grows"]["lo"] > 0
    assert f["gain_linear_in_ei"]["verdict"] == "holds" and f["gain_linear_in_ei"]["estimate"] > 0.5
    # the pair table agrees with a direct count on the test points
    pairs = tables["pairs"]
    assert set(pairs["category"]) == set(CATEGORIES) and len(pairs) == 10
    # a category's bootstrap interval contains its estimate and its SE is near the binomial one
    for c, row in cats.iterrows():
        assert row.ei_lo <= row.ei <= row.ei_hi
        assert row.ei_se == pytest.approx(np.sqrt(row.ei * (1 - row.ei) / NT / 2), rel=0.6)


def test_identical_categories_give_no_trend():
    noise = dict.fromkeys(("base", *CATEGORIES), 0.5)
    _, f = analyse(*pool(noise, seed=1), SETTINGS, log=lambda s: None)
    assert f["error_inconsistency_grows"]["verdict"] in ("undecided", "fails")
    assert f["error_inconsistency_grows"]["lo"] < 0 < f["error_inconsistency_grows"]["hi"] or \
        f["error_inconsistency_grows"]["verdict"] == "fails"


def test_the_base_is_its_recipes_most_accurate_member_and_the_window_filters():
    noise = {"base": 0.9, "reinit": 0.1, "hyper": 0.3, "arch": 0.5, "framework": 0.7, "dataset": 3.0}
    entries, outputs, metrics = pool(noise, seed=2)
    settings = {**SETTINGS, "window": [0.55, 1.0]}
    tables, f = analyse(entries, outputs, metrics, settings, log=lambda s: None)
    p = tables["pool"].set_index("model")
    acc = {m: p.loc[m, "heldout_acc"] for m in ("base0", "reinit0", "reinit1")}
    assert p.loc[max(acc, key=acc.get), "category"] == "base"
    assert f["pool"]["base"] == max(acc, key=acc.get)
    # the dataset models fall below the window: counted, not compared
    assert (~p.loc[["dataset0", "dataset1"], "in_window"]).all()
    assert f["pool"]["outside_window"]["dataset"] == 2
    assert "dataset" not in set(tables["pairs"]["category"])
    greedy = tables["greedy"]
    assert greedy.model[0] == p["heldout_acc"].idxmax() and len(greedy) == 4
    assert np.all(np.diff(greedy["val_acc"]) >= -0.02)  # chosen on the held-out split


def test_mismatched_points_are_refused():
    entries, outputs, metrics = pool({}, seed=3)
    outputs["hyper0"]["test"]["labels"] = outputs["hyper0"]["test"]["labels"][::-1].copy()
    with pytest.raises(ValueError, match="hyper0: its test labels differ"):
        analyse(entries, outputs, metrics, SETTINGS, log=lambda s: None)
