"""Tests of featurelab.theory_empirical (parameters of Jiang, Baek, Kolter (2024) §5 estimated from an
interaction tensor) and featurelab.theory_figures (Figures 4, 16, 5a).

The estimators are checked on tensors sampled from the theory's own generative story
(:func:`featurelab.theory_empirical.story_tensor`), where the true parameters are known.
Tolerances are about three standard deviations of each estimator over seeds, measured on
the same settings (8 seeds): p_d ± 0.03, n_d ± 0.3, t_d ± 1, t_r and n_r within 15 %,
ζ ± 0.02.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from featurelab import theory as E
from featurelab import theory as T
from featurelab.figures import save
from featurelab.interaction import feature_frequency
from featurelab.theory import figures as F

TRUE = {"p_d": 0.7, "c": 20, "t_d": 20, "t_r": 60, "n_d": 5, "n_r": 10}
ZETA = 0.85


@pytest.fixture(scope="module")
def story4():
    """4 classes, 20 models, 4000 points; rare coverage ≈ 64 % (many rare features unseen)."""
    return E.story_tensor(TRUE, M=20, N=4000, num_classes=4, zeta=ZETA, seed=0)


@pytest.fixture(scope="module")
def est4(story4):
    s = story4
    return E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"],
                                 s["predictions"], s["labels"])


# ------------------------------------------------------------------ the story generator ----

def test_story_tensor_follows_the_story(story4):
    s = story4
    tr = s["triplets"]
    assert list(tr.columns) == ["model", "point", "feature"]
    assert all(tr[c].dtype == np.int32 for c in tr.columns)
    per = TRUE["t_d"] + TRUE["t_r"]
    assert s["T"] == 4 * per
    # each model holds c/2 features per class: c_d = 7 dominant, c_r = 3 rare
    assert s["clusters"].shape == (20, 4 * 10)
    for m in range(3):
        held = np.unique(s["clusters"][m])
        assert held.size == 40
        local = held % per
        assert (local < TRUE["t_d"]).sum() == 4 * 7
    # a point's features belong to its class; a model is right wherever Ω has an entry
    assert np.all(tr["feature"].to_numpy() // per == s["labels"][tr["point"].to_numpy()])
    hit = np.zeros((s["M"], s["N"]), dtype=bool)
    hit[tr["model"], tr["point"]] = True
    assert np.all(s["predictions"][hit] == np.broadcast_to(s["labels"], hit.shape)[hit])


# ------------------------------------------------------------------ estimators -------------

def test_estimates_recover_true_parameters(est4):
    e = est4
    assert e["p_d_hat"] == pytest.approx(0.7, abs=0.03)
    assert e["n_d_hat"] == pytest.approx(5, abs=0.3)
    assert e["t_d_hat"] == pytest.approx(20, abs=1)
    assert e["t_r_hat"] == pytest.approx(60, rel=0.15)
    assert e["n_r_hat"] == pytest.approx(10, rel=0.15)
    assert e["c"] == 20 and e["c_hat"] == pytest.approx(20)
    assert (e["c_d"], e["c_r"]) == (7, 3)
    assert e["h_d"] == pytest.approx(7) and e["h_r"] == pytest.approx(3)
    # the rounded, valid integers are the truth here
    assert {k: e[k] for k in ("c", "t_d", "n_d")} == {"c": 20, "t_d": 20, "n_d": 5}
    assert abs(e["t_r"] - 60) <= 9 and abs(e["n_r"] - 10) <= 1
    assert e["p_d"] == pytest.approx(0.7, abs=0.03)
    # every (class, dominant feature) pair found, and nothing else counted dominant
    assert e["n_dominant_pairs"] == 4 * 20
    # shared errors: 4 classes, guessing models copy w.p. κ = 2ζ − 1 → ζ recovered
    assert e["zeta_method"] == "shared_error"
    assert e["zeta_eta"] == pytest.approx(ZETA, abs=0.02)
    assert e["zeta"] == {"family": "constant", "eta": e["zeta_eta"]}
    assert e["adjustments"] == []
    T.Params(**{k: e[k] for k in E.PARAM_NAMES})   # valid
    json.dumps(e, allow_nan=False)                  # strict JSON


def test_coverage_is_what_needs_correcting(est4):
    """Without the correction t_r and n_r are biased low by the rare coverage (~64 %)."""
    e = est4
    cov = 1 - (1 - 3 / 60) ** 20
    assert e["t_r_observed"] == pytest.approx(60 * cov, rel=0.1)
    assert e["n_r_observed"] == pytest.approx(10 * cov, rel=0.1)
    assert e["coverage_r"] == pytest.approx(cov, rel=0.1)
    assert e["t_d_observed"] == 20


def test_no_coverage_correction_reports_raw_counts(story4):
    s = story4
    e = E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"],
                              s["predictions"], s["labels"], coverage_correction=False)
    assert e["t_r_hat"] == e["t_r_observed"]
    assert e["n_r_hat"] == e["n_r_observed"]
    assert e["p_d_hat"] == e["p_d_observed"]
    assert e["t_r"] < 50


def test_point_classification_and_split_rules(story4):
    s = story4
    from featurelab.interaction import incidence_matrix
    inc = incidence_matrix(s["triplets"], s["N"], s["T"])
    counts, share, sizes = E.class_frequencies(inc, s["labels"], 4)
    assert counts.shape == (4, s["T"]) and sizes.sum() == s["N"]
    truth = np.zeros((4, s["T"]), dtype=bool)
    for y in range(4):
        truth[y] = s["feature_dominant"] & (np.arange(s["T"]) // 80 == y)
    for rule in ("otsu", "gap"):
        dom, cut = E.split_features(share, rule)
        assert np.array_equal(dom, truth), rule
        assert 0 < cut <= share[truth].min()
    d, r, pdom = E.classify_points(inc, truth, counts > 0, s["labels"])
    # a dominant point is recognised unless none of its features is held by any model
    assert np.mean(pdom == s["point_dominant"]) > 0.99
    assert np.all(r[pdom] == 0) and np.all(d[~pdom] == 0)
    # mass: the top features covering 80 % of Σ share
    dom, cut = E.split_features(share, "mass", mass=0.8)
    f = share[share > 0]
    assert f[f >= cut].sum() >= 0.8 * f.sum() - 1e-9
    assert f[f > cut].sum() < 0.8 * f.sum()
    dom, _ = E.split_features(share, "fixed", threshold=0.1)
    assert np.array_equal(dom, share >= 0.1)
    # no split possible: every observed entry dominant
    dom, cut = E.split_features(np.array([0, 3, 3, 3]), "otsu")
    assert dom.tolist() == [False, True, True, True] and cut == 3
    with pytest.raises(ValueError):
        E.split_features(share, "median")


def test_binary_story_uses_omega_zeta():
    s = E.story_tensor(TRUE, M=20, N=3000, num_classes=2, zeta=0.8, seed=1)
    e = E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"],
                              s["predictions"], s["labels"])
    assert e["zeta_method"] == "omega"
    assert e["zeta_eta"] == pytest.approx(0.8, abs=0.02)
    assert e["p_d_hat"] == pytest.approx(0.7, abs=0.03)
    assert e["t_r_hat"] == pytest.approx(60, rel=0.15)
    # the cut lies between the two frequency levels of the story
    assert e["n_dominant_pairs"] == 2 * 20 and e["n_dominant_features"] == 40
    freq = feature_frequency(s["triplets"], s["T"])
    sizes = np.bincount(s["labels"], minlength=2)
    share = freq / sizes[np.arange(s["T"]) // 80]
    assert share[~s["feature_dominant"]].max() < e["frequency_cut"] <= share[s["feature_dominant"]].min()
    with pytest.raises(ValueError, match="more than 2 classes"):
        E.estimate_zeta(s["predictions"], s["labels"], 2, method="shared_error")


def test_estimates_without_clusters_or_predictions(story4):
    s = story4
    e = E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], None, None, s["labels"])
    assert e["zeta_eta"] == 0.9 and e["zeta_method"] == "default"
    assert e["c"] == 20          # holdings from Ω: every held feature fires at some point
    e = E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"],
                              s["predictions"], s["labels"], zeta=0.7)
    assert e["zeta_eta"] == 0.7 and e["zeta_method"] == "fixed"


def test_solve_total_features():
    t, capped = E.solve_total_features(U=60 * (1 - (1 - 3 / 60) ** 20), h=3, M=20)
    assert t == pytest.approx(60, rel=1e-9) and not capped
    assert E.solve_total_features(5, 5, 1) == (5.0, False)          # one model: no overlap info
    t, capped = E.solve_total_features(U=60, h=3, M=20, t_max_factor=10)  # never overlap
    assert capped and t == 600


def test_degenerate_tensor_gives_valid_params():
    """Tiny, badly behaved tensor: estimates are clipped to valid Params, adjustments listed."""
    tr = pd.DataFrame({"model": [0, 0, 1], "point": [0, 1, 1], "feature": [0, 0, 1]}).astype(np.int32)
    e = E.estimate_parameters(tr, 2, 4, 3, None, np.array([[0, 1, 0, 1], [0, 1, 1, 1]]),
                              np.array([0, 1, 0, 1]))
    T.Params(**{k: e[k] for k in E.PARAM_NAMES})
    assert e["adjustments"]
    assert np.isfinite(E.predict(e)["accuracy"])


# ------------------------------------------------------------------ predict / measured -----

def test_predict_equals_closed_forms():
    p = E.predict(TRUE, {"family": "constant", "eta": ZETA})
    assert p["accuracy"] == T.accuracy(**TRUE)
    assert p["agreement"] == T.agreement(**TRUE, zeta={"family": "constant", "eta": ZETA})
    assert p["difference"] == pytest.approx(p["accuracy"] - p["agreement"])
    # default zeta is §5.2's, and the estimate dict's own "zeta" entry is used
    assert E.predict(T.DEFAULTS)["agreement"] == pytest.approx(0.8832049037850723, abs=1e-12)
    assert E.predict({**TRUE, "zeta": {"family": "constant", "eta": 0.6}})["agreement"] == \
        T.agreement(**TRUE, zeta={"family": "constant", "eta": 0.6})
    # the C-class reading reduces to the paper at C = 2 and lowers accuracy as C grows
    p2 = E.predict(TRUE, {"family": "constant", "eta": ZETA}, num_classes=2)
    assert p2["accuracy"] == p["accuracy"]
    p10 = E.predict(TRUE, {"family": "constant", "eta": ZETA}, num_classes=10)
    cf = T.closed_form(T.Params(**TRUE))
    assert p10["accuracy"] == pytest.approx(0.7 * (1 - 0.9 * cf["m_d"]) + 0.3 * (1 - 0.9 * cf["m_r"]))
    assert p10["accuracy"] < p["accuracy"]


def test_predict_matches_measured_on_the_story(story4):
    """End to end: the story's ensemble has the accuracy/agreement the closed forms give
    (C-class reading, since the story has 4 classes), within Monte Carlo error."""
    m = E.measured(story4["predictions"], story4["labels"])
    p = E.predict(TRUE, {"family": "constant", "eta": ZETA}, num_classes=4)
    assert m["accuracy"] == pytest.approx(p["accuracy"], abs=0.01)
    assert m["agreement"] == pytest.approx(p["agreement"], abs=0.01)


def test_measured_by_hand():
    preds = np.array([[0, 1, 1, 2],
                      [0, 1, 0, 2],
                      [1, 1, 0, 0]])
    y = np.array([0, 1, 0, 2])
    m = E.measured(preds, y)
    acc = np.array([3 / 4, 1.0, 2 / 4])
    agr = np.array([3 / 4, 1 / 4, 2 / 4])   # pairs (0,1), (0,2), (1,2)
    assert m["accuracy"] == pytest.approx(acc.mean())
    assert m["accuracy_std"] == pytest.approx(acc.std(ddof=1))
    assert m["agreement"] == pytest.approx(agr.mean())
    assert m["agreement_std"] == pytest.approx(agr.std(ddof=1))
    assert m["difference"] == pytest.approx(acc.mean() - agr.mean())
    pair_diff = np.array([(acc[0] + acc[1]) / 2 - agr[0], (acc[0] + acc[2]) / 2 - agr[1],
                          (acc[1] + acc[2]) / 2 - agr[2]])
    assert m["difference_std"] == pytest.approx(pair_diff.std(ddof=1))
    assert (m["n_models"], m["n_points"], m["n_pairs"]) == (3, 4, 3)
    one = E.measured(preds[:1], y)
    assert math.isnan(one["agreement"]) and math.isnan(one["accuracy_std"])


def test_estimate_zeta_by_hand():
    # 4 classes; models 0 and 1 both wrong on points 0-3, same wrong label on 0-2: s = 3/4
    y = np.zeros(6, dtype=int)
    preds = np.array([[1, 2, 3, 1, 0, 0],
                      [1, 2, 3, 2, 0, 0]])
    z = E.estimate_zeta(preds, y, num_classes=4)
    s, C = 3 / 4, 4
    kappa = (s * (C - 1) - 1) / (C - 1 - s)
    assert z["rate"] == s and z["n_events"] == 4 and z["n_pairs"] == 1
    assert z["kappa"] == pytest.approx(kappa)
    assert z["eta"] == pytest.approx((1 + kappa) / 2)
    # chance-level shared errors map to ζ = 1/2; always the same mistake to ζ = 1
    assert E.estimate_zeta(np.array([[1, 2, 3], [2, 3, 1]]), np.zeros(3, int), 4)["eta"] == 0.5
    assert E.estimate_zeta(np.array([[1, 2], [1, 2]]), np.zeros(2, int), 4)["eta"] == 1.0
    # pairs sharing no feature are left out
    z = E.estimate_zeta(preds, y, 4, holdings=np.array([[1, 0], [0, 1]], dtype=bool))
    assert z["n_pairs"] == 0 and z["eta"] == 0.9 and z["note"]


# ------------------------------------------------------------------ tables and scoring -----

def test_compare_table_and_figure(est4, story4):
    m = E.measured(story4["predictions"], story4["labels"])
    pred = {"paper (binary)": E.predict(est4), "4-class guessing": E.predict(est4, num_classes=4)}
    tab = E.compare_table(est4, m, pred, label="story")
    assert len(tab) == 6
    for col in ("label", "variant", "quantity", "measured", "measured_std", "predicted",
                "predicted_minus_measured", *E.PARAM_NAMES, "zeta_eta", "num_classes"):
        assert col in tab.columns
    row = tab[(tab["variant"] == "4-class guessing") & (tab["quantity"] == "accuracy")].iloc[0]
    assert row["predicted"] == pred["4-class guessing"]["accuracy"]
    assert row["measured"] == m["accuracy"]
    single = E.compare_table(est4, m, E.predict(est4))
    assert single["variant"].unique().tolist() == ["paper (binary)"] and len(single) == 3
    fig, df = F.fig_theory_vs_experiment(pd.concat([tab, single.assign(label="other")]))
    assert len(df) == 9 and len(fig.axes) == 3


def test_score_against_truth(est4):
    truth = {"p_d": 0.7, "t_d": 20, "t_r": 60, "n_d": 5, "n_r": 10, "t_r_effective": 45.0}
    sc = E.score_against_truth(est4, truth)
    assert list(sc.columns[:5]) == ["parameter", "true", "estimated", "abs_error", "rel_error"]
    assert sc["parameter"].tolist() == ["p_d", "t_d", "t_r", "n_d", "n_r", "t_r (effective)"]
    r = sc.set_index("parameter")
    assert r.loc["t_r", "abs_error"] == abs(est4["t_r"] - 60)
    assert r.loc["t_r (effective)", "estimated"] == est4["t_r"]
    assert r.loc["t_r (effective)", "rel_error"] == pytest.approx(abs(est4["t_r"] - 45) / 45)
    assert r.loc["p_d", "estimated_raw"] == est4["p_d_hat"]


def test_synthetic_truth():
    from featurelab.data.synthetic import WorldConfig
    cfg = WorldConfig()
    truth = pd.DataFrame({"dominant": [True, False, False, True],
                          "rare_pool": [40, 20, 30, 10]})
    t = E.synthetic_truth(cfg, truth)
    assert {k: t[k] for k in ("p_d", "t_d", "t_r", "n_d", "n_r")} == \
        {"p_d": 0.7, "t_d": 5, "t_r": 40, "n_d": 2, "n_r": 3}
    assert t["t_r_effective"] == 25.0 and t["p_d_empirical"] == 0.5
    d = cfg.to_dict()
    d["blue_tie"]["enabled"] = False
    assert E.synthetic_truth(d)["t_r_effective"] == 40.0
    assert "t_r_effective" not in E.synthetic_truth(cfg.to_dict())


# ------------------------------------------------------------------ theory figures ---------

def test_fig4_with_simulated_points():
    sweep = T.sweep_fig4(ranges={"p_d": (0.3, 0.7, 1.0), "c": (10, 20)},
                         coupled={"n_r": ("n_d", (10, 20, 30))})
    sim = E.simulate_fig4_points(sweep, every=2, n_pairs=300, n_points=20)
    # every other row per ablation plus the last: p_d 0.3, 1.0; c 10, 20; n_r 10, 30
    assert len(sim) == 6
    for col in ("accuracy_se", "agreement_se", "accuracy_cf", "z_accuracy", "seed"):
        assert col in sim.columns
    assert (sim["accuracy_se"] > 0).all()
    fig, df = F.fig4(sweep, sim)
    assert len(df) == len(sweep) == 8
    assert {"ablation", "value", "accuracy", "agreement", "sim_accuracy",
            "sim_agreement_se"} <= set(df.columns)
    assert df["sim_accuracy"].notna().sum() == 6
    assert len([a for a in fig.axes if a.get_visible()]) == 3
    fig, df = F.fig4(sweep)
    assert "sim_accuracy" not in df.columns


def test_fig16_and_fig5a(tmp_path):
    sweep = T.sweep_fig16(ranges={"p_d": (0.5, 0.7), "t_r+t_d": (100, 200)},
                          etas={"constant": (0.6, 0.9), "step": (1, 3)})
    fig, df = F.fig16(sweep)
    assert len(df) == 2 * 2 * 2 * 2
    assert {"zeta_family", "eta", "ablation", "value", "difference"} <= set(df.columns)
    save(fig, df, tmp_path / "a" / "fig16.png", tmp_path / "a" / "fig16.csv")
    assert (tmp_path / "a" / "fig16.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "a" / "fig16.csv")) == len(df)
    fig, df = F.fig5a(T.sweep_fig5a(betas=(0.0, 0.3, 0.6)))
    assert df.columns.tolist() == ["beta", "bound", "p_d", "t_d", "t_r", "n_d", "n_r"]
    assert df["bound"].is_monotonic_increasing and df["bound"].iloc[0] == 0.5


def test_estimates_are_strict_json_without_predictions(story4):
    s = story4
    e = E.estimate_parameters(s["triplets"], s["M"], s["N"], s["T"], s["clusters"])
    assert e["zeta_rate"] is None and e["num_classes"] == 1
    json.dumps(e, allow_nan=False)
