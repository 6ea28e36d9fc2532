"""Tests of the GDE interventions (featurelab.gde, featurelab.gde_figures, paper_numbers)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featurelab import gde
from featurelab.data import paper_numbers
from featurelab.data.prepared import Split, load_split, save_split
from featurelab.data.sources import CIFAR10_CLASSES
from featurelab.data.synthetic import WorldConfig, generate_split
from featurelab.figures import save
from featurelab.gde import figures as gde_figures

# ----------------------------------------------------------------------------- blue intensity


def _solid(rgb, n=1, h=4, w=4):
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (n, h, w, 3)).copy()


def test_blue_intensity_hand_computed():
    assert gde.blue_intensity(_solid((0, 0, 255)))[0] == pytest.approx(1.0)
    assert gde.blue_intensity(_solid((128, 128, 128)))[0] == pytest.approx(1 / 3)
    assert gde.blue_intensity(_solid((255, 0, 0)))[0] == 0.0
    # 2×2 image: blue sum 10+20+0+30 = 60; all channels 60 + (10+0+5+5) + (20+10+0+0) = 110
    img = np.array([[[10, 20, 10], [0, 10, 20]],
                    [[5, 0, 0], [5, 0, 30]]], dtype=np.uint8)[None]
    assert gde.blue_intensity(img)[0] == pytest.approx(60 / 110)
    # the ratio on [0, 1] pixels is the same ratio: 255 cancels
    assert gde.blue_intensity(img.astype(np.float64) / 255)[0] == pytest.approx(60 / 110)


def test_blue_intensity_black_and_batch():
    imgs = np.concatenate([_solid((0, 0, 0)), _solid((0, 0, 255)), _solid((255, 255, 0))])
    b = gde.blue_intensity(imgs)
    assert b.shape == (3,) and b.dtype == np.float64
    np.testing.assert_allclose(b, [1 / 3, 1.0, 0.0])


def test_blue_intensity_grayscale_error():
    gray = np.zeros((2, 8, 8, 1), dtype=np.uint8)
    with pytest.raises(ValueError, match="grayscale dataset"):
        gde.blue_intensity(gray)
    with pytest.raises(ValueError, match="grayscale dataset"):
        gde.blue_intensity(np.zeros((2, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="grayscale dataset"):
        gde.blue_thresholds(gray)


# ----------------------------------------------------------------------------- blue groups


def test_thresholds_equal_groups_on_known_distribution():
    rng = np.random.default_rng(0)
    b = rng.permutation(np.arange(1, 101) / 100)  # 0.01 .. 1.00
    t = gde.blue_thresholds(b)
    np.testing.assert_allclose(t, [0.21, 0.41, 0.61, 0.81])
    g = gde.blue_groups(b, t)
    assert np.bincount(g).tolist() == [20, 20, 20, 20, 20]
    # eq. 50: G_i = {0.2 i < F(b) ≤ 0.2 (i+1)}, F = empirical CDF of the training b
    F = (np.sort(b)[None, :] <= b[:, None]).mean(axis=1)
    for i in range(5):
        assert set(np.flatnonzero(g == i)) == set(np.flatnonzero((0.2 * i < F) & (F <= 0.2 * (i + 1) + 1e-12)))
    # test points use the training thresholds (boundaries: F(0.20) = 0.2 ∈ G0, F(0.21) ∈ G1)
    test = np.array([0.0, 0.005, 0.20, 0.205, 0.21, 0.5, 0.81, 0.999, 1.0])
    assert gde.blue_groups(test, t).tolist() == [0, 0, 0, 0, 1, 2, 4, 4, 4]


def test_thresholds_from_images_and_uneven_n():
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(53, 4, 4, 3), dtype=np.uint8)
    t = gde.blue_thresholds(imgs, n_groups=5)
    g = gde.blue_groups(imgs, t)
    counts = np.bincount(g, minlength=5)
    assert counts.sum() == 53 and counts.max() - counts.min() <= 1
    b = gde.blue_intensity(imgs)
    # groups are ordered by blue intensity
    for i in range(4):
        assert b[g == i].max() < b[g == i + 1].min()
    with pytest.raises(ValueError):
        gde.blue_thresholds(imgs[:3], n_groups=5)


def test_blue_group_split():
    b_levels = np.arange(10)  # image i: blue channel = 10 i, red/green = 50
    imgs = np.zeros((10, 2, 2, 3), dtype=np.uint8)
    imgs[..., 0] = 50
    imgs[..., 1] = 50
    imgs[..., 2] = (b_levels * 10)[:, None, None]
    split = Split(imgs, np.arange(10) % 3, ("a", "b", "c"))
    t = gde.blue_thresholds(split.images)
    parts = [gde.blue_group_split(split, t, i) for i in range(5)]
    assert [len(p) for p in parts] == [2] * 5
    assert all(p.classes == ("a", "b", "c") for p in parts)
    np.testing.assert_array_equal(parts[0].labels, [0, 1])       # least blue: images 0, 1
    np.testing.assert_array_equal(parts[4].labels, [2, 0])       # most blue: images 8, 9
    with pytest.raises(ValueError):
        gde.blue_group_split(split, t, 5)


def test_synthetic_world_blue_groups_have_growing_rare_pool():
    """The blue tie: bluer groups (G1 → G5) draw rare motifs from a larger pool."""
    cfg = WorldConfig(n_train=2000, n_test=500)
    images, _, truth = generate_split(cfg, "train")
    t = gde.blue_thresholds(images)
    g = gde.blue_groups(images, t)
    assert np.bincount(g).tolist() == [400] * 5
    pool = truth["rare_pool"].to_numpy()
    means = [pool[g == i].mean() for i in range(5)]
    assert all(a < b for a, b in zip(means, means[1:])), means
    # test images, cut with the training thresholds, show the same order
    timg, _, ttruth = generate_split(cfg, "test")
    tg = gde.blue_groups(timg, t)
    tmeans = [ttruth["rare_pool"].to_numpy()[tg == i].mean() for i in range(5)]
    assert tmeans[0] < tmeans[2] < tmeans[4]


# ----------------------------------------------------------------------------- superclasses


def test_superclass_map_cifar10_partitions():
    assert CIFAR10_CLASSES[:5] == ("airplane", "automobile", "bird", "cat", "deer")
    expected_sizes = {2: [5, 5], 3: [3, 3, 4], 5: [2, 2, 2, 2, 2], 10: [1] * 10}
    for k, sizes in expected_sizes.items():
        m = gde.superclass_map(10, k)
        assert m.shape == (10,) and m.dtype == np.int64
        assert set(m.tolist()) == set(range(k))          # every class mapped, every group used
        assert np.bincount(m).tolist() == sizes
        assert np.all(np.diff(m) >= 0)                   # grouping by contiguous class index
        assert gde.superclass_groups(10, k) == gde.SUPERCLASSES[k]
    np.testing.assert_array_equal(gde.superclass_map(10, 10), np.arange(10))
    # App. F.8 by name
    names = [[CIFAR10_CLASSES[c] for c in g] for g in gde.SUPERCLASSES[3]]
    assert names == [["airplane", "automobile", "bird"], ["cat", "deer", "dog"],
                     ["frog", "horse", "ship", "truck"]]


def test_superclass_map_other_class_counts():
    assert gde.superclass_groups(7, 3) == [[0, 1], [2, 3], [4, 5, 6]]
    assert np.bincount(gde.superclass_map(100, 3)).tolist() == [33, 33, 34]
    np.testing.assert_array_equal(gde.superclass_map(4, 4), np.arange(4))
    for bad in [(10, 1), (10, 11), (10, 0), (3, 4)]:
        with pytest.raises(ValueError):
            gde.superclass_map(*bad)


def test_relabel_split(tmp_path):
    imgs = np.zeros((10, 2, 2, 3), dtype=np.uint8)
    labels = np.arange(10, dtype=np.int64)
    split = Split(imgs, labels, CIFAR10_CLASSES)
    s2 = gde.relabel(split, 2)
    assert s2.labels.tolist() == [0] * 5 + [1] * 5
    assert s2.classes == ("airplane+automobile+bird+cat+deer", "dog+frog+horse+ship+truck")
    s5 = gde.relabel(split, 5)
    assert s5.classes[0] == "airplane+automobile" and s5.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert gde.relabel(split, 10).classes == CIFAR10_CLASSES
    assert s5.images is split.images
    path = save_split(tmp_path / "s5.npz", s5.images, s5.labels, s5.classes)
    back = load_split(path)
    assert back.classes == s5.classes and back.labels.tolist() == s5.labels.tolist()


def test_condition_names():
    assert gde.superclass_condition(5) == "super5"
    assert gde.blue_condition(0) == "blue1"
    assert gde.parse_condition("blue5") == ("blue", 4)
    assert gde.parse_condition("super10") == ("superclass", 10)
    assert gde.condition_label("super2") == "K̃=2" and gde.condition_label("blue3") == "G3"
    with pytest.raises(ValueError):
        gde.parse_condition("blue0")


def test_fraction_size():
    assert gde.fraction_size(50000, 0.05) == 2500
    assert gde.fraction_size(50000, 1.0) == 50000
    assert gde.fraction_size(10, 0.01) == 1
    assert gde.fraction_size(10, 0.25) == 3            # 2.5 rounds half up
    assert gde.fraction_size(100, 0.35) == 35
    assert [gde.fraction_size(4000, f) for f in gde.DEFAULT_FRACTIONS] == list(range(200, 4001, 200))
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            gde.fraction_size(100, bad)


# ----------------------------------------------------------------------------- metrics


def test_ensemble_metrics_hand_computed():
    y = np.array([0, 1, 2, 3])
    p = np.array([[0, 1, 2, 0],     # acc 0.75
                  [0, 1, 0, 0],     # acc 0.50
                  [1, 1, 2, 3]])    # acc 0.75
    m = gde.ensemble_metrics(p, y)
    assert m["accuracy_mean"] == pytest.approx(2 / 3)
    assert m["accuracy_std"] == pytest.approx(np.std([0.75, 0.5, 0.75], ddof=1))
    # agreements: (0,1) 0.75, (0,2) 0.5, (1,2) 0.25
    assert m["agreement_mean"] == pytest.approx(0.5)
    assert m["agreement_std"] == pytest.approx(0.25)
    diffs = [0.75 - 0.625, 0.5 - 0.75, 0.25 - 0.625]
    assert m["difference_mean"] == pytest.approx(np.mean(diffs))
    assert m["difference_mean"] == pytest.approx(m["agreement_mean"] - m["accuracy_mean"])
    assert m["difference_std"] == pytest.approx(np.std(diffs, ddof=1))
    assert (m["n_members"], m["n_points"], m["n_pairs"]) == (3, 4, 3)
    A = gde.pairwise_agreement(p)
    np.testing.assert_allclose(A, [[1, 0.75, 0.5], [0.75, 1, 0.25], [0.5, 0.25, 1]])


def test_class_count_free_difference_matches_the_guessing_story():
    assert gde.class_count_free_difference(-0.05, 2) == pytest.approx(-0.1)
    np.testing.assert_allclose(gde.class_count_free_difference([0.09, 0.09], [10, 3]), [0.1, 0.135])
    with pytest.raises(ValueError, match="≥ 2"):
        gde.class_count_free_difference(0.1, 1)
    # Monte Carlo of the story in its docstring, with coverage correlated across models
    # (point hardness shared, plus model noise) and guessers copying a common guess: the
    # measured difference is (κ q0 − r)(1 − 1/K) for every K
    rng = np.random.default_rng(0)
    M, N, s = 6, 60000, 0.6                         # κ = s² (both guessers copy the common guess)
    hard = rng.random(N)
    cover = rng.random((M, N)) > hard[None, :] * (0.4 + 0.6 * rng.random((M, 1)))
    q0 = np.mean([np.mean(~cover[i] & ~cover[j]) for i in range(M) for j in range(i + 1, M)])
    r = np.mean([np.mean(cover[i] & ~cover[j]) for i in range(M) for j in range(M) if i != j])
    for K in (2, 3, 5, 10):
        y = rng.integers(0, K, N)
        common = rng.integers(0, K, N)
        own = rng.integers(0, K, (M, N))
        guess = np.where(rng.random((M, N)) < s, common[None, :], own)
        pred = np.where(cover, y[None, :], guess)
        d = gde.ensemble_metrics(pred, y)["difference_mean"]
        assert d == pytest.approx((s * s * q0 - r) * (1 - 1 / K), abs=0.006)
        assert gde.class_count_free_difference(d, K) == pytest.approx(s * s * q0 - r, abs=0.012)


def test_multiclass_theory_factorises_by_class_count():
    from featurelab import theory as TE
    prm = {"p_d": 0.7, "c": 20, "t_d": 20, "t_r": 180, "n_d": 5, "n_r": 10}
    big = TE.predict(prm, zeta={"family": "constant", "eta": 0.9}, num_classes=10 ** 7)["difference"]
    for K in (2, 3, 5, 10):
        d = TE.predict(prm, zeta={"family": "constant", "eta": 0.9}, num_classes=K)["difference"]
        assert gde.class_count_free_difference(d, K) == pytest.approx(big, abs=1e-6)


def test_difference_standard_error_against_brute_force():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 50)
    p = np.where(rng.random((4, 50)) < 0.7, y, rng.integers(0, 4, (4, 50)))
    se = gde.difference_standard_error(p, y)
    # jackknife: recompute the whole ensemble's difference without each member
    loo = np.array([gde.ensemble_metrics(np.delete(p, i, axis=0), y)["difference_mean"] for i in range(4)])
    assert se["se_members"] == pytest.approx(np.sqrt(3 / 4 * np.sum((loo - loo.mean()) ** 2)))
    # points: per-point agreement over the 6 pairs minus per-point accuracy, looped by hand
    d = []
    for x in range(50):
        agree = np.mean([p[i, x] == p[j, x] for i in range(4) for j in range(i + 1, 4)])
        d.append(agree - np.mean(p[:, x] == y[x]))
    assert np.mean(d) == pytest.approx(gde.ensemble_metrics(p, y)["difference_mean"])
    assert se["se_points"] == pytest.approx(np.std(d, ddof=1) / np.sqrt(50))
    assert se["se"] == pytest.approx(np.hypot(se["se_members"], se["se_points"]))
    # identical members: no member noise; two members: no jackknife
    same = gde.difference_standard_error(np.stack([p[0]] * 3), y)
    assert same["se_members"] == 0.0
    two = gde.difference_standard_error(p[:2], y)
    assert np.isnan(two["se_members"]) and two["se"] == pytest.approx(two["se_points"])
    assert np.isnan(gde.difference_standard_error(p[:1], y)["se"])


def test_range_ratio_interval():
    # no noise: every draw is the observed ratio
    r = gde.range_ratio_interval([0.0, 0.1, 0.05], [0, 0, 0], [0.02, 0.04], [0, 0])
    assert r["ratio"] == pytest.approx(5.0)
    assert r["ratio_q05"] == pytest.approx(5.0) and r["ratio_q95"] == pytest.approx(5.0)
    assert r["p_blue_larger"] == 1.0
    # equal spreads drawn from the same noise: about even odds, and an interval around 1
    r = gde.range_ratio_interval([0.0] * 5, [0.02] * 5, [0.0] * 5, [0.02] * 5, draws=40000)
    assert 0.45 < r["p_blue_larger"] < 0.55
    assert r["ratio_q05"] < 1.0 < r["ratio_q95"]
    # a NaN standard error is taken as 0; mismatched lengths and one-condition sides refused
    r = gde.range_ratio_interval([0.0, 0.1], [float("nan")] * 2, [0.0, 0.01], [0.0, 0.0])
    assert r["ratio_q50"] == pytest.approx(10.0)
    with pytest.raises(ValueError, match="standard error"):
        gde.range_ratio_interval([0.0, 0.1], [0.0], [0.0, 0.1], [0.0, 0.0])
    with pytest.raises(ValueError, match="two conditions"):
        gde.range_ratio_interval([0.0], [0.0], [0.0, 0.1], [0.0, 0.0])


def test_ensemble_metrics_single_member_and_errors():
    m = gde.ensemble_metrics(np.array([[0, 1, 1]]), np.array([0, 1, 0]))
    assert m["accuracy_mean"] == pytest.approx(2 / 3)
    assert np.isnan(m["agreement_mean"]) and np.isnan(m["accuracy_std"])
    with pytest.raises(ValueError):
        gde.ensemble_metrics(np.zeros((2, 3), int), np.zeros(4, int))


def test_calibration_calibrated_vs_confident_wrong():
    n = 1000
    y = np.zeros(n, dtype=np.int64)
    y[:200] = 1                                     # 80% class 0
    logits = np.tile(np.log([0.8, 0.2]), (3, n, 1))  # every member: P(class 0) = 0.8
    s, bins = gde.calibration(logits, y)
    assert s["ece_ensemble"] == pytest.approx(0.0, abs=1e-9)
    assert s["ece_member_mean"] == pytest.approx(0.0, abs=1e-9)
    assert s["cace_softmax"] == pytest.approx(0.0, abs=1e-9)
    assert s["accuracy_ensemble"] == pytest.approx(0.8)
    assert s["confidence_ensemble"] == pytest.approx(0.8)
    assert set(bins["view"]) == {"ensemble", "member", "class_aggregated"}
    assert list(bins.columns) == ["view", "bin", "lower", "upper", "count", "confidence",
                                  "accuracy", "gap"]
    ens = bins[bins["view"] == "ensemble"]
    assert ens["count"].sum() == n and ens.loc[ens["count"] > 0, "bin"].tolist() == [7]  # (0.7, 0.8]

    wrong = np.zeros((2, n, 3))
    wrong[..., 0] = 10.0                             # confident class 0, truth is class 1
    s2, _ = gde.calibration(wrong, np.ones(n, dtype=np.int64))
    assert s2["ece_ensemble"] > 0.99 and s2["ece_member_mean"] > 0.99
    assert s2["accuracy_ensemble"] == 0.0


def test_calibration_cace_bounds_gde_gap():
    """Jiang et al. 2022 Thm 4.2: |E dis − E err| ≤ CACE of the vote ensemble (exact here)."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        m, n, c = 5, 400, 4
        y = rng.integers(0, c, n)
        logits = rng.normal(size=(m, n, c)) + 2.0 * np.eye(c)[y] * rng.random((m, n, 1))
        s, _ = gde.calibration(logits, y, n_bins=15)
        assert abs(s["gde_gap_iid"]) <= s["cace_vote"] + 1e-12
        pred = logits.argmax(axis=2)
        assert s["test_error"] == pytest.approx(1 - gde.ensemble_metrics(pred, y)["accuracy_mean"])


