"""The contamination study's findings, each a number with its spread and a verdict stated before
the run (Zhang et al., "Feature Contamination: Neural Networks Learn Uncorrelated Features
and Fail to Generalize", ICML 2024).

Numerical setting (Secs. 3-4, App. F.1; :func:`numerical_findings`). Every threshold is a key of
``contamination.thresholds`` (:data:`NUMERICAL_THRESHOLDS` holds the defaults); a verdict is
:mod:`featurelab.verdicts`' over seeds (Student-t interval at ``verdicts.level``; one seed:
no verdict). A shorter run than the paper's 20,000 iterations is judged by the same rules
and says how many iterations it had.

* contamination (Thm 4.2, Eq. 8), decided on the *signed* background projection: the mean
  change of ⟨w_k, m_j⟩ over the background j and the neurons N_y of Def. A.4 chosen at
  initialisation (:mod:`.numerical`), in units of the initial background projections' rms
  σ̂0: the ReLU network's is > ``signed_min`` (0: it grows positive); the linear network's
  (the control, Thm 4.4; the same initial network for a seed and variant) is <
  ``linear_signed_max`` (0.1 σ̂0); and the ReLU network's exceeds the linear one's, paired
  over seeds;
* the norms the released script plots, kept beside them: ReLU's ``bg_norm`` grows by ≥
  ``growth`` (1.5); the linear network's shrinks no more slowly than weight decay alone
  would shrink a direction without data gradient, within ``decay_tolerance`` (5%);
* ReLU: OOD hinge risk ≥ ``ood_risk_min`` (0.5) with ID hinge risk ≤ ``id_risk_max`` (0.05)
  (Thm 4.3); linear: OOD hinge risk ≤ ``linear_ood_max`` (0.02);
* ReLU's mean activation asymmetry is larger at the end than at initialisation (Thm 4.1);
* regression (App. F.1, our reading): both networks' ID risk ≤ ``regression_id_ratio_max``
  (10%) of the zero predictor's; the ReLU network's OOD risk exceeds the linear one's
  (paired over seeds); the signed contamination rules as above;
* the extension (Figs 3d, 10): an activation contaminates when its signed background
  projection grows (> ``signed_min`` σ̂0); its norm growth (≥ ``growth``) is reported too.

Deep networks (Sec. 5, App. F.2-F.3): trained selectivity above initial selectivity per
stage (paired over members), and selectivity and accuracy lower on the background-shifted
split than on the test split. Padding (App. F.4): the padded networks respond more to the
padding colour, relative to grey, than their controls, and lose less accuracy when test
images are padded with their training colour than with another colour. The headline
(Sec. 2, Fig 1, Tables 1-4) in two parts: the student matches its teacher in distribution
(|teacher − student| ID probe accuracy within a tolerance) and falls short out of it
(teacher − student OOD above a threshold); its precondition, a teacher at the plain
member's ID accuracy or better, is a verdict of its own. These three parts use
:mod:`featurelab.verdicts` (Student-t intervals over members or pairs, at the config's
``verdicts.level``; one replicate: no verdict) with the thresholds of the config's
``contamination.deep.thresholds``, ``contamination.padding.thresholds`` and
``contamination.headline.thresholds`` (their defaults below).

Every verdict, numerical or deep, is :mod:`featurelab.verdicts`'s: the Student-t interval
over the replicates (seeds or members) at ``verdicts.level``; ``holds`` when it lies on the
rule's side of its threshold, ``fails`` on the other side, ``undecided`` when it straddles
it; one replicate has no interval and gives no verdict.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..verdicts import LEVEL, t_interval, verdict
from .. import verdicts as V

#: Columns of the curves table that identify a run.
RUN_KEYS = ("run", "task", "activation", "variant", "seed")
GROWTH = 1.5
ID_RISK_MAX, OOD_RISK_MIN, LINEAR_OOD_MAX = 0.05, 0.5, 0.02
DECAY_TOLERANCE = 0.05
#: The numerical setting's thresholds (``contamination.thresholds`` in the config; these are
#: the schema's defaults, fixed before the first run of each rule).
NUMERICAL_THRESHOLDS: dict[str, float] = {
    "growth": GROWTH, "id_risk_max": ID_RISK_MAX, "ood_risk_min": OOD_RISK_MIN, "linear_ood_max": LINEAR_OOD_MAX,
    "decay_tolerance": DECAY_TOLERANCE, "signed_min": 0.0, "linear_signed_max": 0.1,
    "regression_id_ratio_max": 0.1,
}


# ---------------------------------------------------------------- numerical setting
#: Scalars of a run's result repeated on each of its curve rows.
RUN_SCALARS = ("bg_init_rms", "n_pos_neurons", "n_neg_neurons")


def numerical_tables(specs: Sequence[dict[str, Any]], results: Sequence[dict[str, Any]]
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs' curves (one row per run and recorded iteration: :data:`.numerical.CURVES` and
    :data:`RUN_SCALARS`) and their per-neuron records (one row per run, snapshot iteration
    and neuron: the class-conditional activation probabilities; the core and background
    projection norms and the mean signed background projection at the first and last
    snapshot; the neuron's class set N_y (+1, −1, 0) and output sign), from
    :func:`.numerical.run_batch`."""
    from .setting import CURVES

    curves, neurons = [], []
    for spec, res in zip(specs, results):
        keys = {k: spec[k] if k != "run" else spec["name"] for k in RUN_KEYS}
        it = np.asarray(res["iteration"])
        cols = {k: np.asarray(res[k]) for k in CURVES if k != "iteration" and k in res}
        cols.update({k: np.full(len(it), float(res[k])) for k in RUN_SCALARS if k in res})
        curves.append(pd.DataFrame({**keys, "iteration": it, **cols}))
        rec = res.get("neuron_iteration")
        if rec is not None:
            rec = np.asarray(rec)
            p_pos, p_neg = np.asarray(res["neuron_p_pos"]), np.asarray(res["neuron_p_neg"])
            S, m = p_pos.shape
            core, bg, signed = np.full((S, m), np.nan), np.full((S, m), np.nan), np.full((S, m), np.nan)
            core[0], bg[0] = res["neuron_core_norm_init"], res["neuron_bg_norm_init"]  # snapshot 0 is the init
            core[-1], bg[-1] = res["neuron_core_norm_end"], res["neuron_bg_norm_end"]
            extra = {}
            if "neuron_bg_signed_init" in res:
                signed[0], signed[-1] = res["neuron_bg_signed_init"], res["neuron_bg_signed_end"]
                extra = {"bg_signed": signed.ravel(), "neuron_class": np.tile(res["neuron_class"], S),
                         "neuron_sign": np.tile(res["neuron_sign"], S)}
            neurons.append(pd.DataFrame({**keys, "iteration": np.repeat(rec, m), "neuron": np.tile(np.arange(m), S),
                                         "p_pos": p_pos.ravel(), "p_neg": p_neg.ravel(),
                                         "asymmetry": np.abs(p_pos - p_neg).ravel(),
                                         "core_norm": core.ravel(), "bg_norm": bg.ravel(), **extra}))
    return (pd.concat(curves, ignore_index=True),
            pd.concat(neurons, ignore_index=True) if neurons else pd.DataFrame(columns=[*RUN_KEYS, "iteration"]))


