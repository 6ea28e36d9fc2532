"""The interaction study's findings as numbers with verdicts: observations O.1-O.4 of
Jiang, Baek, Kolter (ICLR 2024) §4 and, on the synthetic world, how the
tensor's features recover the true motifs (ground truth written by the generator).
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.stats

from ..verdicts import LEVEL, bootstrap_interval, correlation_interval, pvalue_verdict, verdict
from .figures import _DOM_COLOUR, _RARE_COLOUR, _figure
from .measures import _spearman, _upper_pairs, incidence_matrix, mantel_test


def gini(values: Any) -> float:
    """Gini coefficient of non-negative values (0 = all equal, → 1 = one holds all).

    ``G = Σ_i Σ_j |x_i − x_j| / (2 n² mean)``, computed from the sorted values. NaN for an
    empty input or an all-zero one.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return math.nan
    i = np.arange(1, n + 1)
    return float(2.0 * np.sum(i * x) / (n * total) - (n + 1.0) / n)


def observations(conf: np.ndarray, nfeat: np.ndarray, freq: np.ndarray, n_models: np.ndarray,
                 shared_feat: np.ndarray, shared_err: np.ndarray, *, level: float = LEVEL,
                 long_tail_ratio: float = 2.0, alpha: float = 0.05, resamples: int = 2000,
                 seed: int = 0) -> dict[str, Any]:
    """Observations O.1-O.4 of Jiang, Baek, Kolter (2024) §4 as numbers (JSON-serialisable: float/int/bool).

    O.1 (long tail of ``freq``): ``o1_gini``, ``o1_skewness`` (scipy, biased), the share of
    all incidences held by the top ⌈10 %·T⌉ features ``o1_top10_share`` next to the share
    equal frequencies would give ``o1_top10_uniform_share`` (= ⌈0.1T⌉/T),
    ``o1_median_over_max``, ``o1_frac_below_10pct_max`` (features with freq < 0.1·max).
    ``o1_long_tail`` = skewness > 0 and top-10 % share ≥ 2 × the uniform share.
    O.2: Spearman (rho, p) of (conf, nfeat); ``o2_confidence_falls_with_nfeat`` = rho < 0.
    O.3: Spearman of (freq, n_models); ``o3_models_rise_with_frequency`` = rho > 0.
    O.4: Spearman of (shared_feat, shared_err) over pairs i < j, NaN pairs dropped, and
    ``o4_mantel_p``, the one-sided p of :func:`featurelab.interaction.mantel_test` (the
    pairs share models, so Spearman's own p overstates the evidence);
    ``o4_shared_error_rises_with_shared_features`` = rho > 0.
    Undefined statistics (constant input, fewer than 3 values) are NaN and their boolean
    is False. NaN floats serialise as ``NaN`` with Python's json (allow_nan).

    ``verdicts`` holds each observation as a :mod:`featurelab.verdicts` verdict at ``level``:
    O.1 on the bootstrap over features (``resamples`` draws, ``seed``) of the skewness (> 0)
    and of the top-10 % share over the uniform share (> ``long_tail_ratio``); O.2 and O.3 on
    the Fisher-z interval of Spearman's rho (points and features are the replicates); O.4 on
    the one-sided Mantel test at ``alpha`` in both directions (holds when rho is
    significantly positive, fails when significantly negative), since its pairs share
    models and have no honest per-pair interval.
    """
    f = np.asarray(freq, dtype=np.float64).ravel()
    T = f.size
    total = float(f.sum())
    k10 = int(math.ceil(0.1 * T)) if T else 0
    top10 = float(np.sort(f)[::-1][:k10].sum() / total) if total > 0 else math.nan
    uni10 = k10 / T if T else math.nan
    fmax = float(f.max()) if T else math.nan
    if T >= 3 and np.ptp(f) > 0:
        skew = float(scipy.stats.skew(f))
    else:
        skew = math.nan
    out: dict[str, Any] = {
        "n_features": int(T),
        "n_incidences": int(total),
        "o1_gini": gini(f),
        "o1_skewness": skew,
        "o1_top10_share": top10,
        "o1_top10_uniform_share": float(uni10),
        "o1_median_over_max": float(np.median(f) / fmax) if T and fmax > 0 else math.nan,
        "o1_frac_below_10pct_max": float(np.mean(f < 0.1 * fmax)) if T and fmax > 0 else math.nan,
    }
    out["o1_long_tail"] = bool(np.isfinite(skew) and skew > 0 and np.isfinite(top10)
                               and top10 >= 2.0 * uni10)
    r2, p2 = _spearman(conf, nfeat)
    r3, p3 = _spearman(freq, n_models)
    i, j = _upper_pairs(np.asarray(shared_feat))
    sf = np.asarray(shared_feat, dtype=np.float64)[i, j]
    se = np.asarray(shared_err, dtype=np.float64)[i, j]
    r4, p4 = _spearman(sf, se)
    _, mantel_p, mantel_n = mantel_test(shared_feat, shared_err)
    out.update({
        "o2_spearman_rho": r2, "o2_spearman_p": p2,
        "o3_spearman_rho": r3, "o3_spearman_p": p3,
        "o4_spearman_rho": r4, "o4_spearman_p": p4,
        "o4_n_pairs": int(np.sum(np.isfinite(sf) & np.isfinite(se))),
        "o4_mantel_p": mantel_p, "o4_mantel_relabellings": mantel_n,
        "o2_confidence_falls_with_nfeat": bool(np.isfinite(r2) and r2 < 0),
        "o3_models_rise_with_frequency": bool(np.isfinite(r3) and r3 > 0),
        "o4_shared_error_rises_with_shared_features": bool(np.isfinite(r4) and r4 > 0),
    })
    out["verdicts"] = _observation_verdicts(f, r2, conf, nfeat, r3, freq, n_models, r4, mantel_p, shared_feat,
                                            shared_err, level, long_tail_ratio, alpha, resamples, seed)
    return out