# ----------------------------------------------------------------------------- tables


def _table():
    rng = np.random.default_rng(0)
    rows = []
    for cond in ["super2", "super3", "super5", "super10", "blue1", "blue2", "blue3", "blue4", "blue5"]:
        y = rng.integers(0, 3, 200)
        p = np.where(rng.random((4, 200)) < 0.7, y, rng.integers(0, 3, (4, 200)))
        rows.append({"condition": cond, **gde.ensemble_metrics(p, y)})
    return gde.results_table(rows)


def test_results_table_and_formats():
    df = _table()
    assert list(df.columns[:7]) == list(gde.METRIC_COLUMNS)
    assert "n_members" in df.columns and len(df) == 9
    paper = paper_numbers.paper_table("gde")
    md = gde.format_markdown(df, paper)
    assert "±" in md
    assert "0.80 ± 0.01" in md and "0.85 ± 0.06" in md   # paper's K̃=2 (Tables 1-2)
    assert "0.62 ± 0.02" in md and "0.70 ± 0.13" in md   # paper's G1
    assert "K̃=2" in md and "G5" in md
    assert md.count("\n") == 11                            # header, rule, 9 rows
    plain = gde.format_markdown(df)
    assert "paper" not in plain and "±" in plain
    tex = gde.format_latex(df, paper, caption="Table 1")
    assert r"\pm" in tex and r"\toprule" in tex and r"\tilde K=2" in tex and "0.80" in tex
    assert tex.count(r"\\") == 10