def _ends(curves: pd.DataFrame, task: str, activation: str, variant: str) -> pd.DataFrame:
    """First and last record of every seed of one (task, activation, variant)."""
    d = curves[(curves.task == task) & (curves.activation == activation) & (curves.variant == variant)]
    first = d.sort_values("iteration").groupby("seed").first()
    last = d.sort_values("iteration").groupby("seed").last()
    return first.join(last, lsuffix="_0", rsuffix="_T")


def _signed(e: pd.DataFrame) -> pd.Series:
    """The signed background change at the end in units of σ̂0, per seed (NaN without σ̂0)."""
    if "bg_signed_T" not in e or "bg_init_rms_T" not in e:
        return pd.Series(np.nan, index=e.index)
    return e.bg_signed_T / e.bg_init_rms_T


def _signed_entry(e: pd.DataFrame, level: float) -> dict[str, Any]:
    """The signed projections of one (task, activation, variant) at the end, over seeds."""
    if "bg_signed_T" not in e:
        return {}
    return {"bg_signed_change": V.t_interval(e.bg_signed_T, level),
            "bg_signed_change_pos": V.t_interval(e.bg_signed_pos_T, level),
            "bg_signed_change_neg": V.t_interval(e.bg_signed_neg_T, level),
            "bg_signed_change_rel": V.t_interval(_signed(e), level),
            "core_signed_change": V.t_interval(e.core_signed_T, level),
            "bg_init_rms": V.t_interval(e.bg_init_rms_T, level)}