def o4_verdict(shared_feat: np.ndarray, shared_err: np.ndarray, alpha: float = 1 - LEVEL, *,
               rho: float | None = None, p_greater: float | None = None, permutations: int = 9999,
               seed: int = 0) -> dict[str, Any]:
    """O.4 as a verdict: Spearman rho of (shared features, shared error) over the pairs i < j
    and the one-sided Mantel tests (:func:`featurelab.interaction.mantel_test`) both ways at
    ``alpha``: holds when rho is significantly positive, fails when significantly negative.
    ``rho`` / ``p_greater`` skip recomputing what the caller has."""
    if rho is None or p_greater is None:
        rho, p_greater, _ = mantel_test(shared_feat, shared_err, permutations=permutations, seed=seed)
    if np.isfinite(rho):
        _, p_less, _ = mantel_test(shared_feat, -np.asarray(shared_err, dtype=np.float64),
                                   permutations=permutations, seed=seed)
    else:
        p_less = math.nan
    return pvalue_verdict("O.4: Spearman rho(shared features, shared error) over model pairs > 0", rho, p_greater,
                          p_less, alpha, test="Mantel permutation test (models relabelled)")


def _long_tail_stats(f: np.ndarray) -> tuple[float, float]:
    """(skewness, top-10 % share / uniform share) of one sample of feature frequencies."""
    T, total = f.size, f.sum()
    if T < 3 or total <= 0 or np.ptp(f) == 0:
        return math.nan, math.nan
    k10 = int(math.ceil(0.1 * T))
    return float(scipy.stats.skew(f)), float(np.sort(f)[::-1][:k10].sum() / total / (k10 / T))


def _observation_verdicts(f, r2, conf, nfeat, r3, freq, n_models, r4, mantel_p, shared_feat, shared_err,
                          level, long_tail_ratio, alpha, resamples, seed) -> dict[str, Any]:
    skew, ratio = _long_tail_stats(f)
    rng = np.random.default_rng(seed)
    draws = np.array([_long_tail_stats(f[rng.integers(0, f.size, f.size)]) for _ in range(int(resamples))]
                     if f.size >= 3 else np.empty((0, 2)))
    draws = draws.reshape(-1, 2)
    o1 = verdict(f"O.1: skewness of feature frequency > 0 and top-10% share / uniform share > {long_tail_ratio:g}",
                 (bootstrap_interval(skew, draws[:, 0], level, n=int(f.size)), ">", 0.0),
                 (bootstrap_interval(ratio, draws[:, 1], level, n=int(f.size)), ">", float(long_tail_ratio)))

    def n_ok(x: Any, y: Any) -> int:
        a, b = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
        return int(np.sum(np.isfinite(a) & np.isfinite(b)))

    o2 = verdict("O.2: Spearman rho(confidence, number of features) < 0",
                 (correlation_interval(r2, n_ok(conf, nfeat), level), "<", 0.0))
    o3 = verdict("O.3: Spearman rho(feature frequency, models holding it) > 0",
                 (correlation_interval(r3, n_ok(freq, n_models), level), ">", 0.0))
    o4 = o4_verdict(shared_feat, shared_err, alpha, rho=r4, p_greater=mantel_p)
    return {"o1_long_tail": o1, "o2_confidence_falls_with_nfeat": o2, "o3_models_rise_with_frequency": o3,
            "o4_shared_error_rises_with_shared_features": o4}


