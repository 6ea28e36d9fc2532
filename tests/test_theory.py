"""Tests of featurelab.theory: closed forms of Jiang, Baek, Kolter (2024) §5 against the paper's numbers,
hand computations, brute-force enumeration and the Monte Carlo simulation."""
from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from featurelab import theory as T

F = Fraction


# ------------------------------------------------------------------ §5.2 defaults ----

def test_defaults_match_spec():
    acc = T.accuracy(**T.DEFAULTS)
    agr = T.agreement(**T.DEFAULTS, zeta={"family": "constant", "eta": 0.9})
    assert round(acc, 4) == 0.8447
    assert round(agr, 4) == 0.8832
    # pinned to more digits so silent formula changes are caught
    assert acc == pytest.approx(0.8447080553997084, abs=1e-12)
    assert agr == pytest.approx(0.8832049037850723, abs=1e-12)
    # default zeta of agreement() is the §5.2 one, in every accepted spelling
    assert T.agreement(**T.DEFAULTS) == agr
    assert T.agreement(**T.DEFAULTS, zeta="constant") == agr
    assert T.agreement(**T.DEFAULTS, zeta=T.zeta_constant(0.9)) == agr
    assert T.agreement(**T.DEFAULTS, zeta=lambda k, c: 0.9 * (k > 0)) == pytest.approx(agr, abs=1e-15)


def test_split_capacity_rounds_half_up():
    assert T.split_capacity(0.7, 20) == (7, 3)
    assert T.split_capacity(0.5, 10) == (3, 2)      # 2.5 -> 3 (Python's round gives 2)
    assert T.split_capacity(0.25, 4) == (1, 1)      # 0.5 -> 1
    assert T.split_capacity(0.3, 10) == (2, 3)      # 1.5 -> 2, exact despite float 0.3
    assert T.split_capacity(0.45, 10) == (2, 3)     # 2.25 -> 2
    assert T.split_capacity(1, 20) == (10, 0)
    assert T.split_capacity(0, 20) == (0, 10)
    p = T.Params(0.7, 20, 20, 180, 5, 10)
    assert (p.c_d, p.c_r) == (7, 3)


# ------------------------------------------------------------------ hand computations -------

def test_binom_convention():
    assert T.binom(5, 2) == 10
    assert T.binom(-1, 0) == 0 and T.binom(3, -1) == 0 and T.binom(2, 3) == 0
    assert T.binom(0, 0) == 1


def test_hypergeom_and_miss_by_hand():
    # t_d = 5 dominant features, model holds c_d = 2, point holds n_d = 2:
    # m_d = C(3,2)/C(5,2) = 3/10.
    assert T.miss_probability(5, 2, 2) == F(3, 10)
    # H(1; K=2, N=5, n=2) = C(2,1) C(3,1) / C(5,2) = 6/10
    assert T.hypergeom_pmf(1, 2, 5, 2) == F(3, 5)
    assert T.hypergeom_pmf(0, 2, 5, 2) == F(3, 10)
    assert T.hypergeom_pmf(2, 2, 5, 2) == F(1, 10)
    assert T.hypergeom_pmf(3, 2, 5, 2) == 0
    assert sum(T.hypergeom_pmf(a, 7, 20, 7) for a in range(8)) == 1
    # the default setting: m_d = C(13,5)/C(20,5) = 1287/15504
    cf = T.closed_form(T.DEFAULTS, exact=True)
    assert cf["m_d"] == F(1287, 15504)
    assert cf["m_r"] == F(math.comb(177, 10), math.comb(180, 10))
    # tiny setting by hand: p_d=1/2, c=4 (c_d=c_r=1), t_d=2, t_r=3, n_d=1, n_r=1
    cf = T.closed_form(T.Params(F(1, 2), 4, 2, 3, 1, 1), zeta=lambda k, c: F(1), exact=True)
    assert (cf["m_d"], cf["m_r"]) == (F(1, 2), F(2, 3))
    assert cf["accuracy"] == F(1, 2) * (1 - F(1, 4)) + F(1, 2) * (1 - F(1, 3))
    assert cf["q1"] == F(1, 2) * F(1, 4) + F(1, 2) * F(1, 9)
    # both miss a dominant point (1/4): the dominant features coincide (only 1 left), rare
    # ones coincide w.p. 1/3 -> k=1 w.p. 2/3, k=2 w.p. 1/3.
    # both miss a rare point (4/9): rare coincide w.p. 1/2, dominant w.p. 1/2.
    q2 = cf["q2"]
    assert q2[0] == F(1, 2) * F(4, 9) * F(1, 4)
    assert q2[1] == F(1, 2) * F(1, 4) * F(2, 3) + F(1, 2) * F(4, 9) * F(1, 2)
    assert q2[2] == F(1, 2) * F(1, 4) * F(1, 3) + F(1, 2) * F(4, 9) * F(1, 4)


