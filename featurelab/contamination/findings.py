"""The contamination study's findings, each a number with its spread and a verdict stated before
the run (Zhang et al., "Feature Contamination: Neural Networks Learn Uncorrelated Features
and Fail to Generalize", ICML 2024).

Numerical setting (Secs. 3-4, App. F.1; the thresholds are the ones our issue tracker set
before the first run, for 20,000 iterations; a shorter run is judged by the same rule and
says how many iterations it had):

* the ReLU network's background projection ``bg_norm`` grows by a factor ≥ 1.5 (Thm 4.2);
* the linear network's only shrinks as weight decay alone would shrink it:
  ratio ≤ the momentum-SGD decay factor of a zero-gradient direction, within 5% (Thm 4.4);
* ReLU: OOD hinge risk ≥ 0.5 with ID hinge risk ≤ 0.05 (Thm 4.3); linear: OOD hinge risk
  ≤ 0.02;
* ReLU's mean activation asymmetry is larger at the end than at initialisation (Thm 4.1);
* the extension (Fig 3d/10): an activation "accumulates background features" when its
  ``bg_norm`` grows by a factor ≥ 1.5.

Deep networks (Sec. 5, App. F.2-F.3): trained selectivity above initial selectivity per
stage (paired over members), and selectivity and accuracy lower on the background-shifted
split than on the test split. Padding (App. F.4): the padded networks respond more to the
padding colour, relative to grey, than their controls, and lose less accuracy when test
images are padded with their training colour than with another colour.

A spread is the standard error (se) over the replicates (seeds or members). A verdict is
``holds`` when the interval mean ± 2 se lies on the rule's side of its threshold, ``fails``
when it lies on the other side, ``undecided`` when it straddles the threshold; with one
replicate there is no interval and the verdict rests on the one value (``basis``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Columns of the curves table that identify a run.
RUN_KEYS = ("run", "task", "activation", "variant", "seed")
GROWTH = 1.5
ID_RISK_MAX, OOD_RISK_MIN, LINEAR_OOD_MAX = 0.05, 0.5, 0.02
DECAY_TOLERANCE = 0.05
#: Standard errors on each side of a mean that a verdict's interval spans.
Z = 2.0


def mean_se(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "se", "n", "values"}``: the standard error is null below two values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None
    return {"mean": float(v.mean()) if len(v) else None, "se": se, "n": int(len(v)),
            "values": [float(x) for x in v]}


# ---------------------------------------------------------------- numerical setting
def numerical_tables(specs: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs' curves (one row per run and recorded iteration) and their per-neuron records
    (one row per run, snapshot iteration and neuron: the class-conditional activation
    probabilities; the core and background projections at the first and last snapshot),
    from :func:`.numerical.run_batch`."""
    curves, neurons = [], []
    for spec, res in zip(specs, results):
        keys = {k: spec[k] if k != "run" else spec["name"] for k in RUN_KEYS}
        it = np.asarray(res["iteration"])
        cols = {k: np.asarray(v) for k, v in res.items()
                if isinstance(v, np.ndarray) and v.ndim == 1 and len(v) == len(it) and k != "iteration"}
        curves.append(pd.DataFrame({**keys, "iteration": it, **cols}))
        rec = res.get("neuron_iteration")
        if rec is not None:
            rec = np.asarray(rec)
            p_pos, p_neg = np.asarray(res["neuron_p_pos"]), np.asarray(res["neuron_p_neg"])
            S, m = p_pos.shape
            core, bg = np.full((S, m), np.nan), np.full((S, m), np.nan)
            core[0], bg[0] = res["neuron_core_norm_init"], res["neuron_bg_norm_init"]  # snapshot 0 is the init
            core[-1], bg[-1] = res["neuron_core_norm_end"], res["neuron_bg_norm_end"]
            neurons.append(pd.DataFrame({**keys, "iteration": np.repeat(rec, m), "neuron": np.tile(np.arange(m), S),
                                         "p_pos": p_pos.ravel(), "p_neg": p_neg.ravel(),
                                         "asymmetry": np.abs(p_pos - p_neg).ravel(),
                                         "core_norm": core.ravel(), "bg_norm": bg.ravel()}))
    return (pd.concat(curves, ignore_index=True),
            pd.concat(neurons, ignore_index=True) if neurons else pd.DataFrame(columns=[*RUN_KEYS, "iteration"]))