def _contamination_verdicts(relu: pd.DataFrame | None, linear: pd.DataFrame | None, th: dict[str, float],
                            level: float) -> dict[str, Any]:
    """Thm 4.2 against the control of Thm 4.4, on the signed background projection (σ̂0 units)."""
    out: dict[str, Any] = {}
    if relu is not None:
        out["relu_contaminated"] = V.verdict(
            f"ReLU: mean Δ⟨w_k, m_bg⟩ over N_±1 / σ̂0 > {th['signed_min']:g}",
            (V.t_interval(_signed(relu), level), ">", th["signed_min"]))
    if linear is not None:
        out["linear_not_contaminated"] = V.verdict(
            f"linear: mean Δ⟨w_k, m_bg⟩ over N_±1 / σ̂0 < {th['linear_signed_max']:g}",
            (V.t_interval(_signed(linear), level), "<", th["linear_signed_max"]))
    if relu is not None and linear is not None:
        both = _signed(relu).to_frame("relu").join(_signed(linear).to_frame("linear"), how="inner")
        diff = V.t_interval(both.relu - both.linear, level)
        out["relu_minus_linear"] = diff
        out["relu_above_linear"] = V.verdict("ReLU − linear signed background change (σ̂0 units) > 0, paired over "
                                             "seeds (the same initial network)", (diff, ">", 0.0))
    return out


