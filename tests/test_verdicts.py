"""The shared verdict module (featurelab.verdicts): Student-t intervals against scipy, the
bootstrap interval, the four verdicts, and collect() on a nested summary."""
import math

import numpy as np
import pytest
import scipy.stats

from featurelab.verdicts import (NO_VERDICT, bootstrap_interval, collect, correlation_interval, proportion_interval, side,
                                 t_interval, t_quantile, pvalue_verdict, verdict)


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_t_interval_matches_scipy(n):
    rng = np.random.default_rng(n)
    x = rng.normal(0.3, 0.1, n)
    got = t_interval(x)
    lo, hi = scipy.stats.t.interval(0.95, n - 1, loc=x.mean(), scale=scipy.stats.sem(x))
    assert got["n"] == n and got["mean"] == pytest.approx(x.mean())
    assert got["lo"] == pytest.approx(lo, rel=1e-12) and got["hi"] == pytest.approx(hi, rel=1e-12)


def test_t_quantile_is_wider_than_two_with_few_replicates():
    assert t_quantile(2) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(3) == pytest.approx(4.303, abs=1e-3)
    assert t_quantile(1000) == pytest.approx(1.962, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile(1)


def test_two_replicates_that_a_two_se_rule_would_call_hold_are_undecided():
    # the contamination headline on the other machine: 0.0425 ± 0.0035 over n = 2
    x = [0.039, 0.046]
    s = t_interval(x)
    assert s["mean"] - 2 * s["se"] > 0                     # the old rule's "holds"
    assert verdict("d > 0.05", (s, ">", 0.05))["verdict"] == "undecided"
    assert verdict("d > 0", (s, ">", 0.0))["verdict"] == "undecided"   # t_{.975,1} = 12.7: lo < 0


def test_one_replicate_gives_no_verdict_whatever_its_value():
    v = verdict("x > 0", (t_interval([5.0]), ">", 0.0))
    assert v["verdict"] == NO_VERDICT and v["holds"] is None
    assert v["basis"] == "one replicate: no verdict" and v["estimate"] == 5.0
    nan_dropped = t_interval([1.0, float("nan")])
    assert nan_dropped["n"] == 1 and nan_dropped["lo"] is None


def test_holds_fails_undecided_and_conjunction():
    hi = {"mean": 1.0, "lo": 0.5, "hi": 1.5, "n": 5}
    lo = {"mean": -1.0, "lo": -1.5, "hi": -0.5, "n": 5}
    mid = {"mean": 0.0, "lo": -0.5, "hi": 0.5, "n": 5}
    assert verdict("r", (hi, ">", 0))["verdict"] == "holds"
    assert verdict("r", (lo, ">", 0))["verdict"] == "fails"
    assert verdict("r", (mid, ">", 0))["verdict"] == "undecided"
    assert verdict("r", (lo, "<", 0))["verdict"] == "holds"
    assert verdict("r", (hi, ">", 0), (mid, ">", 0))["verdict"] == "undecided"
    assert verdict("r", (hi, ">", 0), (lo, ">", 0), (mid, ">", 0))["verdict"] == "fails"
    # the threshold itself is the other side
    assert side({"lo": 0.0, "hi": 1.0}, ">", 0.0) is None and side({"lo": -1.0, "hi": 0.0}, ">", 0.0) is False
    with pytest.raises(ValueError):
        side(hi, ">=", 0)


def test_bootstrap_interval_percentiles():
    draws = np.arange(1, 1001, dtype=float)
    b = bootstrap_interval(500.0, draws, n=7)
    assert b["lo"] == pytest.approx(np.percentile(draws, 2.5)) and b["hi"] == pytest.approx(np.percentile(draws, 97.5))
    assert b["mean"] == 500.0 and b["draws"] == 1000
    v = verdict("x > 0", (b, ">", 0.0))
    assert v["verdict"] == "holds" and "bootstrap" in v["basis"]
    assert math.isclose(bootstrap_interval(1.0, draws, level=0.5)["lo"], np.percentile(draws, 25))


def test_collect_walks_nested_summaries():
    s = {"a": {"b": verdict("r", (t_interval([1.0, 1.1, 1.2]), ">", 0))},
         "c": [verdict("q", (t_interval([1]), ">", 0))], "n": 3}
    rows = collect(s, study="demo")
    assert [r["finding"] for r in rows] == ["a.b", "c[0]"]
    assert [r["verdict"] for r in rows] == ["holds", NO_VERDICT]
    assert all(r["study"] == "demo" for r in rows)


def test_correlation_interval_fisher_z_matches_pearson_and_covers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(size=40)
    r = scipy.stats.pearsonr(x, y)
    got = correlation_interval(r.statistic, 40, spearman=False)
    ci = r.confidence_interval(0.95)          # scipy's Fisher-z interval
    assert got["lo"] == pytest.approx(ci.low, rel=1e-9) and got["hi"] == pytest.approx(ci.high, rel=1e-9)
    # Spearman's (Bonett-Wright) is wider than Pearson's at the same rho
    sp = correlation_interval(r.statistic, 40)
    assert sp["lo"] < got["lo"] and sp["hi"] > got["hi"]
    assert correlation_interval(0.9, 3)["lo"] is None
    # coverage by simulation: independent normals with rho = 0.5, n = 30
    cover = 0
    cov = [[1, 0.5], [0.5, 1]]
    true_rs = 6 / np.pi * np.arcsin(0.5 / 2)       # Spearman's rho of a binormal with rho = 0.5
    for i in range(400):
        d = rng.multivariate_normal([0, 0], cov, 30)
        s = correlation_interval(scipy.stats.spearmanr(d[:, 0], d[:, 1]).statistic, 30)
        cover += s["lo"] <= true_rs <= s["hi"]
    assert 0.90 <= cover / 400 <= 0.99


def test_proportion_interval_is_clopper_pearson():
    p = proportion_interval(2, 2)
    assert p["lo"] == pytest.approx(0.025 ** 0.5, rel=1e-6) and p["hi"] == 1.0   # (α/2)^(1/n)
    assert verdict("share > 0.5", (p, ">", 0.5))["verdict"] == "undecided"
    assert verdict("share > 0.5", (proportion_interval(10, 10), ">", 0.5))["verdict"] == "holds"
    assert verdict("share > 0.5", (proportion_interval(1, 1), ">", 0.5))["verdict"] == NO_VERDICT


def test_pvalue_verdict_directions():
    assert pvalue_verdict("rho > 0", 0.4, 0.01, 0.99)["verdict"] == "holds"
    assert pvalue_verdict("rho > 0", -0.4, 0.99, 0.01)["verdict"] == "fails"
    assert pvalue_verdict("rho > 0", 0.1, 0.30, 0.70)["verdict"] == "undecided"
    assert pvalue_verdict("rho < 0", -0.4, 0.99, 0.01, op="<")["verdict"] == "holds"
    assert pvalue_verdict("rho > 0", float("nan"), float("nan"), float("nan"))["verdict"] == NO_VERDICT


def test_findings_table_and_markdown():
    from featurelab.verdicts import findings_markdown, findings_table

    v = verdict("blue > super", (t_interval([0.1, 0.11, 0.12]), ">", 0.0))
    s = {"gde": {"x": v, "again": {"x": v}},
         "toy": {"verdict": verdict("share > 0.5", (proportion_interval(1, 1), ">", 0.5))}}
    t = findings_table(s)
    assert list(t.study) == ["gde", "toy"] and list(t.verdict) == ["holds", NO_VERDICT]
    md = findings_markdown(t)
    assert "| gde | x | 0.11 | [" in md and "**no verdict**" in md
    assert "holds: 1, no verdict: 1 (of 2 verdicts)" in md
    # a study without any verdict is still listed, saying why
    t = findings_table({**s, "diversity": {"finding": "no pairs in the window", "pool": {"n": 3}}})
    row = t[t.study == "diversity"].iloc[0]
    assert len(t) == 3 and row.verdict == NO_VERDICT and row.basis == "no pairs in the window"


def test_the_basis_names_the_interval_it_rests_on():
    from featurelab.verdicts import correlation_interval, proportion_interval, t_interval, verdict

    assert verdict("r > 0", (correlation_interval(0.5, 40), ">", 0.0))["basis"] == \
        "95% Fisher-z interval of a Spearman correlation over 40 points"
    assert "Pearson" in verdict("r > 0", (correlation_interval(0.5, 40, spearman=False), ">", 0.0))["basis"]
    assert verdict("k/n > .5", (proportion_interval(9, 10), ">", 0.5))["basis"] == \
        "95% Clopper-Pearson interval of a share of 10"
    assert verdict("m > 0", (t_interval([1.0, 2.0, 3.0]), ">", 0.0))["basis"] == \
        "95% Student-t interval over 3 replicates"