def _motif_list(v: Any) -> list[int]:
    if isinstance(v, str):
        v = json.loads(v)
    if v is None:
        return []
    return [int(m) for m in np.asarray(v).ravel()]


def _mwu(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0 or b.size == 0:
        return math.nan
    if np.ptp(np.concatenate([a, b])) == 0:
        return 1.0
    return float(scipy.stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else math.nan


def ground_truth_recovery(truth: pd.DataFrame, nfeat: np.ndarray, conf: np.ndarray, triplets: Any,
                          T: int, motifs_per_class: int, t_d: int):
    """How the discovered features relate to the synthetic world's true motifs.

    ``truth`` is the test split's ground truth (:func:`featurelab.data.synthetic.generate_split`):
    one row per test point with ``index`` (= point id in Ω), ``dominant`` (bool) and
    ``motifs`` (global motif ids; ``id % motifs_per_class < t_d`` is a dominant motif).

    Returns ``(summary, fig, df)``.

    summary (JSON-serialisable): point counts; mean nfeat and mean confidence of dominant
    and rare points with two-sided Mann-Whitney U p-values; ``auc_nfeat_rare`` (ROC AUC of
    nfeat as a score for "is rare"; > 0.5 when rare points hold more features); Spearman
    of nfeat with confidence within each group; ``frac_features_mostly_rare`` (features
    with holders whose dominant share < 0.5, over features with holders); motifs present
    in the test set and motifs "recovered" (the best motif of some feature), overall and
    per kind, plus the same counted only over features with purity ≥ 0.5; the mean purity;
    booleans ``rare_points_hold_more_features`` (mean nfeat rare > dominant) and
    ``rare_points_lower_confidence`` (mean confidence rare < dominant).

    df, one row per feature t < T: feature, frequency (holders), best_motif (the motif
    most common among the holders, ties by lowest id; −1 without holders),
    best_motif_kind ('dominant'/'rare'/'none'), purity (fraction of holders carrying
    best_motif), dominant_share (fraction of holders that are dominant points).

    fig: (a) nfeat of dominant vs rare points, (b) confidence of dominant vs rare points,
    (c) feature frequency vs purity coloured by dominant share.
    """
    from sklearn.metrics import roc_auc_score

    nf = np.asarray(nfeat, dtype=np.int64)
    c = np.asarray(conf, dtype=np.float64)
    N = nf.size
    T = int(T)
    mpc = int(motifs_per_class)
    if c.shape != (N,):
        raise ValueError(f"nfeat {nf.shape} and conf {c.shape} differ")
    tr = truth.sort_values("index") if "index" in truth.columns else truth.reset_index(drop=True)
    pts = tr["index"].to_numpy(dtype=np.int64) if "index" in tr.columns else np.arange(len(tr))
    if pts.size != N or np.any(pts != np.arange(N)):
        raise ValueError(f"truth must have one row per point 0..{N - 1} (got {len(tr)} rows)")
    dom = tr["dominant"].to_numpy(dtype=bool)
    rare = ~dom
    motifs = [_motif_list(v) for v in tr["motifs"]]

    # point × motif incidence
    mrow = np.repeat(np.arange(N), [len(m) for m in motifs])
    mcol = np.array([x for m in motifs for x in m], dtype=np.int64)
    n_mot = int(mcol.max()) + 1 if mcol.size else 1
    P = sp.csr_matrix((np.ones(mcol.size), (mrow, mcol)), shape=(N, n_mot))
    P.data = np.minimum(P.data, 1.0)  # a motif listed twice still counts once
    inc = incidence_matrix(triplets, N, T).tocsc()
    freq = np.asarray(inc.sum(axis=0)).ravel().astype(np.int64)
    fm = (inc.T @ P).toarray() if T else np.zeros((0, n_mot))  # (T, n_motifs) holder counts
    best = np.where(freq > 0, np.argmax(fm, axis=1) if T else np.zeros(0, int), -1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(freq > 0, fm[np.arange(T), np.maximum(best, 0)] / np.maximum(freq, 1), np.nan)
        dom_cnt = np.asarray(inc.T @ dom.astype(np.float64)).ravel()
        dshare = np.where(freq > 0, dom_cnt / np.maximum(freq, 1), np.nan)
    kind = np.where(best < 0, "none", np.where(best % mpc < int(t_d), "dominant", "rare"))
    df = pd.DataFrame({"feature": np.arange(T, dtype=np.int64), "frequency": freq,
                       "best_motif": best, "best_motif_kind": kind.astype(object),
                       "purity": purity, "dominant_share": dshare})

    # summary
    held = freq > 0
    present = np.unique(mcol)
    present_dom = present[present % mpc < int(t_d)]
    present_rare = present[present % mpc >= int(t_d)]
    rec = np.unique(best[held])
    rec50 = np.unique(best[held & (purity >= 0.5)])

    def _split(ids: np.ndarray) -> tuple[int, int]:
        return int(np.sum(ids % mpc < int(t_d))), int(np.sum(ids % mpc >= int(t_d)))

    rd, rr = _split(rec)
    rd50, rr50 = _split(rec50)
    if dom.any() and rare.any():
        auc = float(roc_auc_score(rare.astype(int), nf))
    else:
        auc = math.nan
    rho_d, p_d = _spearman(nf[dom], c[dom])
    rho_r, p_r = _spearman(nf[rare], c[rare])
    m_nf_d, m_nf_r = _mean(nf[dom]), _mean(nf[rare])
    m_c_d, m_c_r = _mean(c[dom]), _mean(c[rare])
    summary: dict[str, Any] = {
        "n_points": int(N), "n_dominant_points": int(dom.sum()), "n_rare_points": int(rare.sum()),
        "n_features": int(T), "n_features_with_holders": int(held.sum()),
        "mean_nfeat_dominant": m_nf_d, "mean_nfeat_rare": m_nf_r,
        "mannwhitney_p_nfeat": _mwu(nf[dom].astype(float), nf[rare].astype(float)),
        "mean_confidence_dominant": m_c_d, "mean_confidence_rare": m_c_r,
        "mannwhitney_p_confidence": _mwu(c[dom], c[rare]),
        "auc_nfeat_rare": auc,
        "spearman_nfeat_conf_dominant_rho": rho_d, "spearman_nfeat_conf_dominant_p": p_d,
        "spearman_nfeat_conf_rare_rho": rho_r, "spearman_nfeat_conf_rare_p": p_r,
        "mean_purity": float(np.nanmean(purity)) if held.any() else math.nan,
        "frac_features_mostly_rare": float(np.mean(dshare[held] < 0.5)) if held.any() else math.nan,
        "motifs_present": int(present.size),
        "motifs_present_dominant": int(present_dom.size),
        "motifs_present_rare": int(present_rare.size),
        "motifs_recovered": int(rec.size),
        "motifs_recovered_dominant": rd, "motifs_recovered_rare": rr,
        "motifs_recovered_purity50": int(rec50.size),
        "motifs_recovered_purity50_dominant": rd50, "motifs_recovered_purity50_rare": rr50,
        "rare_points_hold_more_features": bool(np.isfinite(m_nf_d) and np.isfinite(m_nf_r)
                                               and m_nf_r > m_nf_d),
        "rare_points_lower_confidence": bool(np.isfinite(m_c_d) and np.isfinite(m_c_r)
                                             and m_c_r < m_c_d),
    }

    # figure
    fig = _figure((12.5, 4.0))
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    groups = ((dom, "dominant points", _DOM_COLOUR), (rare, "rare points", _RARE_COLOUR))
    if N:
        edges = np.arange(nf.min(), nf.max() + 2) - 0.5
        if edges.size > 80:
            edges = np.linspace(nf.min() - 0.5, nf.max() + 0.5, 60)
        for mask, lab, col in groups:
            if mask.any():
                ax_a.hist(nf[mask], bins=edges, density=True, alpha=0.5, color=col,
                          label=f"{lab} (n={int(mask.sum())}, mean {np.mean(nf[mask]):.1f})")
        levels = np.unique(np.round(c, 10))
        if levels.size <= 41:  # discrete levels k/M: side-by-side bars of the share per level
            step = float(np.min(np.diff(levels))) if levels.size > 1 else 0.1
            w = 0.4 * step
            cr = np.round(c, 10)
            for g, (mask, lab, col) in enumerate(groups):
                if mask.any():
                    share = np.array([np.mean(cr[mask] == v) for v in levels])
                    ax_b.bar(levels + (g - 0.5) * w, share, width=w, color=col, alpha=0.8,
                             label=f"{lab} (mean {np.mean(c[mask]):.2f})")
            ax_b.set_ylabel("fraction of the group's points")
        else:
            for mask, lab, col in groups:
                if mask.any():
                    ax_b.hist(c[mask], bins=40, density=True, alpha=0.5, color=col,
                              label=f"{lab} (mean {np.mean(c[mask]):.2f})")
            ax_b.set_ylabel("density")
    ax_a.set(xlabel="number of features (nfeat)", ylabel="density",
             title=f"(a) nfeat by point type (AUC rare = {auc:.2f})")
    ax_b.set(xlabel="confidence (fraction of models correct)", title="(b) confidence by point type")
    for ax in (ax_a, ax_b):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    sc = ax_c.scatter(freq[held], purity[held], c=dshare[held], cmap="coolwarm_r", vmin=0, vmax=1,
                      s=14, edgecolors="none")
    fig.colorbar(sc, ax=ax_c, label="dominant share of holders")
    ax_c.set(xlabel="feature frequency (holders)", ylabel="purity of best-matching motif",
             title=f"(c) features vs true motifs ({rec.size}/{present.size} motifs matched)",
             ylim=(-0.02, 1.05))
    fig.suptitle("Discovered features vs the synthetic world's ground truth")
    return summary, fig, df


def panel_quantities(t: Any, shared_error_mode: str = "same_wrong") -> dict[str, np.ndarray]:
    """What Figs 2b-3c and the observations read off one tensor bundle
    (:class:`featurelab.interaction.Tensor`): confidence and nfeat per point, frequency and
    holders per feature, shared features and shared errors per model pair."""
    from .measures import (
        confidence,
        feature_frequency,
        features_per_point,
        models_per_feature,
        shared_error,
        shared_features,
    )

    return {"conf": confidence(t.predictions, t.labels), "nfeat": features_per_point(t.triplets, t.N),
            "freq": feature_frequency(t.triplets, t.T), "n_models": models_per_feature(t.triplets, t.T),
            "shared_feat": shared_features(t.clusters, t.T),
            "shared_err": shared_error(t.predictions, t.labels, mode=shared_error_mode)}


#: The sizes and thresholds of a tensor that its summary repeats.
SUMMARY_KEYS = ("M", "N", "K_asked", "K", "T", "gamma_corr", "gamma_data", "omega_entries")


def ensemble_summary(ensemble: str, variants: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
                     truth: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One ensemble's summary: the main tensor's sizes, thresholds and observations O.1-O.4,
    every variant's (``variants``: ``{name: (tensor.json, observations.json)}``, ``main``
    among them) and, on a synthetic world, the ground-truth recovery."""
    if "main" not in variants:
        raise ValueError(f"the summary of {ensemble} needs the main variant; got {sorted(variants)}")
    per_variant = {name: {**{k: info[k] for k in SUMMARY_KEYS}, "settings": info["settings"], "observations": obs}
                   for name, (info, obs) in variants.items()}
    main = per_variant["main"]
    summary = {"ensemble": ensemble, **{k: main[k] for k in ("M", "N", "K", "T", "gamma_corr", "gamma_data")},
               "observations": main["observations"], "variants": per_variant}
    if truth is not None:
        summary["ground_truth"] = dict(truth)
    return summary
