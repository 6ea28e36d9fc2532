"""Figures, tables and findings of the width study (paper 002 Figs 1-4, 7-8, Tables 2-5).

Input is the long table of :func:`featurelab.width_study.measure_alpha` for every α and
state (``trained``, ``init``), with columns ``alpha, state`` added. Every figure function
returns ``(fig, df)``: an Agg figure and the numbers it plots (mean ± std over repeats).
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from featurelab.figures import save  # noqa: E402,F401

__all__ = ["aggregate", "alpha_label", "fig_fsg", "fig_fp", "fig_residuals", "table_residual_fp",
           "table_shuffled", "table_accuracy", "findings", "to_markdown", "save"]


def alpha_label(alpha: float) -> str:
    frac = Fraction(alpha).limit_denominator(1024)
    return "1" if frac == 1 else f"1/{frac.denominator}" if frac.numerator == 1 else str(frac)


def aggregate(m: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and count over repeats per (state, alpha, quantity, n, split)."""
    keys = ["state", "alpha", "quantity", "n", "split"]
    g = m.groupby(keys, sort=True)["value"]
    out = g.agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                repeats="count").reset_index()
    return out


def _pick(agg: pd.DataFrame, state: str, quantity: str, split: str, n_kind: str | None = None,
          counts: pd.DataFrame | None = None) -> pd.DataFrame:
    d = agg[(agg.state == state) & (agg.quantity == quantity) & (agg.split == split)]
    if n_kind and counts is not None:
        want = counts.set_index("alpha")[n_kind]
        d = d[d.apply(lambda row: row["n"] == want.get(row["alpha"], -1), axis=1)]
    return d.sort_values("alpha", ascending=False)


def _axes_alpha(ax, alphas: Sequence[float]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(alphas))
    ax.set_xticklabels([alpha_label(a) for a in alphas])
    ax.invert_xaxis()
    ax.set_xlabel("width factor α")
    ax.grid(alpha=0.3)