def test_paper_table():
    p = paper_numbers.paper_table("gde")
    assert p["condition"].tolist() == ["super2", "super3", "super5", "super10",
                                       "blue1", "blue2", "blue3", "blue4", "blue5"]
    np.testing.assert_allclose(p["accuracy"], [.80, .84, .78, .81, .62, .60, .59, .66, .70])
    np.testing.assert_allclose(p["agreement"], [.85, .88, .83, .85, .70, .67, .69, .71, .75])
    assert len(paper_numbers.paper_table("superclass")) == 4
    assert paper_numbers.paper_table("blue")["condition"].tolist()[0] == "blue1"
    with pytest.raises(ValueError):
        paper_numbers.paper_table("fig5b")


# ----------------------------------------------------------------------------- figures


def test_figures_run(tmp_path):
    table = _table()
    fig, df = gde_figures.fig_accuracy_vs_agreement(table, paper_numbers.paper_table())
    assert list(df.columns) == ["condition", "label", "source", "accuracy", "accuracy_std",
                                "agreement", "agreement_std", "difference"]
    assert set(df["source"]) == {"reproduced", "paper"} and len(df) == 18
    save(fig, df, tmp_path / "a.png", tmp_path / "a.csv")
    assert (tmp_path / "a.png").stat().st_size > 0 and len(pd.read_csv(tmp_path / "a.csv")) == 18

    per_member = pd.DataFrame({"fraction": np.repeat([0.05, 0.5, 1.0], 3),
                               "accuracy": [.3, .32, .31, .6, .62, .61, .8, .79, .81]})
    fig, df = gde_figures.fig5b(per_member)
    assert list(df.columns) == ["fraction", "accuracy_mean", "accuracy_std", "n_members"]
    np.testing.assert_allclose(df["accuracy_mean"], [.31, .61, .8])
    rows = [{"condition": f"frac{f}", "fraction": f, "n_train": gde.fraction_size(4000, f),
             **gde.ensemble_metrics(np.zeros((2, 4), int), np.array([0, 0, 1, 1]))}
            for f in (1.0, 0.5)]
    fig, df = gde_figures.fig5b(gde.results_table(rows))
    assert df["fraction"].tolist() == [0.5, 1.0] and "n_train" in df.columns

    rng = np.random.default_rng(0)
    cals = {}
    for cond in ["blue1", "blue2"]:
        y = rng.integers(0, 3, 300)
        _, bins = gde.calibration(rng.normal(size=(3, 300, 3)) + 2 * np.eye(3)[y], y)
        cals[cond] = bins
    fig, df = gde_figures.fig_calibration(cals)
    assert list(df.columns) == ["condition", "view", "bin", "lower", "upper", "count",
                                "confidence", "accuracy", "gap"]
    assert set(df["condition"]) == {"blue1", "blue2"}
    save(fig, df, tmp_path / "c.png", tmp_path / "c.csv")


def test_spread_comparison_verdict():
    import pandas as pd

    from featurelab.gde.summary import compare_spreads

    def table(blue, sup, se):
        rows = [{"condition": f"blue{i}", "d": v, "se": se} for i, v in enumerate(blue)]
        rows += [{"condition": f"super{i}", "d": v, "se": se} for i, v in enumerate(sup)]
        return pd.DataFrame(rows)

    # blue range 0.10 against superclass 0.01 with tiny errors: holds; reversed: fails
    assert compare_spreads(table([0.0, 0.1], [0.0, 0.01], 1e-4), "d", "se")["verdict"]["verdict"] == "holds"
    assert compare_spreads(table([0.0, 0.01], [0.0, 0.1], 1e-4), "d", "se")["verdict"]["verdict"] == "fails"
    # the same ranges drowned in condition error: undecided
    assert compare_spreads(table([0.0, 0.02], [0.0, 0.01], 0.05), "d", "se")["verdict"]["verdict"] == "undecided"
    # one superclass condition: no verdict
    one = compare_spreads(table([0.0, 0.1], [0.0], 1e-4), "d", "se")
    assert one["verdict"]["verdict"] == "no verdict" and one["interval"] is None
