"""Known-answer tests of featurelab.interaction_figures (Jiang, Baek, Kolter (2024) §4, App. F).

A hand-made Ω with M = 3 models, N = 12 points and T = 5 features; every table is
checked against numbers worked out by hand below.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from featurelab import interaction as it
from featurelab.figures import save
from featurelab.interaction import figures as F
from featurelab.interaction import findings as FD
from featurelab.interaction import images as IM

# Ψ(n) for the 12 points (pooled over models). Frequencies: f3 = 10, f0 = 5, f2 = 3,
# f4 = 3, f1 = 2, so the Fig 2b order is 3, 0, 2, 4, 1 (f2 before f4 on the tie).
PSI = [{3}, {3}, {3, 0}, {3, 0}, {3, 4}, {3, 0, 4}, {3, 2}, {0, 2, 1}, {3, 4, 2, 1}, {3}, set(),
       {3, 0}]
NFEAT = [1, 1, 2, 2, 2, 3, 2, 3, 4, 1, 0, 2]
FREQ = [5, 2, 3, 10, 3]
ORDER = [3, 0, 2, 4, 1]
M, N, T = 3, 12, 5
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
NAMES = ["cat", "dog", "frog"]
CONF = np.array([1, 1, 1, 2 / 3, 1 / 3, 0, 2 / 3, 1 / 3, 0, 1, 1, 2 / 3])


def make_triplets() -> pd.DataFrame:
    """Each incidence (n, t) is held by model (n + t) % 3, and also by the next model when
    n is even (so pooling over models must deduplicate)."""
    rows = set()
    for n, psi in enumerate(PSI):
        for t in psi:
            rows.add(((n + t) % M, n, t))
            if n % 2 == 0:
                rows.add(((n + t + 1) % M, n, t))
    a = np.array(sorted(rows), dtype=np.int32)
    return pd.DataFrame({"model": a[:, 0], "point": a[:, 1], "feature": a[:, 2]})


def make_images(n: int, channels: int | None, size: int = 8) -> np.ndarray:
    rng = np.random.default_rng(channels or 0)
    shape = (n, size, size) if channels is None else (n, size, size, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def trip() -> pd.DataFrame:
    return make_triplets()


def test_fixture_matches_hand_counts(trip):
    np.testing.assert_array_equal(it.features_per_point(trip, N), NFEAT)
    np.testing.assert_array_equal(it.feature_frequency(trip, T), FREQ)
    np.testing.assert_array_equal(F.frequency_order(np.array(FREQ)), ORDER)


# --------------------------------------------------------------------------- Fig 1

@pytest.mark.parametrize("channels", [1, 3, None])
def test_fig1_picks_fewest_and_most_per_class(channels):
    fig, df = IM.fig1_extremes(np.array(NFEAT), LABELS, make_images(N, channels), NAMES, per_class=2)
    assert list(df.columns) == ["class", "kind", "rank", "point", "nfeat"]
    got = {(c, k): list(g.sort_values("rank")["point"]) for (c, k), g in df.groupby(["class", "kind"])}
    # class cat: points 0-3, nfeat 1,1,2,2; dog: 4-7, nfeat 2,3,2,3; frog: 8-11, nfeat 4,1,0,2
    assert got == {("cat", "fewest"): [0, 1], ("cat", "most"): [2, 3],
                   ("dog", "fewest"): [4, 6], ("dog", "most"): [5, 7],
                   ("frog", "fewest"): [10, 9], ("frog", "most"): [8, 11]}
    np.testing.assert_array_equal(df["nfeat"], np.array(NFEAT)[df["point"]])
    assert len(fig.axes) == 3 * 2 * 2


def test_fig1_class_without_points_and_small_class():
    labels = np.array([0, 0, 0, 2])
    nfeat = np.array([5, 1, 3, 2])
    fig, df = IM.fig1_extremes(nfeat, labels, make_images(4, 3), ["a", "b", "c"], per_class=3)
    assert list(df[(df["class"] == "a") & (df["kind"] == "fewest")]["point"]) == [1, 2, 0]
    assert list(df[(df["class"] == "a") & (df["kind"] == "most")]["point"]) == [0, 2, 1]
    assert (df["class"] == "b").sum() == 0
    assert list(df[df["class"] == "c"]["point"]) == [3, 3]


# --------------------------------------------------------------------------- Fig 2

def test_fig2a_one_sorted_curve_per_epoch():
    fig, df = F.fig2a_frequency_over_epochs({5: np.array([0, 4]), 0: np.array([1, 3, 2])})
    assert list(df.columns) == ["epoch", "rank", "frequency"]
    assert df.values.tolist() == [[0, 0, 3], [0, 1, 2], [0, 2, 1], [5, 0, 4], [5, 1, 0]]
    F.fig2a_frequency_over_epochs({3: np.array([2, 2])})  # single epoch: colour norm ok


def test_fig2b_order_and_frequencies():
    fig, df = F.fig2b_frequency(np.array(FREQ))
    assert list(df.columns) == ["rank", "feature", "frequency"]
    assert df["rank"].tolist() == [0, 1, 2, 3, 4]
    assert df["feature"].tolist() == ORDER
    assert df["frequency"].tolist() == [10, 5, 3, 3, 2]
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "T = 5" in text


def test_fig2b_long_input_uses_step_plot():
    freq = np.random.default_rng(0).integers(0, 100, 300)
    _, df = F.fig2b_frequency(freq, logy=True)
    assert np.all(np.diff(df["frequency"]) <= 0) and len(df) == 300


def test_fig2c_densities_by_hand(trip):
    fig, df = F.fig2c_density_by_confidence(trip, CONF, T)
    assert list(df.columns) == ["rank", "feature", "high_density", "low_density"]
    assert df["feature"].tolist() == ORDER
    # high-confidence points (conf = 1): 0, 1, 2, 9, 10 -> f3 ×4, f0 ×1; 23 incidences in all
    tot = 23.0
    high = [math.log10(4 / tot), math.log10(1 / tot), np.nan, np.nan, np.nan]
    low = [math.log10(6 / tot), math.log10(4 / tot), math.log10(3 / tot), math.log10(3 / tot),
           math.log10(2 / tot)]
    np.testing.assert_allclose(df["high_density"], high, equal_nan=True)
    np.testing.assert_allclose(df["low_density"], low)


def test_fig2c_threshold(trip):
    # conf >= 0.6: points 0, 1, 2, 3, 6, 9, 10, 11 -> f3: 0,1,2,3,6,9,11 = 7; f0: 2,3,11 = 3;
    # f2: 6 = 1; f4: none; f1: none
    _, df = F.fig2c_density_by_confidence(trip, CONF, T, threshold=0.6)
    hi = dict(zip(df["feature"], df["high_density"]))
    lo = dict(zip(df["feature"], df["low_density"]))
    assert hi[3] == pytest.approx(math.log10(7 / 23)) and lo[3] == pytest.approx(math.log10(3 / 23))
    assert hi[0] == pytest.approx(math.log10(3 / 23)) and lo[0] == pytest.approx(math.log10(2 / 23))
    assert hi[2] == pytest.approx(math.log10(1 / 23)) and np.isnan(hi[4]) and np.isnan(hi[1])


# --------------------------------------------------------------------------- Fig 3

def test_fig3a_joint_counts():
    fig, df = F.fig3a_confidence_vs_nfeat(CONF, np.array(NFEAT))
    assert list(df.columns) == ["confidence", "nfeat", "count"]
    assert df["count"].sum() == N and (df["count"] > 0).all()
    cell = {(round(c, 6), n): k for c, n, k in df.itertuples(index=False)}
    assert cell[(1.0, 1)] == 3 and cell[(1.0, 2)] == 1 and cell[(1.0, 0)] == 1
    assert cell[(0.0, 3)] == 1 and cell[(0.0, 4)] == 1 and cell[(round(2 / 3, 6), 2)] == 3
    # a single confidence level still draws
    F.fig3a_confidence_vs_nfeat(np.ones(4), np.array([1, 2, 2, 5]))


def test_fig3b_table(trip):
    nmod = it.models_per_feature(trip, T)
    _, df = F.fig3b_frequency_vs_models(np.array(FREQ), nmod)
    assert list(df.columns) == ["feature", "frequency", "n_models"]
    assert df["feature"].tolist() == list(range(T)) and df["frequency"].tolist() == FREQ
    assert df["n_models"].tolist() == nmod.tolist()


def test_fig3c_pairs_and_line():
    sf = np.array([[9, 4, 6], [4, 8, 5], [6, 5, 7]])
    se = np.array([[1, 0.2, 0.6], [0.2, 1, 0.4], [0.6, 0.4, 1]])
    fig, df = F.fig3c_shared_features_vs_error(sf, se)
    assert list(df.columns) == ["model_i", "model_j", "shared_features", "shared_error"]
    assert df[["model_i", "model_j", "shared_features"]].values.tolist() == [[0, 1, 4], [0, 2, 6], [1, 2, 5]]
    np.testing.assert_allclose(df["shared_error"], [0.2, 0.6, 0.4])
    line = [l for l in fig.axes[0].lines]
    assert len(line) == 1  # slope 0.2, through the points exactly
    np.testing.assert_allclose(line[0].get_ydata()[[0, -1]], [0.2, 0.6])  # over the points, slope 0.2
    # NaN shared error (a pair without mistakes) is kept in the table, left out of the fit
    se2 = se.copy()
    se2[0, 1] = se2[1, 0] = np.nan
    _, df2 = F.fig3c_shared_features_vs_error(sf, se2)
    assert np.isnan(df2["shared_error"].iloc[0])


# --------------------------------------------------------------------------- Fig 8

def test_fig8_long_form():
    rng = np.random.default_rng(0)
    lam = rng.random((2, 2, 3, 3))
    fig, df = F.fig8_correlation_blocks(lam)
    assert list(df.columns) == ["i", "j", "a", "b", "value"]
    assert len(df) == 2 * 9
    for i, j, a, b, v in df.itertuples(index=False):
        assert v == lam[i, j, a, b]
    assert sorted(set(zip(df["i"], df["j"]))) == [(0, 0), (0, 1)]
    # one model: the (0, 1) pair is skipped; no valid pair at all raises
    _, df1 = F.fig8_correlation_blocks(lam[:1, :1])
    assert len(df1) == 9
    with pytest.raises(ValueError):
        F.fig8_correlation_blocks(lam[:1, :1], pairs=((1, 1),))


# --------------------------------------------------------------------------- Fig 9

@pytest.mark.parametrize("channels", [1, 3])
def test_fig9_neighbours_exclude_query_and_sorted(trip, channels):
    inc = it.incidence_matrix(trip, N, T)
    fig, df = IM.fig9_neighbours(inc, make_images(N, channels), LABELS, [0, 10], n_neighbours=5,
                                class_names=NAMES)
    assert list(df.columns) == ["query", "rank", "neighbour", "similarity", "query_label",
                                "neighbour_label"]
    q0 = df[df["query"] == 0]
    # Ψ(0) = {3}: points 1 and 9 have Ψ = {3} (s = 1); 2, 3, 4, 6, 11 have 2 features with f3
    # (s = 2/3); ties by point index
    assert q0["neighbour"].tolist() == [1, 9, 2, 3, 4]
    np.testing.assert_allclose(q0["similarity"], [1, 1, 2 / 3, 2 / 3, 2 / 3])
    assert q0["rank"].tolist() == [0, 1, 2, 3, 4]
    assert (q0["query_label"] == 0).all()
    assert q0["neighbour_label"].tolist() == LABELS[[1, 9, 2, 3, 4]].tolist()
    for q, g in df.groupby("query"):
        assert q not in g["neighbour"].tolist()
        assert np.all(np.diff(g["similarity"]) <= 0)
        sims = it.similarity_matrix(inc, rows=[q])[0]
        for nb, s in zip(g["neighbour"], g["similarity"]):
            assert s == pytest.approx(it.similarity(PSI[q], PSI[nb])) == pytest.approx(sims[nb])
    # the empty point 10 has similarity 0 to everyone
    assert df[df["query"] == 10]["neighbour"].tolist() == [0, 1, 2, 3, 4]
    assert len(fig.axes) == 2 * 6


def test_fig9_more_neighbours_than_points(trip):
    inc = it.incidence_matrix(trip, N, T).toarray()  # dense input works too
    _, df = IM.fig9_neighbours(inc, make_images(N, 3), LABELS, [5], n_neighbours=50)
    assert len(df) == N - 1 and 5 not in df["neighbour"].tolist()


# --------------------------------------------------------------------------- Fig 10

@pytest.mark.parametrize("channels", [1, 3])
def test_fig10_dominant_and_rare(trip, channels):
    imgs = make_images(N, channels)
    fig, df = IM.fig10_single_feature_images(trip, np.array(FREQ), imgs, LABELS, n_show=3)
    assert list(df.columns) == ["kind", "feature", "frequency", "point", "label"]
    dom = df[df["kind"] == "dominant"]
    rare = df[df["kind"] == "rare"]
    assert set(dom["feature"]) == {3} and len(dom) == 3 and (dom["frequency"] == 10).all()
    assert set(dom["point"]) <= {n for n, p in enumerate(PSI) if 3 in p}
    # least frequent with >= 3 holders: f2 and f4 tie at 3 -> f2, holders 6, 7, 8
    assert set(rare["feature"]) == {2} and rare["point"].tolist() == [6, 7, 8]
    assert rare["label"].tolist() == LABELS[[6, 7, 8]].tolist()
    # >= 4 holders: only f0 (5) besides the dominant one
    _, df4 = IM.fig10_single_feature_images(trip, np.array(FREQ), imgs, LABELS, n_show=4)
    assert set(df4[df4["kind"] == "rare"]["feature"]) == {0}
    # nobody has >= 20 holders: fall back to the most frequent remaining feature, all holders
    _, df20 = IM.fig10_single_feature_images(trip, np.array(FREQ), imgs, LABELS, n_show=20)
    r20 = df20[df20["kind"] == "rare"]
    assert set(r20["feature"]) == {0} and r20["point"].tolist() == [2, 3, 5, 7, 11]
    assert len(df20[df20["kind"] == "dominant"]) == 10


# --------------------------------------------------------------------------- Fig 11

def test_fig11_counts_by_hand(trip):
    fig, df = IM.fig11_top_feature_counts(trip, LABELS, NAMES, top=2)
    assert list(df.columns) == ["feature", "class", "count"]
    assert df.values.tolist() == [[3, "cat", 4], [3, "dog", 3], [3, "frog", 3],
                                  [0, "cat", 2], [0, "dog", 2], [0, "frog", 1]]
    _, dfall = IM.fig11_top_feature_counts(trip, LABELS, NAMES, top=10)
    assert dfall["feature"].drop_duplicates().tolist() == ORDER
    assert dfall.groupby("feature", sort=False)["count"].sum().tolist() == [10, 5, 3, 3, 2]


# --------------------------------------------------------------------------- observations

def test_gini():
    assert FD.gini([4, 4, 4, 4]) == pytest.approx(0.0)
    assert FD.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    x = np.random.default_rng(1).random(7)
    ref = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size ** 2 * x.mean())
    assert FD.gini(x) == pytest.approx(ref)
    assert math.isnan(FD.gini([0, 0]))


def test_observations_monotone_inputs():
    conf = np.linspace(0, 1, 8)
    nfeat = np.arange(8)[::-1] * 3
    freq = np.array([100, 10, 5, 3, 2, 1, 1, 1, 1, 1])
    n_models = np.array([10, 9, 8, 7, 6, 1, 1, 1, 1, 1])  # ties where freq ties: same ranks
    sf = np.array([[9, 1, 2, 3], [1, 9, 4, 5], [2, 4, 9, 6], [3, 5, 6, 9]])
    se = sf / 10.0
    se[0, 0] = np.nan
    o = FD.observations(conf, nfeat, freq, n_models, sf, se)
    json.dumps(o)
    assert o["o2_spearman_rho"] == pytest.approx(-1.0) and o["o2_spearman_p"] < 0.01
    assert o["o3_spearman_rho"] == pytest.approx(1.0, abs=1e-12)
    assert o["o4_spearman_rho"] == pytest.approx(1.0) and o["o4_n_pairs"] == 6
    # only the identity among the 4! relabellings keeps the six pair values in order
    assert o["o4_mantel_p"] == pytest.approx(1 / 24) and o["o4_mantel_relabellings"] == 24
    assert o["o2_confidence_falls_with_nfeat"] is True
    assert o["o3_models_rise_with_frequency"] is True
    assert o["o4_shared_error_rises_with_shared_features"] is True
    assert o["o1_long_tail"] is True
    assert o["o1_top10_share"] == pytest.approx(100 / 125)
    assert o["o1_top10_uniform_share"] == pytest.approx(0.1)
    assert o["o1_median_over_max"] == pytest.approx(1.5 / 100)
    assert o["o1_frac_below_10pct_max"] == pytest.approx(0.8)
    assert o["o1_skewness"] > 0 and 0 < o["o1_gini"] < 1
    # reversed directions
    o2 = FD.observations(conf, nfeat[::-1], freq, n_models[::-1], sf, -se)
    assert o2["o2_spearman_rho"] == pytest.approx(1.0)
    assert not o2["o2_confidence_falls_with_nfeat"]
    assert not o2["o3_models_rise_with_frequency"]
    assert not o2["o4_shared_error_rises_with_shared_features"]
    # the verdicts: rho = -1 over 8 points and +1 over 10 features decide O.2 and O.3; with 4
    # models the smallest Mantel p is 1/24 = 0.042 < 0.05, so O.4 holds, and fails reversed
    v, v2 = o["verdicts"], o2["verdicts"]
    assert v["o2_confidence_falls_with_nfeat"]["verdict"] == "holds"
    assert v["o3_models_rise_with_frequency"]["verdict"] == "holds"
    assert v["o4_shared_error_rises_with_shared_features"]["verdict"] == "holds"
    assert v2["o2_confidence_falls_with_nfeat"]["verdict"] == "fails"
    assert v2["o3_models_rise_with_frequency"]["verdict"] == "fails"
    assert v2["o4_shared_error_rises_with_shared_features"]["verdict"] == "fails"
    assert FD.observations(conf, nfeat, freq, n_models, sf, se, alpha=0.04)["verdicts"][
        "o4_shared_error_rises_with_shared_features"]["verdict"] == "undecided"
    # O.1 on 10 features, one holding 100 of 125 incidences: the bootstrap over features
    # often drops that feature, so the interval cannot exclude the uniform case: undecided
    assert v["o1_long_tail"]["verdict"] == "undecided"
    heavy = np.r_[np.full(20, 60.0), np.ones(180)]           # 200 features, the top 10% hold 87%
    assert FD.observations(conf, nfeat, heavy, np.ones(200), sf, se)["verdicts"]["o1_long_tail"][
        "verdict"] == "holds"
    flat = np.random.default_rng(0).integers(9, 12, 200).astype(float)   # near-uniform: ratio ≈ 1.1
    assert FD.observations(conf, nfeat, flat, np.ones(200), sf, se)["verdicts"]["o1_long_tail"][
        "verdict"] == "fails"


def test_observations_constant_inputs_are_nan_and_false():
    o = FD.observations(np.ones(5), np.arange(5), np.full(10, 7), np.arange(10), np.ones((3, 3)),
                       np.full((3, 3), np.nan))
    assert o["o1_gini"] == pytest.approx(0.0)
    assert math.isnan(o["o1_skewness"]) and not o["o1_long_tail"]
    assert math.isnan(o["o2_spearman_rho"]) and math.isnan(o["o2_spearman_p"])
    assert not o["o2_confidence_falls_with_nfeat"]
    assert math.isnan(o["o3_spearman_rho"]) and not o["o3_models_rise_with_frequency"]
    assert math.isnan(o["o4_spearman_rho"]) and o["o4_n_pairs"] == 0
    assert not o["o4_shared_error_rises_with_shared_features"]
    assert all(v["verdict"] in ("no verdict", "undecided") for v in o["verdicts"].values())
    json.dumps(o)


# --------------------------------------------------------------------------- ground truth

def gt_case():
    """8 points, 2 classes, motifs_per_class = 4, t_d = 2 (dominant motifs 0, 1, 4, 5).

    f0 = motif 0 exactly, f1 = all dominant points, f2 = motif 2 exactly, f3 = all rare
    points, f4 = nobody, f5 = motif 7 exactly. Rare points hold 2 features each, dominant
    points 2, 2, 1, 1.
    """
    truth = pd.DataFrame({
        "index": np.arange(8),
        "label": [0, 0, 1, 1, 0, 0, 1, 1],
        "dominant": [True] * 4 + [False] * 4,
        "motifs": [np.array(m) for m in ([0, 1], [0], [4, 5], [4], [2, 3], [2], [6, 7], [7])],
        "blue_level": np.linspace(0, 1, 8),
        "rare_pool": [4] * 8,
    })
    psi = {0: [0, 1], 1: [0, 1], 2: [1], 3: [1], 4: [2, 3], 5: [2, 3], 6: [3, 5], 7: [3, 5]}
    rows = [(m, n, t) for n, ts in psi.items() for t in ts for m in range(2)]
    trip = pd.DataFrame(rows, columns=["model", "point", "feature"]).astype(np.int32)
    conf = np.array([1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5])
    return truth, trip, conf


def test_ground_truth_recovery_constructed_case():
    truth, trip, conf = gt_case()
    nfeat = it.features_per_point(trip, 8)
    # rows in any order, motifs as arrays (as read back from Parquet)
    summary, fig, df = FD.ground_truth_recovery(truth.sample(frac=1, random_state=0), nfeat, conf,
                                               trip, 6, motifs_per_class=4, t_d=2)
    json.dumps(summary)
    assert list(df.columns) == ["feature", "frequency", "best_motif", "best_motif_kind", "purity",
                                "dominant_share"]
    assert df["frequency"].tolist() == [2, 4, 2, 4, 0, 2]
    assert df["best_motif"].tolist() == [0, 0, 2, 2, -1, 7]
    assert df["best_motif_kind"].tolist() == ["dominant", "dominant", "rare", "rare", "none", "rare"]
    np.testing.assert_allclose(df["purity"], [1, 0.5, 1, 0.5, np.nan, 1], equal_nan=True)
    np.testing.assert_allclose(df["dominant_share"], [1, 1, 0, 0, np.nan, 0], equal_nan=True)
    assert summary["rare_points_hold_more_features"] is True
    assert summary["rare_points_lower_confidence"] is True
    assert summary["mean_nfeat_dominant"] == pytest.approx(1.5)
    assert summary["mean_nfeat_rare"] == pytest.approx(2.0)
    assert summary["mean_confidence_dominant"] == 1.0 and summary["mean_confidence_rare"] == 0.5
    assert summary["auc_nfeat_rare"] == pytest.approx(0.75)
    assert summary["mannwhitney_p_confidence"] < 0.05
    assert summary["frac_features_mostly_rare"] == pytest.approx(0.6)
    assert summary["mean_purity"] == pytest.approx(0.8)
    assert summary["motifs_present"] == 8
    assert summary["motifs_present_dominant"] == 4 and summary["motifs_present_rare"] == 4
    assert summary["motifs_recovered"] == 3
    assert summary["motifs_recovered_dominant"] == 1 and summary["motifs_recovered_rare"] == 2
    assert summary["n_dominant_points"] == 4 and summary["n_rare_points"] == 4
    assert len(fig.axes) >= 3


def test_ground_truth_recovery_reversed_case():
    """Swap the roles: now dominant points hold more features and are less confident."""
    truth, trip, conf = gt_case()
    truth = truth.assign(dominant=~truth["dominant"])
    nfeat = it.features_per_point(trip, 8)
    summary, _, df = FD.ground_truth_recovery(truth, nfeat, conf, trip, 6, 4, 2)
    assert summary["rare_points_hold_more_features"] is False
    assert summary["rare_points_lower_confidence"] is False
    assert summary["auc_nfeat_rare"] == pytest.approx(0.25)
    np.testing.assert_allclose(df["dominant_share"], [0, 0, 1, 1, np.nan, 1], equal_nan=True)


def test_ground_truth_recovery_rejects_mismatched_truth():
    truth, trip, conf = gt_case()
    with pytest.raises(ValueError):
        FD.ground_truth_recovery(truth.iloc[:7], it.features_per_point(trip, 8), conf, trip, 6, 4, 2)


# --------------------------------------------------------------------------- save

def test_save_writes_png_and_csv(tmp_path, trip):
    fig, df = F.fig2b_frequency(np.array(FREQ))
    png, csv = tmp_path / "a" / "fig2b.png", tmp_path / "b" / "c" / "fig2b.csv"
    save(fig, df, png, csv, dpi=50)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(csv)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    # NaN densities round-trip as empty cells
    fig, df = F.fig2c_density_by_confidence(trip, CONF, T)
    save(fig, df, tmp_path / "c.png", tmp_path / "c.csv")
    assert pd.read_csv(tmp_path / "c.csv")["high_density"].isna().sum() == 3


def test_every_figure_renders_with_one_and_three_channels(tmp_path, trip):
    inc = it.incidence_matrix(trip, N, T)
    for ch in (1, 3):
        imgs = make_images(N, ch)
        outs = [IM.fig1_extremes(np.array(NFEAT), LABELS, imgs, NAMES),
                IM.fig9_neighbours(inc, imgs, LABELS, [0, 3], 3, NAMES),
                IM.fig10_single_feature_images(trip, np.array(FREQ), imgs, LABELS, 3)]
        for k, (fig, df) in enumerate(outs):
            save(fig, df, tmp_path / f"{ch}_{k}.png", tmp_path / f"{ch}_{k}.csv", dpi=40)
            assert (tmp_path / f"{ch}_{k}.png").stat().st_size > 0