def fig_fsg(agg: pd.DataFrame, counts: pd.DataFrame, *, state: str, reverse: bool, arch: str) -> tuple[Figure, pd.DataFrame]:
    """Fig 1 / Fig 7 (forward FSG, N_f and N_p) and Fig 2 / Fig 8 (reverse, N_f): FSG(α)
    and the two FSEs it subtracts, on the validation (solid) and test (dashed) splits."""
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2)
    q, q_a, q_b = (("fsg_reverse", "fse_reverse", "fse_reverse_ref") if reverse else ("fsg", "fse", "fse_ref"))
    kinds = ["n_f"] if reverse else ["n_f", "n_p"]
    rows = []
    for kind, color in zip(kinds, ["tab:blue", "tab:orange"]):
        for split, ls in (("val", "-"), ("test", "--")):
            d = _pick(agg, state, q, split, kind, counts)
            if d.empty:
                continue
            axes[0].errorbar(d.alpha, d["mean"], yerr=d["std"], color=color, ls=ls, marker="o", capsize=3,
                             label=f"N = {kind.replace('_', '_')} ({split})")
            rows += [{"panel": "fsg", "n_kind": kind, **r} for r in d.to_dict("records")]
            a = _pick(agg, state, q_a, split, kind, counts)
            axes[1].errorbar(a.alpha, a["mean"], yerr=a["std"], color=color, ls=ls, marker="o", capsize=3,
                             label=(f"FSE(M_1 → concat M_α), {split}" if reverse else
                                    f"FSE(concat M_α → M_1), {kind}, {split}"))
            rows += [{"panel": "fse", "n_kind": kind, **r} for r in a.to_dict("records")]
    for split, ls in (("val", "-"), ("test", "--")):
        if reverse:
            b = _pick(agg, state, q_b, split, "n_f", counts)
            label = f"FSE(concat M_α' → concat M_α), {split}"
        else:
            b = _pick(agg, state, q_b, split)
            b = b.groupby("alpha", as_index=False).first().sort_values("alpha", ascending=False)
            label = f"FSE(M_1' → M_1), {split}"
        axes[1].errorbar(b.alpha, b["mean"], yerr=b["std"], color="0.3", ls=ls, marker="s", capsize=3, label=label)
        rows += [{"panel": "fse_ref", "n_kind": "n_f" if reverse else "-", **r} for r in b.to_dict("records")]
    alphas = sorted(agg.alpha.unique(), reverse=True)
    for ax in axes:
        _axes_alpha(ax, alphas)
        ax.legend(fontsize=7)
    axes[0].axhline(0, color="k", lw=0.8)
    what = "init (random weights)" if state == "init" else "trained"
    direction = "M_1 → concat M_α (reverse)" if reverse else "concat M_α → M_1"
    axes[0].set_ylabel("FSG")
    axes[0].set_title(f"{arch}, {what}: FSG, {direction}", fontsize=9)
    axes[1].set_ylabel("FSE (mean 1 − R² over targets)")
    axes[1].set_title("the two feature span errors behind it", fontsize=9)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def fig_fp(agg: pd.DataFrame, counts: pd.DataFrame, *, arch: str) -> tuple[Figure, pd.DataFrame]:
    """Fig 3: test accuracy of linear probes (FP) on M_1, one M_α and the N_f / N_p
    concatenations, against α; random-init features as faded lines for reference."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    rows = []
    series = [("fp_base", None, "M_1", "k"), ("fp_concat", "n_p", "concat M_α, N_p", "tab:orange"),
              ("fp_concat", "n_f", "concat M_α, N_f", "tab:blue"), ("fp_single", None, "one M_α", "tab:green")]
    for state, alpha_, suffix in (("trained", 1.0, ""), ("init", 0.35, " (init)")):
        for q, kind, label, color in series:
            d = _pick(agg, state, q, "test", kind, counts)
            if d.empty:
                continue
            ax.errorbar(d.alpha, d["mean"], yerr=d["std"], color=color, alpha=alpha_, marker="o", capsize=3,
                        ls="-" if state == "trained" else ":", label=label + suffix)
            rows += [{"series": label + suffix, **r} for r in d.to_dict("records")]
    _axes_alpha(ax, sorted(agg.alpha.unique(), reverse=True))
    ax.set_ylabel("FP: linear-probe test accuracy")
    ax.set_title(f"{arch}: feature performance", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def fig_residuals(agg: pd.DataFrame, counts: pd.DataFrame, *, arch: str) -> tuple[Figure, pd.DataFrame]:
    """Fig 4: what the residuals add. Left: concat M_α (N_p) alone vs with M_1's residual
    appended (and the residual alone). Right: M_1 alone vs with concat M_α's (N_f) residual."""
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2)
    rows = []
    panels = [
        (axes[0], [("fp_concat", "n_p", "concat M_α (N_p)", "tab:orange"),
                   ("fp_appended_concat", "n_p", "concat M_α ⊕ R(M_1)", "tab:red"),
                   ("fp_residual_base", "n_p", "R(M_1) alone", "tab:purple"),
                   ("fp_base", None, "M_1", "k")]),
        (axes[1], [("fp_base", None, "M_1", "k"),
                   ("fp_appended_base", "n_f", "M_1 ⊕ R(concat M_α)", "tab:red"),
                   ("fp_residual_concat", "n_f", "R(concat M_α) alone", "tab:purple"),
                   ("fp_concat", "n_f", "concat M_α (N_f)", "tab:blue")]),
    ]
    for i, (ax, series) in enumerate(panels):
        for q, kind, label, color in series:
            d = _pick(agg, "trained", q, "test", kind, counts)
            ax.errorbar(d.alpha, d["mean"], yerr=d["std"], color=color, marker="o", capsize=3, label=label)
            rows += [{"panel": "left" if i == 0 else "right", "series": label, **r} for r in d.to_dict("records")]
        _axes_alpha(ax, sorted(agg.alpha.unique(), reverse=True))
        ax.set_ylabel("FP: linear-probe test accuracy")
        ax.legend(fontsize=7)
    axes[0].set_title(f"{arch}: M_1's residual added to the low-width features", fontsize=9)
    axes[1].set_title(f"{arch}: the low-width residual added to M_1", fontsize=9)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


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


def findings(agg: pd.DataFrame, counts: pd.DataFrame) -> dict:
    """The paper's empirical findings as numbers, on the validation split where FSE is used.

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
    if "init" in out and "trained" in out:
        out["init"]["note"] = ("paper 002 Fig 7: for random networks FSG does not grow as α shrinks "
                               "(compare fsg_np_val_spearman_vs_1_over_alpha with the trained one)")
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
