"""The shared verdict module (featurelab.verdicts): Student-t intervals against scipy, the
bootstrap interval, the four verdicts, and collect() on a nested summary."""
import math

import numpy as np
import pytest
import scipy.stats

from featurelab.verdicts import NO_VERDICT, bootstrap_interval, collect, side, t_interval, t_quantile, verdict


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
