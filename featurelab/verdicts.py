"""One way to turn a number with its uncertainty into a verdict, for every study.

A finding is an estimate, an interval at a stated level, a rule written before the run
(``estimate > threshold`` or ``<``), and a verdict:

* ``holds``     the whole interval lies on the rule's side of the threshold;
* ``fails``     the whole interval lies on the other side;
* ``undecided`` the interval straddles the threshold;
* ``no verdict`` there is no interval: one replicate (a single seed, member or pair) cannot
  decide a rule, whatever its value (``basis`` says so).

Intervals come in two kinds, both built here so that every study states them alike:

* over replicates (seeds, members, pairs): the mean and the Student-t interval
  mean ± t_{(1+level)/2, n−1} · s/√n (:func:`t_interval`). With 2-4 replicates the normal
  "mean ± 2 se" covers far less than 95% (with n = 2, t_{0.975, 1} = 12.7, not 2);
* over resamples (a bootstrap the study already draws): the percentile interval of the
  draws around the estimate computed on the data (:func:`bootstrap_interval`).

A verdict dict (:func:`verdict`) is JSON-serialisable and carries its ``rule``, its
``basis`` (the interval's kind, level and replicate count), the estimate and interval of
each condition, and ``holds`` (True / False / None) beside the word. :func:`collect` finds
every verdict in a study's summary, so one table can list them all.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.stats

#: The interval level every study uses unless the config's ``verdicts.level`` says otherwise.
LEVEL = 0.95
#: The four verdicts, by ``holds``.
WORDS = {True: "holds", False: "fails", None: "undecided"}
NO_VERDICT = "no verdict"


def _finite(values: Iterable[Any]) -> np.ndarray:
    v = np.asarray([x for x in values if x is not None], dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def t_quantile(n: int, level: float = LEVEL) -> float:
    """The two-sided Student-t quantile t_{(1+level)/2, n−1} of ``n`` replicates (``n`` ≥ 2)."""
    if n < 2:
        raise ValueError(f"a t interval needs at least two replicates, got {n}")
    return float(scipy.stats.t.ppf(0.5 + level / 2.0, n - 1))


def t_interval(values: Iterable[float], level: float = LEVEL) -> dict[str, Any]:
    """Mean, standard error and Student-t interval over replicates.

    Returns ``{"mean", "se", "n", "values", "lo", "hi", "level", "method": "t"}``. Non-finite
    values are dropped (and not counted). Below two values ``se``, ``lo`` and ``hi`` are None:
    there is no interval, and :func:`verdict` gives no verdict on it."""
    v = _finite(values)
    n = int(v.size)
    mean = float(v.mean()) if n else None
    se = lo = hi = None
    if n >= 2:
        se = float(v.std(ddof=1) / math.sqrt(n))
        half = t_quantile(n, level) * se
        lo, hi = mean - half, mean + half
    return {"mean": mean, "se": se, "n": n, "values": [float(x) for x in v], "lo": lo, "hi": hi,
            "level": float(level), "method": "t"}


def bootstrap_interval(estimate: float | None, draws: Iterable[float], level: float = LEVEL,
                       n: int | None = None) -> dict[str, Any]:
    """The percentile bootstrap interval of ``draws`` beside the ``estimate`` made on the data.

    Returns ``{"mean": estimate, "se": std of the draws, "n": replicates behind the estimate
    (None: not stated), "draws", "lo", "hi", "level", "method": "bootstrap"}``."""
    d = _finite(draws)
    q = (0.5 - level / 2.0) * 100.0, (0.5 + level / 2.0) * 100.0
    lo, hi = (float(np.percentile(d, q[0])), float(np.percentile(d, q[1]))) if d.size else (None, None)
    est = None if estimate is None or not np.isfinite(estimate) else float(estimate)
    return {"mean": est, "se": float(d.std(ddof=1)) if d.size > 1 else None, "n": n, "draws": int(d.size),
            "lo": lo, "hi": hi, "level": float(level), "method": "bootstrap"}


def correlation_interval(rho: float, n: int, level: float = LEVEL, spearman: bool = True) -> dict[str, Any]:
    """The interval of a correlation over ``n`` independent pairs, through Fisher's
    z = atanh(ρ): z ± z_{(1+level)/2}·se with se = 1/√(n − 3) for Pearson and
    se = √((1 + ρ²/2)/(n − 3)) for Spearman (Bonett & Wright, "Sample size requirements for
    estimating Pearson, Kendall and Spearman correlations", Psychometrika 2000, Eq. 2).
    Below four pairs, or with ρ undefined, there is no interval."""
    ok = rho is not None and np.isfinite(rho) and n >= 4
    lo = hi = se = None
    if ok:
        r = float(np.clip(rho, -0.999999, 0.999999))
        se = math.sqrt((1.0 + r * r / 2.0) / (n - 3)) if spearman else 1.0 / math.sqrt(n - 3)
        q = float(scipy.stats.norm.ppf(0.5 + level / 2.0))
        lo, hi = math.tanh(math.atanh(r) - q * se), math.tanh(math.atanh(r) + q * se)
    return {"mean": float(rho) if rho is not None and np.isfinite(rho) else None, "se": se, "n": int(n),
            "lo": lo, "hi": hi, "level": float(level), "method": "fisher_z_spearman" if spearman else "fisher_z"}


def slope_interval(x: Iterable[float], y: Iterable[float], level: float = LEVEL) -> dict[str, Any]:
    """Least-squares slope of ``y`` on ``x`` (scipy.stats.linregress) with its Student-t
    interval over the ``n`` points, slope ± t_{(1+level)/2, n−2} · stderr; no interval below
    three points, no slope without spread in ``x``."""
    x, y = np.asarray(list(x), dtype=np.float64), np.asarray(list(y), dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    out = {"mean": None, "se": None, "n": n, "lo": None, "hi": None, "level": float(level), "method": "t"}
    if n < 2 or np.ptp(x) == 0:
        return out
    fit = scipy.stats.linregress(x, y)
    out["mean"] = float(fit.slope)
    if n >= 3:
        half = float(scipy.stats.t.ppf(0.5 + level / 2, n - 2)) * fit.stderr
        out.update(se=float(fit.stderr), lo=float(fit.slope - half), hi=float(fit.slope + half))
    return out


def difference_interval(a: Iterable[float], b: Iterable[float], level: float = LEVEL) -> dict[str, Any]:
    """mean(b) − mean(a) with Welch's Student-t interval (scipy.stats.ttest_ind, unequal
    variances); no interval when either side has fewer than two values."""
    a, b = _finite(a), _finite(b)
    out = {"mean": float(b.mean() - a.mean()) if a.size and b.size else None, "se": None, "n": int(a.size + b.size),
           "lo": None, "hi": None, "level": float(level), "method": "t"}
    if a.size < 2 or b.size < 2:
        return out
    se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
    if se == 0:  # no spread on either side: the difference is exact
        out.update(se=0.0, lo=out["mean"], hi=out["mean"])
        return out
    ci = scipy.stats.ttest_ind(b, a, equal_var=False).confidence_interval(level)
    out.update(se=se, lo=float(ci.low), hi=float(ci.high))
    return out


def proportion_interval(k: int, n: int, level: float = LEVEL) -> dict[str, Any]:
    """The share k/n of replicates with a property, with its exact Clopper-Pearson interval
    (scipy.stats.binomtest). With one replicate there is no interval (no verdict)."""
    if n < 2:
        return {"mean": float(k / n) if n else None, "se": None, "n": int(n), "k": int(k), "lo": None, "hi": None,
                "level": float(level), "method": "clopper_pearson"}
    ci = scipy.stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return {"mean": float(k / n), "se": math.sqrt(k / n * (1 - k / n) / n), "n": int(n), "k": int(k),
            "lo": float(ci.low), "hi": float(ci.high), "level": float(level), "method": "clopper_pearson"}


def pvalue_verdict(rule: str, estimate: float | None, p_greater: float | None, p_less: float | None,
                 alpha: float = 1 - LEVEL, test: str = "permutation test", op: str = ">") -> dict[str, Any]:
    """A verdict from a one-sided test where no interval is available (e.g. a Mantel test,
    whose pairs share models): for ``op`` ``">"`` it holds when ``p_greater`` < ``alpha``,
    fails when ``p_less`` < ``alpha`` (the effect lies significantly the other way), and is
    undecided otherwise (``"<"`` swaps the two). No p-value: no verdict."""
    p_yes, p_no = (p_greater, p_less) if op == ">" else (p_less, p_greater)
    out: dict[str, Any] = {"rule": rule, "estimate": None if estimate is None else float(estimate), "lo": None,
                           "hi": None, "p_greater": p_greater, "p_less": p_less, "alpha": float(alpha)}
    if p_yes is None or p_no is None or not (np.isfinite(p_yes) and np.isfinite(p_no)):
        out.update(holds=None, verdict=NO_VERDICT, basis=f"{test}: undefined, no verdict")
        return out
    holds = True if p_yes < alpha else False if p_no < alpha else None
    out.update(holds=holds, verdict=WORDS[holds], basis=f"one-sided {test} at alpha = {alpha:g}")
    return out


def side(stat: Mapping[str, Any], op: str, threshold: float) -> bool | None:
    """Whether the interval of ``stat`` lies on side ``op`` (``">"`` or ``"<"``) of
    ``threshold``: True, False (wholly on the other side, the threshold itself counting as
    the other side), or None (it straddles, or there is no interval)."""
    if op not in (">", "<"):
        raise ValueError(f"op must be '>' or '<', got {op!r}")
    lo, hi = stat.get("lo"), stat.get("hi")
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    if op == ">":
        return True if lo > threshold else False if hi <= threshold else None
    return True if hi < threshold else False if lo >= threshold else None


def _basis(stats: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for s in stats:
        level = f"{100 * s.get('level', LEVEL):g}%"
        method = s.get("method")
        if method == "bootstrap":
            parts.append(f"{level} percentile bootstrap interval ({s.get('draws')} resamples"
                         + (f", {s['n']} replicates" if s.get("n") else "") + ")")
        elif method in ("fisher_z", "fisher_z_spearman"):
            parts.append(f"{level} Fisher-z interval of a {'Spearman' if method.endswith('spearman') else 'Pearson'} "
                         f"correlation over {s.get('n')} points")
        elif method == "clopper_pearson":
            parts.append(f"{level} Clopper-Pearson interval of a share of {s.get('n')}")
        else:
            parts.append(f"{level} Student-t interval over {s.get('n')} replicates")
    return "; ".join(dict.fromkeys(parts))


def verdict(rule: str, *conditions: tuple[Mapping[str, Any], str, float], note: str | None = None
            ) -> dict[str, Any]:
    """The verdict on every ``(stat, op, threshold)`` holding together (a conjunction): fails
    when one fails, holds when all hold, else undecided; ``no verdict`` when a condition has
    no interval (one replicate). ``stat`` is a :func:`t_interval` or
    :func:`bootstrap_interval` dict (any mapping with ``mean``, ``lo``, ``hi``)."""
    if not conditions:
        raise ValueError("a verdict needs at least one (stat, op, threshold) condition")
    stats = [c[0] for c in conditions]
    missing = [s for s in stats if s.get("lo") is None or s.get("hi") is None]
    out: dict[str, Any] = {"rule": rule}
    if missing:
        n = min((s.get("n") if s.get("n") is not None else 0) for s in missing)
        out.update(holds=None, verdict=NO_VERDICT,
                   basis=("one replicate: no verdict" if n == 1 else
                          "no replicate: no verdict" if n == 0 else "no interval: no verdict"))
    else:
        got = [side(*c) for c in conditions]
        holds = False if False in got else None if None in got else True
        out.update(holds=holds, verdict=WORDS[holds], basis=_basis(stats))
    out["conditions"] = [{"estimate": s.get("mean"), "lo": s.get("lo"), "hi": s.get("hi"), "n": s.get("n"),
                          "op": op, "threshold": float(t)} for s, op, t in conditions]
    first = out["conditions"][0]
    out.update(estimate=first["estimate"], lo=first["lo"], hi=first["hi"])
    if note:
        out["note"] = note
    return out


def is_verdict(d: Any) -> bool:
    """Whether ``d`` is a verdict dict (:func:`verdict` or a study's own with the same keys)."""
    return isinstance(d, Mapping) and "verdict" in d and "rule" in d and "holds" in d


def collect(summary: Mapping[str, Any], study: str = "", prefix: str = "") -> list[dict[str, Any]]:
    """Every verdict in a (nested) summary as one flat row: ``study``, ``finding`` (its path of
    keys), ``estimate``, ``lo``, ``hi``, ``rule``, ``basis``, ``verdict``."""
    rows: list[dict[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if is_verdict(node):
            rows.append({"study": study, "finding": path, "estimate": node.get("estimate"), "lo": node.get("lo"),
                         "hi": node.get("hi"), "rule": node["rule"], "basis": node.get("basis"),
                         "verdict": node["verdict"]})
            return
        if isinstance(node, Mapping):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(summary, prefix)
    return rows


#: The columns of :func:`findings_table`.
FINDING_COLUMNS = ("study", "finding", "estimate", "lo", "hi", "rule", "basis", "verdict")


def findings_table(summaries: Mapping[str, Mapping[str, Any]]) -> Any:
    """Every verdict of every study's summary as one pandas DataFrame
    (:data:`FINDING_COLUMNS`), ``summaries`` being ``{study label: summary}``; a verdict a
    summary repeats under another key is listed once. A study whose summary holds no verdict
    (e.g. the diversity study when no pool model lies in its window) is listed too, in one row
    ``finding`` whose verdict is "no verdict" and whose basis says why (the summary's own
    ``finding`` when it is a sentence)."""
    import pandas as pd

    rows = []
    for study, s in summaries.items():
        found = collect(s, study=study)
        if not found:
            why = s.get("finding") if isinstance(s, Mapping) and isinstance(s.get("finding"), str) else None
            found = [{"study": study, "finding": "finding", "estimate": None, "lo": None, "hi": None,
                      "rule": "the study's findings", "basis": why or "the summary holds no verdict",
                      "verdict": NO_VERDICT}]
        rows += found
    table = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    # a summary may repeat a verdict under two keys (the interaction study's main variant is
    # also its headline): keep the first
    same = ["study", "rule", "estimate", "lo", "hi", "verdict"]
    return table[~table[same].astype(str).duplicated()].reset_index(drop=True)


def findings_markdown(table: Any, digits: int = 4) -> str:
    """:func:`findings_table` as a Markdown table, the interval written ``[lo, hi]``, with the
    count of each verdict below it."""
    def num(x: Any) -> str:
        return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}g}"

    lines = ["| study | finding | estimate | interval | rule | verdict |", "|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        interval = f"[{num(r.lo)}, {num(r.hi)}]" if r.lo is not None and np.isfinite(r.lo) else ""
        lines.append(f"| {r.study} | {r.finding} | {num(r.estimate)} | {interval} | {r.rule} | **{r.verdict}** |")
    counts = table["verdict"].value_counts()
    lines += ["", ", ".join(f"{k}: {int(v)}" for k, v in counts.items()) + f" (of {len(table)} verdicts)"]
    return "\n".join(lines) + "\n"
