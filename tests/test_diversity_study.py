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


def test_a_category_with_one_pair_gives_no_trend_verdict():
    # growing by construction, but Reinit keeps one model: its pairs cannot be redrawn, so the
    # trend (and Dataset − Reinit) has no verdict; the interval over test points alone is kept
    noise = {"base": 0.0, "reinit": 0.1, "hyper": 0.3, "arch": 0.5, "framework": 0.7, "dataset": 0.9}
    entries, outputs, metrics = pool(noise)
    entries = [e for e in entries if e["model"] != "reinit1"]
    _, f = analyse(entries, outputs, metrics, SETTINGS, log=lambda s: None)
    g = f["error_inconsistency_grows"]
    assert g["verdict"] == "no verdict" and "one pair in reinit" in g["basis"]
    assert g["points_only"]["lo"] > 0                      # the points alone would have said "holds"
    assert g["last_minus_first"]["verdict"] == "no verdict"


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


def test_an_empty_window_is_a_finding_with_the_pool_table_and_every_figure(tmp_path):
    """No candidate in the window: no crash; the summary says 'no pairs in the window', the pool
    table counts every model outside, greedy ensembling and the base's compression curve are
    there, the other tables are empty with their columns, and every figure is drawn from the
    tables as written to CSV and read back (as the figures rule does)."""
    import pandas as pd

    from featurelab.diversity import figures as F
    from featurelab.diversity.study import NO_PAIRS

    entries, outputs, metrics = pool({"reinit": 0.3, "hyper": 0.5}, seed=4)
    entries.append({"model": "start", "category": "start", "source": "synth"})
    outputs["start"], metrics["start"] = outputs["base0"], metrics["base0"]
    settings = {**SETTINGS, "window": [0.999, 1.0]}
    tables, f = analyse(entries, outputs, metrics, settings, greedy_start="start", log=lambda s: None)
    assert f["finding"] == NO_PAIRS
    assert f["pool"]["in_window"] == 0 and sum(f["pool"]["outside_window"].values()) == len(entries) - 1
    assert f["pool"]["categories"]["hyper"] == {**f["pool"]["categories"]["hyper"], "candidates": 2, "in_window": 0,
                                                "below": 2, "above": 0}
    assert "error_inconsistency_grows" not in f and f["transfer"]["skipped"]
    assert tables["pairs"].empty and "ei_floor" in tables["pairs"].columns
    assert list(tables["greedy"].category) == ["start", "base"]  # only the base can join the start
    assert set(tables["compression"].category) == {"base"}
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)
    back = {name: pd.read_csv(tmp_path / f"{name}.csv") for name in tables}
    figs = F.all_figures(back)
    assert set(figs) == set(F.FIGURES)
    for name, fig in figs.items():
        fig.savefig(tmp_path / f"{name}.png")


def test_the_transfer_probe_gains_where_each_model_holds_half_the_downstream_signal():
    """Known answer: the downstream label is 1[s₁ + s₂ > 0] for independent standard normals; the
    base's features carry s₁ only, the other's s₂ only. Alone each predicts the sign of the sum
    on 3/4 of the points (P(sign s₁ = sign(s₁ + s₂)) = 3/4); concatenated, the label is linear
    in the features and the probe is near perfect."""
    from featurelab.diversity.probes import transfer_probe

    rng = np.random.default_rng(0)

    def split(n):
        s = rng.standard_normal((n, 2))
        noise = 0.05 * rng.standard_normal((n, 6))
        return (np.c_[s[:, :1], noise[:, :3]], np.c_[s[:, 1:], noise[:, 3:]], (s.sum(1) > 0).astype(int))

    (af, bf, yf), (ae, be, ye) = split(2000), split(4000)
    r = transfer_probe(af, bf, yf, ae, be, ye)
    assert r["a"] == pytest.approx(0.75, abs=0.03) and r["b"] == pytest.approx(0.75, abs=0.03)
    assert r["concat"] > 0.97 and r["gain"] == pytest.approx(r["concat"] - max(r["a"], r["b"]))


def test_the_overlap_trend_verdict_on_constructed_advantages():
    """Per-model 50/50 advantages growing by 0.02 per category rank (plus small noise) give a
    slope near 0.02 that holds; equal advantages give a slope interval around 0 (no hold); the
    slope and its t interval agree with scipy.stats.linregress."""
    import pandas as pd
    import scipy.stats

    from featurelab.diversity.study import _overlap_trend, slope_interval

    rng = np.random.default_rng(1)

    def table(step):
        rows = []
        for r, c in enumerate(CATEGORIES):
            for m in range(4):
                adv = step * r + 0.005 * rng.standard_normal()
                for f, acc in ((1.0, 0.6), (0.5, 0.6 + adv), (0.0, 0.55)):
                    rows.append({"category": c, "model": f"{c}{m}", "fraction": f, "draw": 0, "accuracy": acc})
        return pd.DataFrame(rows)

    grows = _overlap_trend(table(0.02))
    assert grows["verdict"] == "holds" and grows["estimate"] == pytest.approx(0.02, abs=0.004)
    assert grows["models"] == 20 and grows["categories"] == 5
    flat = _overlap_trend(table(0.0))
    assert flat["verdict"] != "holds" and flat["lo"] < 0.004
    x, y = np.repeat(np.arange(5.0), 4), rng.standard_normal(20)
    s, lr = slope_interval(x, y), scipy.stats.linregress(x, y)
    t = scipy.stats.t.ppf(0.975, 18)
    assert s["mean"] == pytest.approx(lr.slope) and s["se"] == pytest.approx(lr.stderr)
    assert (s["lo"], s["hi"]) == pytest.approx((lr.slope - t * lr.stderr, lr.slope + t * lr.stderr))


def test_welch_difference_interval_matches_scipy():
    import scipy.stats

    from featurelab.diversity.study import difference_interval

    a, b = [0.1, 0.3, 0.2, 0.25], [0.4, 0.5, 0.35]
    d = difference_interval(a, b)
    ci = scipy.stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert d["mean"] == pytest.approx(np.mean(b) - np.mean(a))
    assert (d["lo"], d["hi"]) == pytest.approx((ci.low, ci.high))
    assert difference_interval([0.1], b)["lo"] is None  # one pair: no interval


def test_verdicts_use_the_thresholds_of_the_config():
    noise = {"base": 0.0, "reinit": 0.1, "hyper": 0.3, "arch": 0.5, "framework": 0.7, "dataset": 0.9}
    _, f = analyse(*pool(noise), SETTINGS, log=lambda s: None)
    est = f["error_inconsistency_grows"]["estimate"]
    assert f["error_inconsistency_grows"]["conditions"][0]["threshold"] == 0.0
    _, g = analyse(*pool(noise), {**SETTINGS, "thresholds": {"trend": est * 10}}, log=lambda s: None)
    assert g["error_inconsistency_grows"]["verdict"] == "fails"
    assert g["error_inconsistency_grows"]["conditions"][0]["threshold"] == pytest.approx(est * 10)
    # the excess over |Δacc| is reported per category beside EI and its floor
    for c, v in f["ei_floor_excess"].items():
        assert v["ei"]["estimate"] == pytest.approx(v["ei_floor"]["estimate"] + v["ei_excess"]["estimate"])
