"""Tables and findings of the width study (Duzgun, Jelassi, Li, 2024, Tables 2-5, findings
3.1-3.2), from the long table of :func:`featurelab.width.study.measure_alpha` for every α and
state, aggregated over repeats by :func:`aggregate`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..verdicts import LEVEL, t_interval, verdict


def aggregate(m: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over repeats per (state, alpha, quantity, n, split)."""
    keys = ["state", "alpha", "quantity", "n", "split"]
    g = m.groupby(keys, sort=True)["value"]
    out = g.agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                repeats="count").reset_index()
    return out


def _pm(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def table_residual_fp(aggs: dict[str, pd.DataFrame], counts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Table 3 (App. D.1): at the smallest α of each architecture, FP of each residual beside
    the random-init baseline it is compared with (test accuracy, mean ± std over repeats)."""
    rows = []
    spec = [("FP(R of M_1 not spanned by concat M_α, N_p)", "trained", "fp_residual_base", "n_p"),
            ("FP(random M_1)", "init", "fp_base", None),
            ("FP(random concat M_α, N_f)", "init", "fp_concat", "n_f"),
            ("FP(R of concat M_α, N_f, not spanned by M_1)", "trained", "fp_residual_concat", "n_f")]
    for arch, agg in aggs.items():
        a_min = float(agg.alpha.min())
        for label, state, q, kind in spec:
            d = _pick(agg, state, q, "test", kind, counts[arch])
            d = d[d.alpha == a_min]
            if d.empty:
                continue
            r = d.iloc[0]
            rows.append({"arch": arch, "alpha": a_min, "features": label, "mean": r["mean"], "std": r["std"],
                         "repeats": int(r["repeats"])})
    return pd.DataFrame(rows, columns=["arch", "alpha", "features", "mean", "std", "repeats"])


def table_shuffled(agg: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """Tables 4-5 (App. D.4): FSE with N_p members, regular vs shuffled regression, on the
    validation and test points; the α = 1 column is FSE(M_1' → M_1)."""
    rows = []
    for regression, q, q_ref in (("regular", "fse", "fse_ref"), ("shuffled", "fse_shuffled", "fse_ref_shuffled")):
        for split, name in (("val", "valid."), ("test", "test")):
            row = {"regression": regression, "error": name}
            ref = _pick(agg, "trained", q_ref, split)
            if not ref.empty:
                row["alpha=1"] = ref["mean"].iloc[0]
                row["alpha=1 std"] = ref["std"].iloc[0]
            d = _pick(agg, "trained", q, split, "n_p", counts)
            for _, r in d.iterrows():
                row[f"alpha={alpha_label(r.alpha)}"] = r["mean"]
                row[f"alpha={alpha_label(r.alpha)} std"] = r["std"]
            rows.append(row)
    return pd.DataFrame(rows)


def table_accuracy(metrics: pd.DataFrame) -> pd.DataFrame:
    """Table 2 (App. A.2): training and test accuracy of the members per α (mean ± std)."""
    g = metrics.groupby(["arch", "alpha"])
    out = g.agg(members=("test_acc", "size"), train_acc=("final_train_acc", "mean"),
                train_acc_std=("final_train_acc", "std"), test_acc=("test_acc", "mean"),
                test_acc_std=("test_acc", "std"), epochs=("epochs", "mean")).reset_index()
    return out.sort_values(["arch", "alpha"], ascending=[True, False])


def findings(agg: pd.DataFrame, counts: pd.DataFrame, measurements: pd.DataFrame | None = None,
             level: float = LEVEL) -> dict:
    """The paper's empirical findings as numbers, on the validation split where FSE is used.
    With the per-repeat ``measurements``, ``trained.verdicts`` decides each finding over the
    repeats (:func:`finding_verdicts`).

    * 3.1 (trained): FSG(α) with N_p grows as α shrinks — Spearman ρ of FSG against 1/α over
      the α < 1 (needs ≥ 2 values of α; ρ > 0 reproduces), and FSG at the smallest α (> 0).
    * 3.1 baseline (init): the same ρ for random-init features (the paper: FSG shrinks).
    * reverse: FSG_reverse (N_f) at the smallest α (> 0 reproduces "converse also holds").
    * 3.2: FP(M_1) − FP(concat M_α, N_p) per α (> 0 reproduces), and its Spearman ρ with 1/α.
    """
    out: dict = {}

    def series(state, q, split, kind):
        d = _pick(agg, state, q, split, kind, counts)
        return d.sort_values("alpha")

    def trend(d: pd.DataFrame) -> float | None:
        if len(d) < 2:
            return None
        rho = spearmanr(1 / d.alpha.to_numpy(), d["mean"].to_numpy()).statistic
        return None if np.isnan(rho) else float(rho)

    for state in ("trained", "init"):
        d = series(state, "fsg", "val", "n_p")
        if d.empty:
            continue
        out[state] = {
            "fsg_np_val_by_alpha": {alpha_label(a): float(v) for a, v in zip(d.alpha, d["mean"])},
            "fsg_np_val_spearman_vs_1_over_alpha": trend(d),
            "fsg_np_val_at_smallest_alpha": float(d["mean"].iloc[0]),
        }
        rv = series(state, "fsg_reverse", "val", "n_f")
        out[state]["fsg_reverse_val_by_alpha"] = {alpha_label(a): float(v) for a, v in zip(rv.alpha, rv["mean"])}
        fb = series(state, "fp_base", "test", None).groupby("alpha")["mean"].first()
        fc = series(state, "fp_concat", "test", "n_p").set_index("alpha")["mean"]
        gap = (fb.reindex(fc.index) - fc).dropna()
        out[state]["fp_gap_base_minus_concat_np"] = {alpha_label(a): float(v) for a, v in gap.items()}
    if "trained" in out:
        t = out["trained"]
        gaps = list(t["fp_gap_base_minus_concat_np"].values())
        t["finding_3_1_fsg_grows_as_alpha_shrinks"] = bool((t["fsg_np_val_spearman_vs_1_over_alpha"] or 0) > 0
                                                           and t["fsg_np_val_at_smallest_alpha"] > 0)
        rev = list(t["fsg_reverse_val_by_alpha"].values())
        t["finding_reverse_fsg_positive_at_smallest_alpha"] = bool(rev and rev[0] > 0)
        t["finding_3_2_concat_below_base"] = bool(gaps and all(g > 0 for g in gaps))
    if measurements is not None and "trained" in out:
        out["trained"]["verdicts"] = finding_verdicts(measurements, counts, level)
    if "init" in out and "trained" in out:
        out["init"]["note"] = ("Duzgun, Jelassi, Li (2024) Fig 7: for random networks FSG does not grow as α shrinks "
                               "(compare fsg_np_val_spearman_vs_1_over_alpha with the trained one)")
    return out


def _per_repeat(m: pd.DataFrame, state: str, quantity: str, split: str, n_kind: str | None,
                counts: pd.DataFrame) -> pd.DataFrame:
    """Rows (alpha, repeat, value) of one quantity, at N = ``counts[n_kind]`` of each α."""
    d = m[(m.state == state) & (m.quantity == quantity) & (m.split == split)]
    if n_kind:
        want = counts.set_index("alpha")[n_kind]
        d = d[d.n == d.alpha.map(lambda a: want.get(a, -1))]
    return d.groupby(["alpha", "repeat"], as_index=False)["value"].first()


def finding_verdicts(m: pd.DataFrame, counts: pd.DataFrame, level: float = LEVEL) -> dict[str, Any]:
    """Findings 3.1, its converse and 3.2 of Duzgun, Jelassi, Li (2024) decided over the
    repeats (:mod:`featurelab.verdicts`, Student-t; one repeat gives no verdict):

    * 3.1: FSG(N_p) at the smallest α > 0, and Spearman ρ(FSG, 1/α) over the α < 1 of each
      repeat > 0 (with two α, ρ is ±1 per repeat);
    * converse: FSG_reverse(N_f) at the smallest α > 0;
    * 3.2: FP(M_1) − FP(concatenation of N_p models of width α) > 0 at every α.
    ``m``: the measurements (``state, alpha, repeat, quantity, n, split, value``)."""
    m = m[m.state == "trained"] if "state" in m else m.assign(state="trained")
    out: dict[str, Any] = {}
    fsg = _per_repeat(m, "trained", "fsg", "val", "n_p", counts)
    if len(fsg):
        smallest = fsg.alpha.min()
        at = t_interval(fsg[fsg.alpha == smallest].value, level)
        rhos = [spearmanr(1 / g.alpha.to_numpy(), g.value.to_numpy()).statistic
                for _, g in fsg.groupby("repeat") if g.alpha.nunique() >= 2]
        rho = t_interval(rhos, level)
        conds = [(at, ">", 0.0)] + ([(rho, ">", 0.0)] if fsg.alpha.nunique() >= 2 else [])
        out["finding_3_1_fsg_grows_as_alpha_shrinks"] = verdict(
            f"3.1: FSG(N_p) at α = {alpha_label(smallest)} > 0 and Spearman ρ(FSG, 1/α) per repeat > 0", *conds)
    rev = _per_repeat(m, "trained", "fsg_reverse", "val", "n_f", counts)
    if len(rev):
        smallest = rev.alpha.min()
        out["finding_reverse_fsg_positive_at_smallest_alpha"] = verdict(
            f"converse of 3.1: FSG_reverse(N_f) at α = {alpha_label(smallest)} > 0",
            (t_interval(rev[rev.alpha == smallest].value, level), ">", 0.0))
    base = _per_repeat(m, "trained", "fp_base", "test", None, counts)
    concat = _per_repeat(m, "trained", "fp_concat", "test", "n_p", counts)
    if len(base) and len(concat):
        gap = concat.merge(base, on=["alpha", "repeat"], suffixes=("_concat", "_base"))
        gap["gap"] = gap.value_base - gap.value_concat
        conds = [(t_interval(g.gap, level), ">", 0.0) for _, g in gap.groupby("alpha")]
        if conds:
            out["finding_3_2_concat_below_base"] = verdict(
                "3.2: FP(M_1) − FP(concatenation of N_p width-α models) > 0 at every α "
                f"({', '.join(alpha_label(a) for a in sorted(gap.alpha.unique(), reverse=True))})", *conds)
    return out


def to_markdown(df: pd.DataFrame, digits: int = 4) -> str:
    """A plain Markdown table (no tabulate dependency); ``x`` / ``x std`` column pairs are
    merged into ``mean ± std``."""
    cols = [c for c in df.columns if not str(c).endswith(" std")]
    std = {c: f"{c} std" for c in cols if f"{c} std" in df.columns}
    if {"mean", "std"} <= set(df.columns):
        std["mean"] = "std"
        cols = [c for c in cols if c != "std"]
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c in std and isinstance(v, (float, np.floating)) and not np.isnan(v):
                cells.append(_pm(float(v), float(r[std[c]]) if not np.isnan(r[std[c]]) else 0.0, digits))
            elif isinstance(v, (float, np.floating)):
                cells.append("" if np.isnan(v) else f"{v:.{digits}f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def alpha_label(alpha: float) -> str:
    frac = Fraction(alpha).limit_denominator(1024)
    return "1" if frac == 1 else f"1/{frac.denominator}" if frac.numerator == 1 else str(frac)


def _pick(agg: pd.DataFrame, state: str, quantity: str, split: str, n_kind: str | None = None,
          counts: pd.DataFrame | None = None) -> pd.DataFrame:
    d = agg[(agg.state == state) & (agg.quantity == quantity) & (agg.split == split)]
    if n_kind and counts is not None and len(d):  # (an empty frame's row-wise apply is a frame)
        want = counts.set_index("alpha")[n_kind]
        d = d[d.apply(lambda row: row["n"] == want.get(row["alpha"], -1), axis=1)]
    return d.sort_values("alpha", ascending=False)


def member_accuracies(metrics: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per trained member (its metrics file): arch, width, seed, epochs, final
    training and test accuracy, and α = width / the widest member's width (Table 2's input)."""
    keys = ("arch", "width", "seed", "epochs", "final_train_acc", "test_acc")
    df = pd.DataFrame([{k: m.get(k) for k in keys} for m in metrics])
    df["alpha"] = df.width / df.width.max()
    return df
