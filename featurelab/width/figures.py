"""Figures of the width study (Duzgun, Jelassi, Li, 2024, Figs 1-4 and 7-8).

Input is :func:`featurelab.width.tables.aggregate` of the long table of
:func:`featurelab.width.study.measure_alpha`. Every figure function returns ``(fig, df)``: a
figure and the numbers it plots (mean ± std over repeats).
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.figure import Figure

from ..figures import new_figure
from .tables import _pick, alpha_label


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
    fig = new_figure((10, 3.8), layout=None)
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
    fig = new_figure((6, 4), layout=None)
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
    fig = new_figure((10, 3.8), layout=None)
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