def _ends(curves: pd.DataFrame, task: str, activation: str, variant: str) -> pd.DataFrame:
    """First and last record of every seed of one (task, activation, variant)."""
    d = curves[(curves.task == task) & (curves.activation == activation) & (curves.variant == variant)]
    first = d.sort_values("iteration").groupby("seed").first()
    last = d.sort_values("iteration").groupby("seed").last()
    return first.join(last, lsuffix="_0", rsuffix="_T")


def numerical_findings(curves: pd.DataFrame, decay_factors: dict[str, float], iterations: dict[str, int]
                       ) -> dict[str, Any]:
    """The numerical setting's findings (module docstring), per task and model variant;
    ``decay_factors`` and ``iterations`` per task (the linear network's rule uses the
    classification runs' factor)."""
    out: dict[str, Any] = {"iterations": {k: int(v) for k, v in iterations.items()},
                           "linear_decay_factor": {k: float(v) for k, v in decay_factors.items()}}
    decay_factor = decay_factors.get("classification", 1.0)
    cls = curves[curves.task == "classification"]
    for variant in sorted(cls.variant.unique()):
        v: dict[str, Any] = {}
        acts = set(cls[cls.variant == variant].activation)
        if "relu" in acts:
            e = _ends(curves, "classification", "relu", variant)
            growth = mean_se(e.bg_norm_T / e.bg_norm_0)
            ood, idr = mean_se(e.ood_loss_T), mean_se(e.id_loss_T)
            asym0, asymT = mean_se(e.asymmetry_0), mean_se(e.asymmetry_T)
            v["relu"] = {
                "bg_norm_growth": growth,
                "bg_grows": _verdict(f"bg_norm(T)/bg_norm(0) > {GROWTH}", (growth, ">", GROWTH)),
                "core_norm_growth": mean_se(e.core_norm_T / e.core_norm_0),
                "id_hinge_risk": idr, "ood_hinge_risk": ood,
                "id_error": mean_se(e.id_error_T), "ood_error": mean_se(e.ood_error_T),
                "risk_gap": _verdict(f"ID hinge risk < {ID_RISK_MAX} and OOD hinge risk > {OOD_RISK_MIN}",
                                     (idr, "<", ID_RISK_MAX), (ood, ">", OOD_RISK_MIN)),
                "asymmetry_start": asym0, "asymmetry_end": asymT,
                "asymmetry_rises": _verdict("mean asymmetry at T − at 0 > 0",
                                            (mean_se(e.asymmetry_T - e.asymmetry_0), ">", 0.0)),
            }
        if "identity" in acts:
            e = _ends(curves, "classification", "identity", variant)
            ratio = mean_se(e.bg_norm_T / e.bg_norm_0)
            ood = mean_se(e.ood_loss_T)
            v["identity"] = {
                "bg_norm_ratio": ratio,
                "bg_only_decays": _verdict(f"bg_norm(T)/bg_norm(0) < {decay_factor:.4f} (weight decay alone) "
                                           f"+ {DECAY_TOLERANCE:.0%}",
                                           (ratio, "<", decay_factor * (1 + DECAY_TOLERANCE))),
                "id_hinge_risk": mean_se(e.id_loss_T), "ood_hinge_risk": ood,
                "id_error": mean_se(e.id_error_T), "ood_error": mean_se(e.ood_error_T),
                "ood_risk_small": _verdict(f"OOD hinge risk < {LINEAR_OOD_MAX}", (ood, "<", LINEAR_OOD_MAX)),
            }
        out[f"classification_{variant}"] = v
    reg = curves[curves.task == "regression"]
    for variant in sorted(reg.variant.unique()):
        v = {}
        for act in sorted(set(reg[reg.variant == variant].activation)):
            e = _ends(curves, "regression", act, variant)
            v[act] = {"bg_norm_growth": mean_se(e.bg_norm_T / e.bg_norm_0),
                      "id_mse": mean_se(e.id_loss_T), "ood_mse": mean_se(e.ood_loss_T)}
        out[f"regression_{variant}"] = v
    sph = curves[curves.task == "spheres"]
    if len(sph):
        v = {}
        for act in sorted(set(sph.activation)):
            for variant in sorted(set(sph[sph.activation == act].variant)):
                e = _ends(curves, "spheres", act, variant)
                g = mean_se(e.bg_norm_T / e.bg_norm_0)
                v[act] = {"bg_norm_growth": g,
                          "accumulates": _verdict(f"bg_norm(T)/bg_norm(0) > {GROWTH}", (g, ">", GROWTH)),
                          "id_hinge_risk": mean_se(e.id_loss_T), "ood_hinge_risk": mean_se(e.ood_loss_T),
                          "id_error": mean_se(e.id_error_T), "ood_error": mean_se(e.ood_error_T)}
        out["spheres"] = v
        out["spheres_accumulating"] = [a for a, f in v.items() if f["accumulates"]["holds"]]
        out["spheres_not_accumulating"] = [a for a, f in v.items() if f["accumulates"]["holds"] is False]
    return out


