"""Theory against experiment (Jiang, Baek, Kolter, "On the Joint Interaction of Models, Data, and
Features", ICLR 2024, §5): the closed forms at the parameters estimated from Ω
(:mod:`featurelab.theory.estimate`) predict accuracy and agreement (:func:`predict`), set
beside what the ensemble measures (:func:`measured`, :func:`compare_table`); on the synthetic
world the estimates are scored against the generator's truth (:func:`synthetic_truth`,
:func:`score_against_truth`).

:func:`predict` with ``num_classes=2`` is the paper's closed form. With ``num_classes=C``
it is our multi-class reading of the same story (not in the paper; App. D.4 only sketches
one): a guessing model is right with probability 1/C instead of 1/2, and two guessing models
sharing k > 0 features agree with probability ``κ + (1 − κ)/C``, κ = 2ζ − 1 (clipped at 0),
so ``Acc_C = p_d (1 − m_d (1 − 1/C)) + p_r (1 − m_r (1 − 1/C))`` and
``Agr_C = q1 + (1 − q1 − Σ_k q2(k))/C + q2(0)/C + Σ_{k≥1} ζ_C(k) q2(k)``, which equals
Prop. 5.1/5.2 at C = 2.
"""
from __future__ import annotations

import math
from dataclasses import asdict, is_dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import closed_forms
from .estimate import PARAM_NAMES, params_of
from .sweeps import _zeta_meta


def predict(params: Mapping[str, Any] | closed_forms.Params, zeta: Any = None,
            num_classes: int = 2) -> dict[str, Any]:
    """Closed-form accuracy and agreement for estimated parameters.

    ``params``: a dict with p_d, c, t_d, t_r, n_d, n_r (e.g. :func:`estimate_parameters`'s
    result; its ``"zeta"`` entry is used when ``zeta`` is None) or a Params. ``zeta``: any
    spec of :func:`featurelab.theory.make_zeta`; default §5.2's constant 0.9.
    ``num_classes=2`` gives the paper's Prop. 5.1/5.2 exactly (:func:`closed_forms.accuracy`,
    :func:`closed_forms.agreement`); larger values the multi-class guessing reading of the module
    docstring. Returns accuracy, agreement, difference, num_classes and the parameters.
    """
    if isinstance(params, closed_forms.Params):
        prm, zspec = params, zeta
    else:
        prm = params_of(params)
        zspec = zeta if zeta is not None else params.get("zeta")
    C = int(num_classes)
    if C < 2:
        raise ValueError(f"num_classes must be ≥ 2, got {num_classes}")
    cf = closed_forms.closed_form(prm, zspec)
    if C == 2:
        acc, agr = float(cf["accuracy"]), float(cf["agreement"])
    else:
        zfn = closed_forms.make_zeta(zspec)
        q1, q2 = float(cf["q1"]), [float(v) for v in cf["q2"]]
        g = 1.0 / C
        acc = float(prm.p_exact) * (1 - cf["m_d"] * (1 - g)) + float(prm.p_r) * (1 - cf["m_r"] * (1 - g))
        agr = q1 + (1 - q1 - sum(q2)) * g + q2[0] * g
        for k in range(1, prm.c + 1):
            kappa = 2 * float(zfn(k, prm.c)) - 1
            agr += max(0.0, kappa + (1 - kappa) * g) * q2[k]
    zmeta = _zeta_meta(zspec)
    return {"accuracy": float(acc), "agreement": float(agr), "difference": float(acc - agr),
            "num_classes": C, **{k: (float(v) if k == "p_d" else int(v))
                                 for k, v in prm.as_dict().items()},
            "zeta_family": zmeta["zeta_family"], "zeta_eta": zmeta["eta"]}