def test_prefactor_identity_and_q2_mass():
    """Prop. 5.2's prefactor C(t−n,c)/C(t,c) equals the proof's C(t−c,n)/C(t,n) (eq. 30), and
    Σ_k q2(k) is the probability that both models miss the point."""
    for t in range(0, 12):
        for c in range(0, t + 1):
            for n in range(0, t + 1):
                assert F(T.binom(t - n, c), T.binom(t, c)) == T.miss_probability(t, c, n)
    for prm in [T.Params(**T.DEFAULTS), T.Params(0.3, 12, 9, 30, 4, 7), T.Params(1, 10, 6, 5, 2, 5)]:
        cf = T.closed_form(prm, exact=True)
        p = prm.p_exact
        assert sum(cf["q2"]) == p * cf["m_d"] ** 2 + (1 - p) * cf["m_r"] ** 2
        assert all(q == 0 for q in cf["q2"][prm.c // 2 + 1:])


# ------------------------------------------------------------------ brute force -------------

def _brute_force(prm: T.Params, zeta) -> dict:
    """Exact enumeration over all model pairs and points with Fractions."""
    c_d, c_r = prm.c_d, prm.c_r
    models = [(frozenset(d), frozenset(r))
              for d in itertools.combinations(range(prm.t_d), c_d)
              for r in itertools.combinations(range(prm.t_r), c_r)]
    pm = F(1, len(models))
    dom_pts = list(itertools.combinations(range(prm.t_d), prm.n_d))
    rare_pts = list(itertools.combinations(range(prm.t_r), prm.n_r))
    p = prm.p_exact
    points = ([(p / len(dom_pts), 0, frozenset(x)) for x in dom_pts]
              + [((1 - p) / len(rare_pts), 1, frozenset(x)) for x in rare_pts])
    acc = q1 = agr = F(0)
    q2 = [F(0)] * (prm.c + 1)
    for w, kind, x in points:
        hits = [bool(m[kind] & x) for m in models]
        acc += w * pm * sum(F(1) if h else F(1, 2) for h in hits)
        for (f, hf), (g, hg) in itertools.product(zip(models, hits), repeat=2):
            wp = w * pm * pm
            k = len(f[0] & g[0]) + len(f[1] & g[1])
            if hf and hg:
                q1 += wp
                agr += wp
            elif not hf and not hg:
                q2[k] += wp
                agr += wp * (F(zeta(k, prm.c)) if k > 0 else F(1, 2))
            else:
                agr += wp / 2
    return {"accuracy": acc, "q1": q1, "q2": tuple(q2), "agreement": agr}


TINY = [
    (F(1, 2), 2, 3, 4, 1, 1),   # c_d = 1 (tie rounded up), c_r = 0
    (0.7, 4, 3, 4, 1, 2),       # c_d = 1, c_r = 1
    (F(1, 3), 4, 3, 4, 2, 1),
    (0.5, 6, 3, 4, 2, 2),       # c_d = 2 (1.5 up), c_r = 1
    (0.25, 4, 3, 4, 1, 2),
    (0.2, 6, 3, 4, 2, 1),       # c_d = 1, c_r = 2
    (0.9, 4, 3, 4, 2, 2),       # c_r = 0
    (0.1, 8, 3, 4, 1, 2),       # c_d = 0, c_r = 4 = t_r
    (0.5, 4, 3, 4, 0, 1),       # dominant points hold no feature
    (0.6, 4, 3, 4, 3, 4),       # points hold every feature of their type
]
EXACT_ZETAS = [
    T.zeta_constant(F(9, 10)),
    T.zeta_proportional(F(3, 2)),
    T.zeta_step(1, F(4, 5)),
    lambda k, c: F(k, k + 1),
]


@pytest.mark.parametrize("setting", TINY)
def test_closed_forms_equal_brute_force(setting):
    prm = T.Params(*setting)
    for zeta in EXACT_ZETAS:
        bf = _brute_force(prm, zeta)
        cf = T.closed_form(prm, zeta=zeta, exact=True)
        assert cf["accuracy"] == bf["accuracy"]
        assert cf["q1"] == bf["q1"]
        assert cf["q2"] == bf["q2"]
        assert cf["agreement"] == bf["agreement"]
        assert T.accuracy(*setting) == pytest.approx(float(bf["accuracy"]), abs=1e-12)
        assert T.agreement(*setting, zeta=zeta) == pytest.approx(float(bf["agreement"]), abs=1e-12)


# ------------------------------------------------------------------ simulation --------------

SIM_SETTINGS = [
    dict(T.DEFAULTS),
    dict(p_d=0.3, c=20, t_d=20, t_r=180, n_d=5, n_r=10),
    dict(p_d=0.9, c=8, t_d=10, t_r=40, n_d=2, n_r=6),
    dict(p_d=0.5, c=30, t_d=25, t_r=60, n_d=3, n_r=4),
    dict(p_d=0.7, c=40, t_d=20, t_r=100, n_d=1, n_r=2),
    dict(p_d=0.6, c=12, t_d=6, t_r=12, n_d=2, n_r=3),
    dict(p_d=0.8, c=20, t_d=40, t_r=200, n_d=8, n_r=20),
    dict(p_d=0.45, c=10, t_d=5, t_r=8, n_d=5, n_r=1),
]
SIM_ZETAS = [
    {"family": "constant", "eta": 0.9},
    {"family": "constant", "eta": 0.6},
    {"family": "proportional", "eta": 1.9},
    {"family": "step", "eta": 1, "theta": 0.8},
    {"family": "step", "eta": 3, "theta": 0.55},
]


@pytest.mark.parametrize("i", range(len(SIM_SETTINGS)))
def test_simulation_matches_closed_forms(i):
    prm = T.Params(**SIM_SETTINGS[i])
    for j, zeta in enumerate(SIM_ZETAS):
        sim = T.simulate(prm, zeta, n_pairs=3000, n_points=40, seed=1000 * i + j)
        cf = T.closed_form(prm, zeta)
        for key in ("accuracy", "agreement", "difference"):
            se = sim[f"{key}_se"]
            assert se > 0
            assert abs(sim[key] - cf[key]) <= 4 * se, (prm, zeta, key, sim[key], cf[key], se)


def test_simulation_detects_wrong_zeta_semantics():
    """ζ is the agreement probability itself: a simulation in which sharing models agree with
    probability ζ + (1−ζ)/2 would differ from Prop. 5.2 by far more than the MC error here."""
    prm = T.Params(0.5, 20, 12, 30, 2, 3)
    cf = T.closed_form(prm, {"family": "constant", "eta": 0.6})
    wrong = T.closed_form(prm, {"family": "constant", "eta": 0.8})   # 0.6 + 0.4/2
    sim = T.simulate(prm, {"family": "constant", "eta": 0.6}, n_pairs=4000, n_points=50, seed=3)
    assert abs(sim["agreement"] - cf["agreement"]) <= 4 * sim["agreement_se"]
    assert abs(sim["agreement"] - wrong["agreement"]) > 8 * sim["agreement_se"]


def test_simulation_reproducible_and_validated():
    a = T.simulate(T.DEFAULTS, n_pairs=200, n_points=10, seed=5)
    b = T.simulate(T.DEFAULTS, n_pairs=200, n_points=10, seed=5)
    assert a == b
    assert a["n_samples"] == 2000
    with pytest.raises(ValueError, match="n_pairs"):
        T.simulate(T.DEFAULTS, n_pairs=1)
    with pytest.raises(ValueError, match="n_points"):
        T.simulate(T.DEFAULTS, n_points=0)


def test_subset_sampler_is_uniform():
    rng = np.random.default_rng(0)
    from featurelab.theory.simulation import _sample_subsets

    s = _sample_subsets(rng, 60_000, 5, 2)
    assert (s[:, 0] != s[:, 1]).all()
    keys = np.sort(s, axis=1) @ np.array([5, 1])
    counts = np.bincount(keys, minlength=25)[[5 * a + b for a, b in itertools.combinations(range(5), 2)]]
    expected = 6000
    assert ((counts - expected) ** 2 / expected).sum() < 30   # chi2 with 9 dof, p ≈ 4e-4


# ------------------------------------------------------------------ zeta ---------------------

def test_zeta_families():
    z = T.zeta_constant(0.9)
    assert z(0, 20) == 0 and z(1, 20) == 0.9 and z(10, 20) == 0.9
    z = T.zeta_proportional(1.5)
    assert z(4, 20) == pytest.approx(0.3) and z(20, 20) == 1 and z(14, 20) == 1
    z = T.zeta_step(3)
    assert z(1, 20) == 0.8 and z(3, 20) == 0.8 and z(4, 20) == 1
    assert T.make_zeta({"family": "step", "eta": 2, "theta": 0.6}) == T.zeta_step(2, 0.6)
    assert T.make_zeta(None) == T.zeta_constant(0.9)


def test_zeta_validation():
    with pytest.raises(ValueError, match="zeta"):
        T.agreement(**T.DEFAULTS, zeta=lambda k, c: 1.2)
    with pytest.raises(ValueError, match="zeta"):
        T.agreement(**T.DEFAULTS, zeta=lambda k, c: float("nan"))
    with pytest.raises(ValueError, match="family"):
        T.agreement(**T.DEFAULTS, zeta={"family": "cubic", "eta": 1})
    with pytest.raises(ValueError, match="eta"):
        T.agreement(**T.DEFAULTS, zeta="proportional")
    with pytest.raises(ValueError, match="eta"):
        T.zeta_constant(1.5)
    with pytest.raises(ValueError, match="theta"):
        T.zeta_step(2, theta=2)
    with pytest.raises(ValueError, match="unknown zeta keys"):
        T.make_zeta({"family": "constant", "eta": 0.9, "thetta": 1})


def test_agreement_monotone_in_eta():
    vals = [T.agreement(**T.DEFAULTS, zeta={"family": "constant", "eta": e}) for e in T.FIG16_ETAS["constant"]]
    assert all(a < b for a, b in zip(vals, vals[1:]))
    # ζ = 1/2 everywhere means independent guesses: Agr = 1/2 + q1/2
    cf = T.closed_form(T.DEFAULTS, exact=True)
    assert T.agreement(**T.DEFAULTS, zeta=lambda k, c: 0.5) == pytest.approx(float(F(1, 2) + cf["q1"] / 2), abs=1e-15)


# ------------------------------------------------------------------ validation ---------------

@pytest.mark.parametrize("kwargs, name", [
    (dict(n_d=21), "n_d"),
    (dict(n_r=181), "n_r"),
    (dict(p_d=1.5), "p_d"),
    (dict(p_d=-0.1), "p_d"),
    (dict(p_d=float("nan")), "p_d"),
    (dict(c=-2), "c"),
    (dict(t_d=-1), "t_d"),
    (dict(t_r=-5), "t_r"),
    (dict(n_d=-1), "n_d"),
    (dict(n_r=-3), "n_r"),
    (dict(c=21), "c"),
    (dict(c=20.5), "c"),
    (dict(t_r=180.5), "t_r"),
    (dict(n_d="5"), "n_d"),
    (dict(t_d=6), "c_d"),          # c_d = 7 > t_d = 6
    (dict(p_d=0.0, t_r=9, n_r=9, c=20), "c_r"),    # c_r = 10 > t_r = 9
])
def test_invalid_parameters_raise(kwargs, name):
    args = {**T.DEFAULTS, **kwargs}
    with pytest.raises(ValueError, match=name):
        T.accuracy(**args)
    with pytest.raises(ValueError, match=name):
        T.agreement(**args)
    with pytest.raises(ValueError, match=name):
        T.Params(**args)


def test_integral_floats_accepted():
    assert T.accuracy(0.7, 20.0, 20.0, 180.0, 5.0, 10.0) == T.accuracy(0.7, 20, 20, 180, 5, 10)


# ------------------------------------------------------------------ Lemma B.1 ----------------

def test_coverage_bound_hand_value_and_limits():
    # p_d=1/2, t_d=4, n_d=2, β_d=1/2: ⌊2⌋ -> C(2,2)/C(4,2) = 1/6 -> 1 − 1/12 = 11/12
    # t_r=5, n_r=1, β_r=0.4: ⌊3⌋ -> C(3,1)/C(5,1) = 3/5 -> 1 − 3/10 = 7/10
    assert T.coverage_bound(0.5, 0.4, 0.5, 4, 5, 2, 1) == pytest.approx(97 / 120, abs=1e-15)
    assert T.coverage_bound(1, 1, 0.7, 20, 180, 5, 10) == 1.0
    assert T.coverage_bound(0, 0, 0.7, 20, 180, 5, 10) == 0.5
    # (1−β)t floored exactly: β=0.9, t=20 -> 2 (float arithmetic would give 1.999...)
    assert T.coverage_bound(0.9, 0.9, 1, 20, 180, 2, 10) == pytest.approx(1 - 1 / (2 * 190), abs=1e-15)
    betas = np.linspace(0, 1, 41)
    vals = [T.coverage_bound(b, b, 0.7, 20, 180, 5, 10) for b in betas]
    assert all(a <= b for a, b in zip(vals, vals[1:]))
    with pytest.raises(ValueError, match="beta_d"):
        T.coverage_bound(1.2, 0.5, 0.7, 20, 180, 5, 10)
    with pytest.raises(ValueError, match="n_d"):
        T.coverage_bound(0.5, 0.5, 0.7, 20, 180, 25, 10)


def test_coverage_bound_dominates_accuracy():
    """Models restricted to the covered features (c_d ≤ β_d t_d, c_r ≤ β_r t_r) have accuracy
    at most the bound, with equality when the coverage is exactly the model's features."""
    rnd = random.Random(0)
    for _ in range(300):
        t_d, t_r = rnd.randint(1, 40), rnd.randint(1, 200)
        c = 2 * rnd.randint(0, 25)
        p_d = F(rnd.randint(0, 20), 20)
        c_d, c_r = T.split_capacity(p_d, c)
        if c_d > t_d or c_r > t_r:
            continue
        n_d, n_r = rnd.randint(0, t_d), rnd.randint(0, t_r)
        acc = T.accuracy(p_d, c, t_d, t_r, n_d, n_r)
        tight = T.coverage_bound(F(c_d, t_d), F(c_r, t_r), p_d, t_d, t_r, n_d, n_r)
        assert tight == pytest.approx(acc, abs=1e-12)
        bd = F(c_d, t_d) + (1 - F(c_d, t_d)) * F(rnd.randint(0, 10), 10)
        br = F(c_r, t_r) + (1 - F(c_r, t_r)) * F(rnd.randint(0, 10), 10)
        assert T.coverage_bound(bd, br, p_d, t_d, t_r, n_d, n_r) >= acc - 1e-15


# ------------------------------------------------------------------ sweeps -------------------

def test_sweep_fig4():
    df = T.sweep_fig4()
    assert list(df["ablation"].unique()) == ["p_d", "c", "t_d", "t_r", "n_d", "n_r", "t_r+t_d", "n_r+n_d"]
    for col in ("ablation", "parameter", "value", "accuracy", "agreement", "difference",
                "zeta_family", "eta", "c_d", "c_r"):
        assert col in df.columns
    assert np.allclose(df["difference"], df["accuracy"] - df["agreement"])
    assert (df["zeta_family"] == "constant").all() and (df["eta"] == 0.9).all()
    coupled = df[df["ablation"] == "t_r+t_d"]
    assert (coupled["t_d"] == np.floor(0.2 * coupled["t_r"] + 1e-9)).all()
    coupled = df[df["ablation"] == "n_r+n_d"]
    assert (coupled["n_d"] == (coupled["n_r"] // 5)).all()
    at_default = df[(df["ablation"] == "c") & (df["value"] == 20)].iloc[0]
    assert at_default["accuracy"] == pytest.approx(T.accuracy(**T.DEFAULTS))
    assert at_default["agreement"] == pytest.approx(T.agreement(**T.DEFAULTS))
    assert df[["accuracy", "agreement"]].apply(lambda s: s.between(0.5, 1).all()).all()


def test_sweep_fig16_and_fig5a():
    df = T.sweep_fig16()
    assert set(df["ablation"]) == {"p_d", "c", "n_r+n_d", "t_r+t_d"}
    assert set(df["zeta_family"]) == set(T.ZETA_FAMILIES)
    n_points = sum(len(v) for v in T.FIG16_RANGES.values())
    n_zetas = sum(len(v) for v in T.FIG16_ETAS.values())
    assert len(df) == n_points * n_zetas
    assert (df.loc[df["zeta_family"] == "step", "theta"] == 0.8).all()
    row = df[(df["ablation"] == "c") & (df["value"] == 20) & (df["zeta_family"] == "step")
             & (df["eta"] == 2)].iloc[0]
    assert row["agreement"] == pytest.approx(
        T.agreement(**T.DEFAULTS, zeta={"family": "step", "eta": 2, "theta": 0.8}))
    f5 = T.sweep_fig5a()
    assert f5["bound"].is_monotonic_increasing
    assert f5["bound"].iloc[0] == 0.5