def numerical_findings(curves: pd.DataFrame, decay_factors: dict[str, float], iterations: dict[str, int],
                       thresholds: dict[str, float] | None = None, level: float = V.LEVEL) -> dict[str, Any]:
    """The numerical setting's findings (module docstring), per task and model variant.

    ``decay_factors``: the factor weight decay alone applies to a direction without data
    gradient, keyed ``"<task>_<variant>"`` (or ``"<task>"``, used for every variant);
    ``iterations`` per task; ``thresholds``: :data:`NUMERICAL_THRESHOLDS`' keys (missing keys
    take the defaults); ``level``: the intervals' level."""
    th = {**NUMERICAL_THRESHOLDS, **(thresholds or {})}
    unknown = sorted(set(th) - set(NUMERICAL_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown numerical thresholds {unknown}; allowed: {', '.join(sorted(NUMERICAL_THRESHOLDS))}")
    out: dict[str, Any] = {"iterations": {k: int(v) for k, v in iterations.items()},
                           "linear_decay_factor": {k: float(v) for k, v in decay_factors.items()},
                           "thresholds": th, "level": float(level)}

    def factor(task: str, variant: str) -> float:
        return float(decay_factors.get(f"{task}_{variant}", decay_factors.get(task, 1.0)))

    def t(values) -> dict[str, Any]:
        return V.t_interval(values, level)

    cls = curves[curves.task == "classification"]
    for variant in sorted(cls.variant.unique()):
        v: dict[str, Any] = {}
        acts = set(cls[cls.variant == variant].activation)
        relu = _ends(curves, "classification", "relu", variant) if "relu" in acts else None
        linear = _ends(curves, "classification", "identity", variant) if "identity" in acts else None
        if relu is not None:
            e = relu
            growth = t(e.bg_norm_T / e.bg_norm_0)
            ood, idr = t(e.ood_loss_T), t(e.id_loss_T)
            v["relu"] = {
                **_signed_entry(e, level),
                "bg_norm_growth": growth,
                "bg_norm_grows": V.verdict(f"bg_norm(T)/bg_norm(0) > {th['growth']:g} (the norm toy.py plots; "
                                           "contamination is decided on the signed projection)",
                                           (growth, ">", th["growth"])),
                "core_norm_growth": t(e.core_norm_T / e.core_norm_0),
                "id_hinge_risk": idr, "ood_hinge_risk": ood,
                "id_error": t(e.id_error_T), "ood_error": t(e.ood_error_T),
                "risk_gap": V.verdict(f"ID hinge risk < {th['id_risk_max']:g} and OOD hinge risk > "
                                      f"{th['ood_risk_min']:g}",
                                      (idr, "<", th["id_risk_max"]), (ood, ">", th["ood_risk_min"])),
                "asymmetry_start": t(e.asymmetry_0), "asymmetry_end": t(e.asymmetry_T),
                "asymmetry_rises": V.verdict("mean asymmetry at T − at 0 > 0",
                                             (t(e.asymmetry_T - e.asymmetry_0), ">", 0.0)),
            }
        if linear is not None:
            e = linear
            ratio = t(e.bg_norm_T / e.bg_norm_0)
            ood = t(e.ood_loss_T)
            f = factor("classification", variant)
            v["identity"] = {
                **_signed_entry(e, level),
                "bg_norm_ratio": ratio, "weight_decay_factor": f,
                "bg_only_decays": V.verdict(f"bg_norm(T)/bg_norm(0) < {f:.4f} (weight decay alone) "
                                            f"+ {th['decay_tolerance']:.0%}",
                                            (ratio, "<", f * (1 + th["decay_tolerance"]))),
                "id_hinge_risk": t(e.id_loss_T), "ood_hinge_risk": ood,
                "id_error": t(e.id_error_T), "ood_error": t(e.ood_error_T),
                "ood_risk_small": V.verdict(f"OOD hinge risk < {th['linear_ood_max']:g}",
                                            (ood, "<", th["linear_ood_max"])),
            }
        v["contamination"] = _contamination_verdicts(relu, linear, th, level)
        out[f"classification_{variant}"] = v
    reg = curves[curves.task == "regression"]
    for variant in sorted(reg.variant.unique()):
        v = {}
        acts = sorted(set(reg[reg.variant == variant].activation))
        ends = {act: _ends(curves, "regression", act, variant) for act in acts}
        for act, e in ends.items():
            ratio = t(e.id_loss_T / e.id_zero_risk_T)
            v[act] = {**_signed_entry(e, level),
                      "bg_norm_growth": t(e.bg_norm_T / e.bg_norm_0),
                      "id_risk": t(e.id_loss_T), "ood_risk": t(e.ood_loss_T),
                      "id_zero_risk": t(e.id_zero_risk_T), "ood_zero_risk": t(e.ood_zero_risk_T),
                      "id_risk_over_zero": ratio, "ood_risk_over_zero": t(e.ood_loss_T / e.ood_zero_risk_T),
                      "fits_in_distribution": V.verdict(
                          f"ID risk / the zero predictor's ID risk < {th['regression_id_ratio_max']:g}",
                          (ratio, "<", th["regression_id_ratio_max"]))}
        if "relu" in ends and "identity" in ends:
            both = ends["relu"].ood_loss_T.to_frame("relu").join(ends["identity"].ood_loss_T.to_frame("linear"),
                                                                 how="inner")
            diff = t(both.relu - both.linear)
            v["ood_risk_relu_minus_linear"] = diff
            v["relu_fails_ood"] = V.verdict("ReLU OOD risk − linear OOD risk > 0, paired over seeds",
                                            (diff, ">", 0.0))
        v["contamination"] = _contamination_verdicts(ends.get("relu"), ends.get("identity"), th, level)
        out[f"regression_{variant}"] = v
    sph = curves[curves.task == "spheres"]
    if len(sph):
        v = {}
        for act in sorted(set(sph.activation)):
            for variant in sorted(set(sph[sph.activation == act].variant)):
                e = _ends(curves, "spheres", act, variant)
                g = t(e.bg_norm_T / e.bg_norm_0)
                v[act] = {**_signed_entry(e, level),
                          "contaminates": V.verdict(f"mean Δ⟨w_k, m_bg⟩ over N_±1 / σ̂0 > {th['signed_min']:g}",
                                                    (t(_signed(e)), ">", th["signed_min"])),
                          "bg_norm_growth": g,
                          "bg_norm_grows": V.verdict(f"bg_norm(T)/bg_norm(0) > {th['growth']:g}",
                                                     (g, ">", th["growth"])),
                          "id_logistic_risk": t(e.id_loss_T), "ood_logistic_risk": t(e.ood_loss_T),
                          "id_error": t(e.id_error_T), "ood_error": t(e.ood_error_T)}
        out["spheres"] = v
        out["spheres_contaminating"] = [a for a, f in v.items() if f["contaminates"]["holds"]]
        out["spheres_not_contaminating"] = [a for a, f in v.items() if f["contaminates"]["holds"] is False]
    return out


# ---------------------------------------------------------------- deep networks
#: Defaults of ``contamination.deep.thresholds`` (schemas/config.schema.yaml).
DEEP_THRESHOLDS = {"selectivity_rise": 0.0, "shift_selectivity_drop": 0.0, "shift_accuracy_drop": 0.0}
#: Defaults of ``contamination.padding.thresholds``.
PADDING_THRESHOLDS = {"colour_preference": 0.0, "other_colour_cost": 0.0}
#: Defaults of ``contamination.headline.thresholds``: the ID tolerance from the paper's Table 1
#: (its ImageNet CNN pairs differ by at most 0.0059 in ID accuracy) with room for a small
#: world's probe noise; any OOD shortfall; a teacher within 0.02 of the plain member ID or above.
HEADLINE_THRESHOLDS = {"id_tolerance": 0.02, "ood_shortfall": 0.0, "teacher_margin": 0.02}


def _thresholds(given: dict[str, float] | None, defaults: dict[str, float]) -> dict[str, float]:
    out = {**defaults, **(given or {})}
    unknown = set(out) - set(defaults)
    if unknown:
        raise ValueError(f"unknown thresholds {sorted(unknown)}; known: {sorted(defaults)}")
    return {k: float(v) for k, v in out.items()}


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


def deep_findings(channels: pd.DataFrame, accuracy: pd.DataFrame, thresholds: dict[str, float] | None = None,
                  level: float = LEVEL) -> dict[str, Any]:
    """Per stage, mean selectivity trained against init and shifted against test (paired over
    members), and accuracy test against shifted; Student-t intervals over the members."""
    th = _thresholds(thresholds, DEEP_THRESHOLDS)
    t = deep_tables(channels)
    sel = t["selectivity"]
    out: dict[str, Any] = {"stages": {}, "thresholds": th}
    splits = sorted(sel.split.unique())
    ti = lambda v: t_interval(v, level)  # noqa: E731
    rise, drop, acc_drop = th["selectivity_rise"], th["shift_selectivity_drop"], th["shift_accuracy_drop"]
    for stage in sorted(sel.stage.unique()):
        s = sel[sel.stage == stage].pivot_table(index="member", columns=["state", "split"], values="selectivity")
        entry: dict[str, Any] = {}
        tr, ini = s[("trained", "test")], s[("init", "test")]
        d = ti(tr - ini)
        entry["selectivity_trained"] = ti(tr)
        entry["selectivity_init"] = ti(ini)
        entry["trained_minus_init"] = d
        entry["training_raises_selectivity"] = verdict(f"trained − init > {rise:g}, paired over members",
                                                       (d, ">", rise))
        if "shifted" in splits:
            ds = ti(s[("trained", "shifted")] - tr)
            entry["selectivity_trained_shifted"] = ti(s[("trained", "shifted")])
            entry["shifted_minus_test"] = ds
            entry["shift_lowers_selectivity"] = verdict(f"shifted − test < −{drop:g}, paired over members",
                                                        (ds, "<", -drop))
        out["stages"][int(stage)] = entry
    acc = accuracy.pivot_table(index="member", columns=["state", "split"], values="accuracy")
    out["accuracy_test"] = ti(acc[("trained", "test")])
    if "shifted" in splits:
        d = ti(acc[("trained", "test")] - acc[("trained", "shifted")])
        out["accuracy_shifted"] = ti(acc[("trained", "shifted")])
        out["accuracy_drop_under_shift"] = d
        out["shift_lowers_accuracy"] = verdict(f"test accuracy − shifted accuracy > {acc_drop:g}", (d, ">", acc_drop))
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


def padding_findings(measures: pd.DataFrame, thresholds: dict[str, float] | None = None,
                     level: float = LEVEL) -> dict[str, Any]:
    """Per stage, the padded networks' colour preference against their controls' (paired over
    members); the padded networks' accuracy with their training colour against another."""
    th = _thresholds(thresholds, PADDING_THRESHOLDS)
    t = padding_tables(measures)
    resp, acc = t["response"], t["accuracy"]
    out: dict[str, Any] = {"stages": {}, "thresholds": th}
    ti = lambda v: t_interval(v, level)  # noqa: E731
    pref, cost = th["colour_preference"], th["other_colour_cost"]
    for stage in sorted(resp.stage.unique()):
        s = resp[resp.stage == stage]
        pad = s[s.kind == "padded"].set_index("member").gap
        plain = s[s.kind == "plain"].set_index("member").gap
        diff = ti(pad - plain)
        out["stages"][int(stage)] = {
            "gap_padded": ti(pad), "gap_plain": ti(plain), "padded_minus_plain": diff,
            "padded_prefers_colour_more": verdict(
                f"response(colour) − response(grey), padded − plain > {pref:g}", (diff, ">", pref)),
        }
    a = acc.pivot_table(index=["kind", "member"], columns="test", values="accuracy")
    for kind in ("padded", "plain"):
        if kind in a.index.get_level_values(0):
            k = a.loc[kind]
            out[f"accuracy_{kind}"] = {c: ti(k[c]) for c in k.columns}
    if "padded" in a.index.get_level_values(0):
        k = a.loc["padded"]
        d = ti(k["training colour"] - k["other colour"])
        out["padded_other_colour_cost"] = d
        out["padded_tuned_to_its_colour"] = verdict(
            f"padded networks: accuracy with the training colour − with another colour > {cost:g}", (d, ">", cost))
    return out


# ---------------------------------------------------------------- the headline experiment
KINDS = ("teacher", "student", "plain")


def headline_findings(table: pd.DataFrame, heads: pd.DataFrame | None = None,
                      thresholds: dict[str, float] | None = None, level: float = LEVEL,
                      line_scale: str = "logit") -> dict[str, Any]:
    """The claim of Fig 1 and Tables 1-4 in two parts, over pairs (seeds): the student matches
    its teacher in distribution (the interval of (teacher − student) ID probe accuracy inside
    ±``id_tolerance``) and falls short out of distribution (that of (teacher − student) OOD
    above ``ood_shortfall``); ``claim`` is both together. Its precondition, a teacher at the
    plain member's ID accuracy or better ((teacher − plain) ID accuracy of their own heads on
    the test split above −``teacher_margin``; from the probes when ``heads`` is None), is
    stated beside it, and the claim's ``note`` says whether it holds. The effective-robustness
    view (Taori et al., NeurIPS 2020; the paper's Fig 1): a line through the plain models'
    (ID, OOD) probe accuracies (``model`` plain and plain_checkpoint rows of ``table``) and each
    teacher's and student's distance above it (:func:`.headline.effective_robustness`)."""
    th = _thresholds(thresholds, HEADLINE_THRESHOLDS)
    tol, short, margin = th["id_tolerance"], th["ood_shortfall"], th["teacher_margin"]
    ti = lambda v: t_interval(v, level)  # noqa: E731
    final = table[table.model.isin(KINDS)]
    acc = final.pivot_table(index="seed", columns=["model", "split"], values="accuracy")
    out: dict[str, Any] = {"thresholds": th, "probe_accuracy": {}}
    for kind in KINDS:
        if (kind, "test") in acc:
            out["probe_accuracy"][kind] = {"id": ti(acc[(kind, "test")]), "ood": ti(acc[(kind, "shifted")]),
                                           "drop": ti(acc[(kind, "test")] - acc[(kind, "shifted")])}
    # the precondition: the teacher at the plain member's ID accuracy or better
    if heads is not None and len(heads):
        h = heads[heads.model.isin(("teacher", "plain")) & heads.split.isin(["test", "shifted"])]
        h = h.pivot_table(index="seed", columns=["model", "split"], values="accuracy")
        out["head_accuracy"] = {k: {"id": ti(h[(k, "test")]), "ood": ti(h[(k, "shifted")])}
                                for k in ("teacher", "plain") if (k, "test") in h}
        basis, gap = "own heads on the test split", h[("teacher", "test")] - h[("plain", "test")]
    else:
        basis, gap = "linear probes on the test split", acc[("teacher", "test")] - acc[("plain", "test")]
    tp = ti(gap)
    pre = verdict(f"teacher − plain ID accuracy ({basis}) > −{margin:g}", (tp, ">", -margin))
    out["teacher_minus_plain_id"] = tp
    out["teacher_at_plain_id_accuracy"] = pre
    for other in ("student", "plain"):
        gap_id = acc[("teacher", "test")] - acc[(other, "test")]
        gap_ood = acc[("teacher", "shifted")] - acc[(other, "shifted")]
        out[f"teacher_minus_{other}"] = {"id": ti(gap_id), "ood": ti(gap_ood), "ood_minus_id": ti(gap_ood - gap_id)}
    ts = out["teacher_minus_student"]
    ts["matches_in_distribution"] = verdict(
        f"−{tol:g} < teacher − student ID probe accuracy < {tol:g}", (ts["id"], "<", tol), (ts["id"], ">", -tol))
    ts["falls_short_out_of_distribution"] = verdict(
        f"teacher − student OOD probe accuracy > {short:g}", (ts["ood"], ">", short))
    ts["claim"] = verdict(
        f"the student matches its teacher ID (|teacher − student| < {tol:g}) and falls short OOD "
        f"(teacher − student > {short:g})",
        (ts["id"], "<", tol), (ts["id"], ">", -tol), (ts["ood"], ">", short),
        note=f"precondition (teacher at the plain member's ID accuracy or better): {pre['verdict']}")
    out["effective_robustness"] = effective_robustness_summary(table, line_scale, level)
    return out


def effective_robustness_summary(table: pd.DataFrame, scale: str = "logit", level: float = LEVEL) -> dict[str, Any]:
    """The plain models' line and each kind's effective robustness (OOD probe accuracy minus the
    line's at its ID accuracy), with Student-t intervals over pairs; the line is None (and
    said so) with fewer than two plain points of distinct ID accuracy."""
    from .headline import effective_robustness_table

    er, line = effective_robustness_table(table, scale)
    out: dict[str, Any] = {"line": line}
    if line is None:
        out["note"] = "fewer than two plain models of distinct ID accuracy: no line, no effective robustness"
        return out
    for kind in ("teacher", "student", "plain"):
        d = er[er.model == kind]
        if len(d):
            out[kind] = t_interval(d.effective_robustness, level)
    return out