def measured(predictions: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Measured ensemble quantities: mean member accuracy and mean pairwise agreement.

    ``accuracy``/``accuracy_std``: mean / sample std (ddof=1) over the M members;
    ``agreement``/``agreement_std``: over the M(M−1)/2 pairs (share of points where the two
    predictions coincide); ``difference`` = accuracy − agreement and ``difference_std``, the
    std over pairs of (mean accuracy of the pair − its agreement). Stds are NaN with fewer
    than two values. Also n_models, n_points, n_pairs.
    """
    pr = np.asarray(predictions)
    y = np.asarray(labels)
    if pr.ndim != 2 or y.shape != (pr.shape[1],):
        raise ValueError(f"predictions must be (M, N) and labels (N,), got {pr.shape} and {y.shape}")
    m, n = pr.shape
    if m < 1 or n < 1:
        raise ValueError("need at least one model and one point")
    acc = (pr == y[None, :]).mean(axis=1)
    iu, ju = np.triu_indices(m, 1)
    agr = np.array([(pr[i] == pr[j]).mean() for i, j in zip(iu, ju)])
    diff = (acc[iu] + acc[ju]) / 2 - agr

    def sd(x: np.ndarray) -> float:
        return float(np.std(x, ddof=1)) if x.size > 1 else math.nan

    return {"accuracy": float(acc.mean()), "accuracy_std": sd(acc),
            "agreement": float(agr.mean()) if agr.size else math.nan, "agreement_std": sd(agr),
            "difference": float(acc.mean() - agr.mean()) if agr.size else math.nan,
            "difference_std": sd(diff), "n_models": int(m), "n_points": int(n),
            "n_pairs": int(agr.size)}


def _variant_name(pred: Mapping[str, Any]) -> str:
    C = int(pred.get("num_classes", 2))
    return "paper (binary)" if C == 2 else f"{C}-class guessing"


def compare_table(estimates: Mapping[str, Any], measured: Mapping[str, Any],
                  predicted: Mapping[str, Any], label: str = "") -> pd.DataFrame:
    """Predicted vs measured accuracy, agreement and difference, one row per quantity.

    ``predicted``: one :func:`predict` result, or a mapping ``{variant name: result}`` (e.g.
    the binary closed form and the C-class reading). ``label`` names the ensemble (a column,
    so tables of several ensembles can be concatenated). Columns: label, variant, quantity,
    measured, measured_std, predicted, predicted_minus_measured, then the parameters p_d, c,
    t_d, t_r, n_d, n_r, zeta_eta and num_classes used for the prediction.
    """
    if "accuracy" in predicted:
        variants = {_variant_name(predicted): predicted}
    else:
        variants = dict(predicted)
    rows = []
    for name, pred in variants.items():
        for q in ("accuracy", "agreement", "difference"):
            mv = float(measured[q])
            pv = float(pred[q])
            rows.append({"label": label, "variant": name, "quantity": q, "measured": mv,
                         "measured_std": float(measured.get(f"{q}_std", math.nan)),
                         "predicted": pv, "predicted_minus_measured": pv - mv,
                         **{k: pred.get(k, estimates.get(k)) for k in PARAM_NAMES},
                         "zeta_eta": pred.get("zeta_eta", estimates.get("zeta_eta")),
                         "num_classes": int(pred.get("num_classes", 2))})
    return pd.DataFrame(rows)


def synthetic_truth(world: Any, truth: pd.DataFrame | None = None) -> dict[str, float]:
    """The data-side parameters of the synthetic world for :func:`score_against_truth`.

    ``world``: a :class:`featurelab.data.synthetic.WorldConfig` or its dict (keys p_d, t_d,
    t_r, n_d, n_r per class, blue_tie). ``truth``: the ground-truth table of the split the
    tensor was built on (:func:`featurelab.data.synthetic.generate_split`). Returns p_d, t_d,
    t_r, n_d, n_r (config), ``t_r_effective`` (mean ``rare_pool`` over the split's rare
    images: with the blue tie a rare image draws from its first pool(u) rare motifs only;
    = t_r without the tie) and ``p_d_empirical`` (share of dominant images in the split).
    """
    w = asdict(world) if is_dataclass(world) else dict(world)
    out = {k: float(w[k]) if k == "p_d" else int(w[k]) for k in ("p_d", "t_d", "t_r", "n_d", "n_r")}
    bt = w.get("blue_tie") or {}
    tie = bool(bt.get("enabled", True)) if isinstance(bt, Mapping) else True
    if truth is not None:
        rare = ~truth["dominant"].astype(bool) if "dominant" in truth.columns else slice(None)
        pool = truth.loc[rare, "rare_pool"] if "rare_pool" in truth.columns else None
        out["t_r_effective"] = (float(pool.mean()) if pool is not None and len(pool)
                                else float(out["t_r"]))
        if "dominant" in truth.columns:
            out["p_d_empirical"] = float(truth["dominant"].astype(bool).mean())
    elif not tie:
        out["t_r_effective"] = float(out["t_r"])
    return out


def score_against_truth(estimates: Mapping[str, Any], truth_params: Mapping[str, Any]
                        ) -> pd.DataFrame:
    """Estimated vs true data-side parameters (synthetic world).

    Rows p_d, t_d, t_r, n_d, n_r (those in ``truth_params``), plus ``t_r (effective)``
    (estimated t_r against ``truth_params["t_r_effective"]``) and ``p_d (empirical)`` when
    given. Columns parameter, true, estimated (the valid integer estimate), abs_error,
    rel_error (abs_error/|true|), estimated_raw (the continuous estimate ``*_hat``).
    """
    rows = []
    pairs = [(k, k, k) for k in ("p_d", "t_d", "t_r", "n_d", "n_r")]
    pairs += [("t_r (effective)", "t_r_effective", "t_r"), ("p_d (empirical)", "p_d_empirical", "p_d")]
    for name, tkey, ekey in pairs:
        if tkey not in truth_params or truth_params[tkey] is None:
            continue
        tv = float(truth_params[tkey])
        ev = float(estimates[ekey])
        raw = estimates.get(f"{ekey}_hat")
        rows.append({"parameter": name, "true": tv, "estimated": ev, "abs_error": abs(ev - tv),
                     "rel_error": abs(ev - tv) / abs(tv) if tv else math.nan,
                     "estimated_raw": float(raw) if raw is not None else math.nan})
    return pd.DataFrame(rows, columns=["parameter", "true", "estimated", "abs_error",
                                       "rel_error", "estimated_raw"])


def theory_vs_experiment(tensor: Any, label: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """The framework's parameters estimated from an ensemble's tensor bundle
    (:class:`featurelab.interaction.Tensor`), and the table of predicted against measured
    accuracy and agreement: the paper's binary guessing and our C-class reading."""
    from .estimate import estimate_parameters

    t = tensor
    est = estimate_parameters(t.triplets, t.M, t.N, t.T, t.clusters, t.predictions, t.labels)
    predicted = {"paper (binary guessing)": predict(est),
                 f"{est['num_classes']}-class guessing (our extension)": predict(est, num_classes=est["num_classes"])}
    return est, compare_table(est, measured(t.predictions, t.labels), predicted, label=label)
