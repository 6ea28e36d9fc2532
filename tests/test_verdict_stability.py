"""analysis/verdict_stability.py and analysis/replicates_needed.py: verdicts of two runs side
by side (a results tree or a table a docs page recorded), and the replicates that would
decide an undecided verdict, against hand-made runs and closed forms."""
import json
import math
import sys
from pathlib import Path

import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis.replicates_needed import needed  # noqa: E402
from analysis.verdict_stability import markdown_findings, verdict_table  # noqa: E402

PAGE = """# A page

## Other

| study | finding | estimate [interval] | verdict |
|---|---|---|---|
| x | y | 1 [0, 2] | holds |

## The run

| study | finding | estimate [interval] | verdict |
|---|---|---|---|
| toy | verdict | 0.5 [0.118, 0.882] | undecided |
| width | w.finding | -0.172 | no verdict |
| toy | other | 2 [1, 3] | **holds** |

text after
"""


def verdict(est, lo, hi, v, n=4):
    return {"rule": "r > 0", "estimate": est, "lo": lo, "hi": hi, "verdict": v, "holds": v == "holds",
            "basis": f"95% Student-t interval over {n} replicates",
            "conditions": [{"estimate": est, "lo": lo, "hi": hi, "n": n, "op": ">", "threshold": 0.0}]}


def test_a_recorded_table_is_read_under_its_heading():
    t = markdown_findings(PAGE, "The run")
    assert list(t.finding) == ["verdict", "w.finding", "other"]
    assert t.iloc[0][["estimate", "lo", "hi", "verdict"]].tolist() == [0.5, 0.118, 0.882, "undecided"]
    assert t.iloc[1].estimate == -0.172 and math.isnan(t.iloc[1].lo) and t.iloc[1].verdict == "no verdict"
    assert t.iloc[2].verdict == "holds"


def test_a_tree_and_a_page_side_by_side(tmp_path):
    (tmp_path / "results/toy").mkdir(parents=True)
    (tmp_path / "results/toy/summary.json").write_text(json.dumps(
        {"verdict": verdict(0.6, 0.2, 1.0, "holds"), "other": verdict(2.0, 1.0, 3.0, "holds")}))
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    t = verdict_table({"A": f"{page}#The run", "B": tmp_path / "results"}).set_index("finding")
    assert t.loc["verdict", "A_verdict"] == "undecided" and t.loc["verdict", "B_verdict"] == "holds"
    assert not t.loc["verdict", "stable"] and t.loc["other", "stable"]


def test_replicates_needed_against_the_t_quantiles():
    # n = 4, half-width h: s = h·2/t_3; the smallest m with t_{m-1}·s/√m < distance
    h, dist = 0.3, 0.1
    s = h * 2 / scipy.stats.t.ppf(0.975, 3)
    m = needed("95% Student-t interval over 4 replicates", 4, dist, h, 0.0)
    assert scipy.stats.t.ppf(0.975, m - 1) * s / math.sqrt(m) < dist
    assert scipy.stats.t.ppf(0.975, m - 2) * s / math.sqrt(m - 1) >= dist
    # a bootstrap interval shrinks as 1/√n: twice the distance's half-width needs 4x the points
    assert needed("95% percentile bootstrap interval", 100, 0.05, 0.1, 0.0) == 400
    assert needed("one-sided Mantel permutation test", 190, 0.1, 0.2, 0.0) is None


def test_one_run_of_a_recorded_table_of_several():
    page = """## Both

| study | finding | A: estimate [interval] | A | B: estimate [interval] | B | same |
|---|---|---|---|---|---|---|
| toy | verdict | 0.5 [0.1, 0.9] | undecided | 0.7 [0.2, 1.0] | holds | **no** |
"""
    assert markdown_findings(page, "Both@B").iloc[0][["estimate", "lo", "verdict"]].tolist() == [0.7, 0.2, "holds"]
    assert markdown_findings(page, "Both@A").iloc[0].verdict == "undecided"