def _side(stat: dict[str, Any], op: str, c: float) -> bool | None:
    """Whether ``stat`` (:func:`mean_se`) is ``op`` (``>`` or ``<``) ``c``: True or False when its
    interval mean ± Z·se decides it (the mean alone with one replicate), None otherwise."""
    m, se = stat["mean"], stat["se"]
    if m is None:
        return None
    lo, hi = (m, m) if se is None else (m - Z * se, m + Z * se)
    if op == ">":
        return True if lo > c else False if hi <= c else None
    return True if hi < c else False if lo >= c else None


def _verdict(rule: str, *sides: tuple[dict[str, Any], str, float]) -> dict[str, Any]:
    """A verdict on every ``(stat, op, threshold)`` holding together."""
    got = [_side(*x) for x in sides]
    holds = False if False in got else None if None in got else True
    n = min(x[0]["n"] for x in sides)
    return {"holds": holds, "verdict": {True: "holds", False: "fails", None: "undecided"}[holds], "rule": rule,
            "basis": f"mean ± {Z:g} se over {n} replicates" if n > 1 else "one replicate: the value itself"}


# ---------------------------------------------------------------- deep networks
def deep_tables(channels: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per (member, state, split, stage): mean selectivity, the ranked class activation rates
    (Fig 4/11: rank 1 = each channel's most activating class), and the channels' mean
    activations (Fig 15)."""
    keys = ["member", "state", "split", "stage"]
    per_channel = channels.groupby([*keys, "channel"], as_index=False).agg(
        selectivity=("selectivity", "first"), mean=("mean", "mean"))
    sel = per_channel.groupby(keys, as_index=False).selectivity.mean()
    ranked = channels.copy()
    ranked["rank"] = ranked.groupby([*keys, "channel"]).rate.rank(ascending=False, method="first").astype(int)
    ranked = ranked.groupby([*keys, "rank"], as_index=False).rate.mean()
    return {"selectivity": sel, "ranked": ranked, "channel_mean": per_channel}


def deep_findings(channels: pd.DataFrame, accuracy: pd.DataFrame) -> dict[str, Any]:
    t = deep_tables(channels)
    sel = t["selectivity"]
    out: dict[str, Any] = {"stages": {}}
    splits = sorted(sel.split.unique())
    for stage in sorted(sel.stage.unique()):
        s = sel[sel.stage == stage].pivot_table(index="member", columns=["state", "split"], values="selectivity")
        entry: dict[str, Any] = {}
        tr, ini = s[("trained", "test")], s[("init", "test")]
        d = mean_se(tr - ini)
        entry["selectivity_trained"] = mean_se(tr)
        entry["selectivity_init"] = mean_se(ini)
        entry["trained_minus_init"] = d
        entry["training_raises_selectivity"] = _verdict("trained − init > 0, paired over members", (d, ">", 0.0))
        if "shifted" in splits:
            ds = mean_se(s[("trained", "shifted")] - tr)
            entry["selectivity_trained_shifted"] = mean_se(s[("trained", "shifted")])
            entry["shifted_minus_test"] = ds
            entry["shift_lowers_selectivity"] = _verdict("shifted − test < 0, paired over members", (ds, "<", 0.0))
        out["stages"][int(stage)] = entry
    acc = accuracy.pivot_table(index="member", columns=["state", "split"], values="accuracy")
    out["accuracy_test"] = mean_se(acc[("trained", "test")])
    if "shifted" in splits:
        drop = mean_se(acc[("trained", "test")] - acc[("trained", "shifted")])
        out["accuracy_shifted"] = mean_se(acc[("trained", "shifted")])
        out["accuracy_drop_under_shift"] = drop
        out["shift_lowers_accuracy"] = _verdict("test accuracy − shifted accuracy > 0", (drop, ">", 0.0))
    return out


# ---------------------------------------------------------------- padding
def padding_tables(measures: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per (kind, member, stage): the channels' mean response to the padding colour, to grey
    and their difference relative to grey; per (kind, member, test): accuracy."""
    r = measures[measures.measure == "response"]
    resp = r.pivot_table(index=["kind", "member", "stage", "channel"], columns="test", values="value").reset_index()
    resp["gap"] = resp["padding colour"] - resp["grey"]
    per_stage = resp.groupby(["kind", "member", "stage"], as_index=False).agg(
        padding=("padding colour", "mean"), grey=("grey", "mean"), gap=("gap", "mean"),
        share_preferring_colour=("gap", lambda g: float((g > 0).mean())))
    per_stage["relative_gap"] = per_stage["gap"] / per_stage["grey"].where(per_stage["grey"] > 0)
    acc = measures[measures.measure == "accuracy"][["kind", "member", "test", "value"]].rename(
        columns={"value": "accuracy"})
    return {"response": per_stage, "accuracy": acc}


def padding_findings(measures: pd.DataFrame) -> dict[str, Any]:
    t = padding_tables(measures)
    resp, acc = t["response"], t["accuracy"]
    out: dict[str, Any] = {"stages": {}}
    for stage in sorted(resp.stage.unique()):
        s = resp[resp.stage == stage]
        pad = s[s.kind == "padded"].set_index("member").gap
        plain = s[s.kind == "plain"].set_index("member").gap
        diff = mean_se(pad - plain)
        out["stages"][int(stage)] = {
            "gap_padded": mean_se(pad), "gap_plain": mean_se(plain), "padded_minus_plain": diff,
            "padded_prefers_colour_more": _verdict("response(colour) − response(grey), padded − plain > 0",
                                                   (diff, ">", 0.0)),
        }
    a = acc.pivot_table(index=["kind", "member"], columns="test", values="accuracy")
    for kind in ("padded", "plain"):
        if kind in a.index.get_level_values(0):
            k = a.loc[kind]
            out[f"accuracy_{kind}"] = {c: mean_se(k[c]) for c in k.columns}
    if "padded" in a.index.get_level_values(0):
        k = a.loc["padded"]
        d = mean_se(k["training colour"] - k["other colour"])
        out["padded_other_colour_cost"] = d
        out["padded_tuned_to_its_colour"] = _verdict(
            "padded networks: accuracy with the training colour − with another colour > 0", (d, ">", 0.0))
    return out


# ---------------------------------------------------------------- the headline experiment
KINDS = ("teacher", "student", "plain")


def headline_findings(table: pd.DataFrame, heads: pd.DataFrame | None = None) -> dict[str, Any]:
    """The claim of Fig 1 and Tables 1-4, as numbers over seeds: per model, ID (test) and OOD
    (shifted) probe accuracy; the student's shortfall against its teacher ID and OOD, and
    whether it grows under the shift ((teacher − student) OOD − (teacher − student) ID > 0,
    the rule stated before the run)."""
    acc = table.pivot_table(index="seed", columns=["model", "split"], values="accuracy")
    out: dict[str, Any] = {"probe_accuracy": {}}
    for kind in KINDS:
        if (kind, "test") in acc:
            out["probe_accuracy"][kind] = {"id": mean_se(acc[(kind, "test")]), "ood": mean_se(acc[(kind, "shifted")]),
                                           "drop": mean_se(acc[(kind, "test")] - acc[(kind, "shifted")])}
    for other in ("student", "plain"):
        gap_id = acc[("teacher", "test")] - acc[(other, "test")]
        gap_ood = acc[("teacher", "shifted")] - acc[(other, "shifted")]
        growth = mean_se(gap_ood - gap_id)
        out[f"teacher_minus_{other}"] = {
            "id": mean_se(gap_id), "ood": mean_se(gap_ood), "ood_minus_id": growth,
            "falls_short_out_of_distribution": _verdict(
                f"(teacher − {other}) on the shifted split − (teacher − {other}) on the test split > 0",
                (growth, ">", 0.0)),
        }
    if heads is not None and len(heads):
        h = heads[heads.split.isin(["test", "shifted"])].pivot_table(index="seed", columns=["model", "split"],
                                                                     values="accuracy")
        out["head_accuracy"] = {k: {"id": mean_se(h[(k, "test")]), "ood": mean_se(h[(k, "shifted")])}
                                for k in ("teacher", "plain") if (k, "test") in h}
    return out
