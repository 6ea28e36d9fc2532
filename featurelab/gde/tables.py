"""Tables 1-2 of Jiang, Baek, Kolter (ICLR 2024, §6) and the conditions' names.

Condition names used across the study (and by :mod:`featurelab.data.paper_numbers`):
``super2``, ``super3``, ``super5``, ``super10`` (K̃ superclasses) and ``blue1``..``blue5``
(``blue1`` = G_1 = the *least* blue fifth, group index 0); the planner
(:mod:`featurelab.plan`) makes them, :func:`parse_condition` and :func:`condition_label`
read them. :func:`results_table`, :func:`format_markdown` and :func:`format_latex` give the
tables.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..plan import blue_condition, superclass_condition  # noqa: F401  (the names, made by the planner)

#: The columns of :func:`results_table` (Tables 1-2), in order.
METRIC_COLUMNS: tuple[str, ...] = (
    "condition", "accuracy_mean", "accuracy_std", "agreement_mean", "agreement_std",
    "difference_mean", "difference_std",
)






def parse_condition(name: str) -> tuple[str, int]:
    """``"super5"`` → ``("superclass", 5)``; ``"blue1"`` → ``("blue", 0)`` (0-based group index)."""
    m = re.fullmatch(r"(super|blue)(\d+)", str(name))
    if not m:
        raise ValueError(f"not a gde condition name: {name!r} (expected superK or blueI)")
    if m.group(1) == "super":
        return "superclass", int(m.group(2))
    if int(m.group(2)) < 1:
        raise ValueError(f"blue groups are numbered from 1 (blue1 = G1), got {name!r}")
    return "blue", int(m.group(2)) - 1


def condition_label(name: str, latex: bool = False) -> str:
    """Display label of a condition: ``super2`` → ``K̃=2``, ``blue1`` → ``G1``; anything else as is."""
    try:
        study, v = parse_condition(name)
    except ValueError:
        return str(name)
    if study == "superclass":
        return rf"$\tilde K={v}$" if latex else f"K̃={v}"
    return f"$G_{v + 1}$" if latex else f"G{v + 1}"


def results_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Tables 1-2 as a DataFrame: one row per condition.

    ``rows``: dicts holding ``condition`` and the keys of :func:`ensemble_metrics` (typically
    ``{"condition": name, **ensemble_metrics(pred, y)}``). Columns: :data:`METRIC_COLUMNS`
    first, then any further keys in first-seen order (e.g. ``n_members``, ``fraction``).
    Row order is kept.
    """
    rows = [dict(r) for r in rows]
    if not rows:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    for i, r in enumerate(rows):
        missing = [c for c in METRIC_COLUMNS if c not in r]
        if missing:
            raise ValueError(f"row {i} lacks {missing}")
    extra: list[str] = []
    for r in rows:
        extra += [k for k in r if k not in METRIC_COLUMNS and k not in extra]
    df = pd.DataFrame(rows, columns=list(METRIC_COLUMNS) + extra)
    df["condition"] = df["condition"].astype(str)
    return df


def _pm(mean: Any, std: Any, digits: int, pm: str) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    s = f"{float(mean):.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        s += f"{pm}{float(std):.{digits}f}"
    return s


def _num(x: Any, digits: int, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{float(x):+.{digits}f}" if signed else f"{float(x):.{digits}f}"


def _cells(df: pd.DataFrame, paper: pd.DataFrame | None, digits: int, latex: bool
           ) -> tuple[list[str], list[list[str]]]:
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"table lacks columns {missing} (use results_table)")
    pm = r" $\pm$ " if latex else " ± "
    head = ["condition", "accuracy", "agreement", "agr − acc" if not latex else r"agr $-$ acc"]
    pap = None
    if paper is not None:
        if "condition" not in paper.columns or not {"accuracy", "agreement"} <= set(paper.columns):
            raise ValueError("paper must have columns condition, accuracy, agreement "
                             "(see featurelab.data.paper_numbers.paper_table)")
        pap = paper.set_index(paper["condition"].astype(str))
        if latex:
            head += ["paper acc.", "paper agr.", r"paper agr $-$ acc", r"$\Delta$ acc", r"$\Delta$ agr"]
        else:
            head += ["paper accuracy", "paper agreement", "paper agr − acc",
                     "Δ acc (ours − paper)", "Δ agr (ours − paper)"]
    body = []
    for _, r in df.iterrows():
        cond = str(r["condition"])
        label = condition_label(cond, latex=latex)
        row = [label,
               _pm(r["accuracy_mean"], r["accuracy_std"], digits, pm),
               _pm(r["agreement_mean"], r["agreement_std"], digits, pm),
               _pm(r["difference_mean"], r["difference_std"], digits, pm)]
        if pap is not None:
            if cond in pap.index:
                p = pap.loc[cond]
                pa, pg = float(p["accuracy"]), float(p["agreement"])
                pa_s = float(p["accuracy_std"]) if "accuracy_std" in pap.columns else None
                pg_s = float(p["agreement_std"]) if "agreement_std" in pap.columns else None
                pd_ = float(p["difference"]) if "difference" in pap.columns else pg - pa
                row += [_pm(pa, pa_s, digits, pm), _pm(pg, pg_s, digits, pm), _num(pd_, digits),
                        _num(float(r["accuracy_mean"]) - pa, digits, True),
                        _num(float(r["agreement_mean"]) - pg, digits, True)]
            else:
                row += ["—"] * 5
        body.append(row)
    return head, body


def format_markdown(df: pd.DataFrame, paper: pd.DataFrame | None = None, digits: int = 2) -> str:
    """Tables 1-2 as a Markdown table with "mean ± std" cells (std over members / pairs).

    ``df``: :func:`results_table`. ``paper``: optional DataFrame with columns condition,
    accuracy, agreement (and optionally accuracy_std, agreement_std, difference), e.g.
    :func:`featurelab.data.paper_numbers.paper_table`; its numbers are put beside ours
    with the differences ours − paper. Conditions are shown as K̃=k / G_i.
    """
    head, body = _cells(df, paper, digits, latex=False)
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def format_latex(df: pd.DataFrame, paper: pd.DataFrame | None = None, digits: int = 2,
                 caption: str | None = None) -> str:
    """Tables 1-2 as a LaTeX ``tabular`` (booktabs rules), same cells as :func:`format_markdown`.

    Wrapped in a ``table`` environment with ``caption`` when one is given.
    """
    head, body = _cells(df, paper, digits, latex=True)
    cols = "l" + "r" * (len(head) - 1)
    lines = [rf"\begin{{tabular}}{{{cols}}}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    def tex(cell: str) -> str:
        cell = cell.replace("—", "--")
        return "$-$" + cell[1:] if cell.startswith("-") else cell

    lines += [" & ".join(tex(c) for c in row) + r" \\" for row in body]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}"] + lines + [r"\end{table}"]
    return "\n".join(lines) + "\n"
