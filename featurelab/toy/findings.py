"""The learned-vector table and the verdict of the toy setting (Duzgun, Jelassi, Li, 2024, §4).

Reads what the training rule wrote for every (condition, seed) — a JSON from
:func:`featurelab.toy.summarize` plus the condition's name, width, count and seed, and an
NPZ of the recorded curves (``steps``, ``epochs``, ``corr`` (T, K, 5), ``active``
(T, K, 5)) — and needs no PyTorch (the rule runs in ``envs/analysis.yaml``).

* :func:`learned_table`, :func:`learned_markdown` — which vectors each condition learns,
  per seed, with how many of its networks learn each.
* :func:`finding` — Empirical finding 4.1: the wide network learns all five vectors; a
  concatenation of narrower networks learns the addition vectors, and none of its networks
  learns a multiplication vector. Evaluated per seed and per concatenation, and also by
  accuracy (does any network use the product s3 s4 s5?), which needs no threshold.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import numpy as np
import pandas as pd

from ..verdicts import LEVEL, proportion_interval, verdict
from .setting import ADDITION, KIND, MULTIPLICATION

matplotlib.use("Agg")

#: Test accuracy above which a network must be using s3 s4 s5: without the product the best
#: possible is 0.75 (the addition signs alone), with all five signs 1.
USES_PRODUCT = 0.875
LABEL_RULE = "y = sign(s1 + s2 + s3*s4*s5) (our reconstruction; the paper's formula was lost in extraction)"


def load_runs(jsons: Sequence[str | Path], curves: Sequence[str | Path]) -> list[dict[str, Any]]:
    """One dict per (condition, seed): the JSON's keys plus the NPZ's arrays."""
    runs = []
    for js, npz in zip(jsons, curves):
        run = json.loads(Path(js).read_text())
        with np.load(npz) as z:
            run.update({k: z[k] for k in z.files})
        runs.append(run)
    return sorted(runs, key=lambda r: (r["count"], r["seed"]))


def wide_condition(runs: Sequence[dict[str, Any]]) -> str:
    """The condition with the fewest networks (with equal totals: the widest)."""
    return min(runs, key=lambda r: (r["count"], -r["width"]))["condition"]


def learned_table(runs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (condition, seed): for every vector w_j whether the concatenation learns
    it (``wj_learned``), how many networks do (``wj_nets``), its final correlation
    (``wj_corr``) and activated neurons at initialisation (``wj_init_active``); accuracies."""
    rows = []
    for r in runs:
        row = {"condition": r["condition"], "width": r["width"], "count": r["count"], "seed": r["seed"]}
        for j in range(5):
            row[f"w{j + 1}_learned"] = bool(r["concat_learned"][j])
            row[f"w{j + 1}_nets"] = int(r["nets_learned"][j])
            row[f"w{j + 1}_corr"] = float(r["concat_corr"][j])
            row[f"w{j + 1}_init_active"] = int(r["init_active"][j])
        row.update({k: r[k] for k in ("full_task_nets", "nets_with_all_multiplication_at_init", "train_acc_mean",
                                      "test_acc_mean", "test_acc_max", "seconds")})
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["count", "seed"], ascending=[False, True], ignore_index=True)


def learned_markdown(table: pd.DataFrame, threshold: float) -> str:
    """The table as Markdown: 'yes (n/K)' where the concatenation learns w_j (n of its K
    networks do), 'no' where none does."""
    head = ["width × networks", "seed"] + [f"w{j + 1} ({KIND[j][:4]}.)" for j in range(5)] + [
        "best test acc.", "mean test acc."]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [f"{r.width}×{r['count']}", str(r.seed)]
        for j in range(1, 6):
            n = r[f"w{j}_nets"]
            cells.append(f"yes ({n}/{r['count']})" if r[f"w{j}_learned"] else "no")
        cells += [f"{r.test_acc_max:.3f}", f"{r.test_acc_mean:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    note = (f"\nA network learns w_j when a first-layer neuron activated by w_j has |cos(W_r, w_j)| > {threshold} "
            "at the end of training (eq. 4.1); the concatenation learns it when one of its networks does. "
            f"Label rule: {LABEL_RULE}.\n")
    return "\n".join(lines) + "\n" + note


def finding(runs: Sequence[dict[str, Any]], seed_share: float = 0.5, level: float = LEVEL) -> dict[str, Any]:
    """Empirical finding 4.1, per seed and per concatenation (all conditions but the wide one).

    It holds for a (concatenation, seed) when the wide network learns all five vectors,
    the concatenation learns both addition vectors, and none of its networks learns any
    multiplication vector. ``verdict`` decides it for the narrowest concatenation over the
    seeds (:mod:`featurelab.verdicts`): the share of seeds where it holds, with its exact
    Clopper-Pearson interval, must exceed ``seed_share`` (one seed: no verdict; two seeds
    that both hold give [0.16, 1]: undecided).
    """
    wide = wide_condition(runs)
    by = {(r["condition"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    concats = [c for c in dict.fromkeys(r["condition"] for r in sorted(runs, key=lambda r: -r["count"])) if c != wide]
    per_seed, holds, holds_acc = [], {c: {} for c in concats}, {c: {} for c in concats}
    for seed in seeds:
        w = by.get((wide, seed))
        wide_all = bool(w is not None and all(w["concat_learned"]))
        entry = {"seed": seed, "wide": {"learned": _names(w["concat_learned"]) if w else None,
                                        "learns_all": wide_all,
                                        "test_acc": w["test_acc_max"] if w else None}, "concatenations": {}}
        for c in concats:
            r = by.get((c, seed))
            if r is None:
                continue
            add = all(r["concat_learned"][j] for j in ADDITION)
            mult_lost = not any(r["nets_learned"][j] for j in MULTIPLICATION)
            ok = wide_all and add and mult_lost
            holds[c][seed] = ok
            by_acc = bool(w is not None and w["test_acc_max"] > USES_PRODUCT and r["test_acc_max"] <= USES_PRODUCT)
            holds_acc[c][seed] = by_acc
            entry["concatenations"][c] = {
                "learned": _names(r["concat_learned"]), "nets_learned": dict(zip(_all_names(), r["nets_learned"])),
                "networks": r["count"], "learns_addition": add, "loses_multiplication": mult_lost,
                "best_test_acc": r["test_acc_max"], "holds": ok, "holds_by_accuracy": by_acc}
        per_seed.append(entry)
    narrowest = concats[0] if concats else None
    k = sum(holds[narrowest].values()) if narrowest else 0
    n = len(holds[narrowest]) if narrowest else 0
    decided = verdict(f"4.1 for the narrowest concatenation ({narrowest}): share of seeds where it holds > "
                      f"{seed_share:g}", (proportion_interval(k, n, level), ">", float(seed_share)))
    return {
        "verdict": decided,
        "finding": ("Empirical finding 4.1 (Duzgun, Jelassi, Li (2024)): the wide network learns all signal vectors; a "
                    "concatenation of narrow networks learns the addition vectors, and none of its networks "
                    "learns a multiplication vector"),
        "label_rule": LABEL_RULE,
        "wide": wide,
        "narrowest": narrowest,
        "holds_for_narrowest_at_every_seed": bool(narrowest and all(holds[narrowest].values())),
        "seeds_where_it_holds": {c: [s for s, ok in v.items() if ok] for c, v in holds.items()},
        "seeds_where_it_fails": {c: [s for s, ok in v.items() if not ok] for c, v in holds.items()},
        "by_accuracy": (f"the wide network's test accuracy exceeds {USES_PRODUCT} (it uses the product) and no "
                        f"network of the concatenation's does (without the product at most 0.75 is possible)"),
        "seeds_where_it_holds_by_accuracy": {c: [s for s, ok in v.items() if ok] for c, v in holds_acc.items()},
        "per_seed": per_seed,
    }


def _all_names() -> list[str]:
    return [f"w{j + 1}" for j in range(5)]


def _names(flags: Sequence[bool]) -> list[str]:
    return [n for n, f in zip(_all_names(), flags) if f]
