"""The diversity study on a pool of models (Gontijo-Lopes, Dauphin, Cubuk, "No One
Representation to Rule Them All: Overlapping Features of Training Methods", ICLR 2022).

:func:`analyse` takes every pool model's logits and penultimate features on the held-out
(``val``) and ``test`` points and returns the study's tables and its findings:

* the pool (category, source, held-out and test accuracy, temperature, inside the accuracy
  window or below or above it: the paper's 74-78% matching, here ``diversity.window`` on
  held-out accuracy, every pool model stopped at the same held-out target);
* per pair of the base with an in-window candidate (Figs 1-2): error inconsistency, the
  calibrated ensemble's accuracy, gain and conversion rate, with a paired bootstrap over
  test points; error inconsistency beside its floor |Δacc| and its excess EI − |Δacc|;
  category means with intervals and their trend from Reinit to Dataset;
* the specialisation angle θ in the four correctness groups (Fig 3) and the accuracy
  difference by subgroup (Fig 4: per class; on a synthetic world also dominant vs rare and
  blue-level tertiles);
* greedy ensembling from a fully trained model above the window (Fig 5);
* feature overlap: complementary random subsets of the base's and each in-window model's
  penultimate features in one probe no wider than the base's features, whether the 50/50
  advantage grows with divergence, and compression curves (Fig 6);
* downstream: a transfer probe on the base's and each model's features, alone and
  concatenated, for a task no model was trained for (the paper's last claim);
* the bridge to representation similarity: the interaction tensor's shared features
  (Jiang, Baek, Kolter, ICLR 2024, Algorithm 1) and linear CKA (Kornblith et al., ICML
  2019) for every pair, beside error inconsistency.

Every verdict is :func:`featurelab.verdicts.verdict`: a percentile bootstrap interval where the
study resamples test points (and pairs), a Student-t interval over pairs or models elsewhere;
the thresholds are ``diversity.thresholds`` (:data:`THRESHOLDS` when left out).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from . import metrics as M
from . import probes as PR
from ..verdicts import LEVEL, bootstrap_interval, difference_interval, slope_interval, t_interval, verdict

CATEGORIES = ("reinit", "hyper", "arch", "framework", "dataset")
#: The verdicts' thresholds when the config leaves them out (schemas/config.schema.yaml,
#: diversity.thresholds): each rule as written, "grows" or "is positive".
THRESHOLDS = {"trend": 0.0, "gain_ei_r": 0.0, "specialisation": 0.0, "overlap_advantage": 0.0,
              "overlap_trend": 0.0, "transfer_gain": 0.0}
#: Per pair and category: error inconsistency, its floor |Δacc| and excess, gain, conversion.
PAIR_METRICS = ("ei", "ei_floor", "ei_excess", "gain", "conversion")
NO_PAIRS = "no pairs in the window"
PAIR_COLUMNS = ["pair", "base", "model", "category", "acc_i", "acc_j", *PAIR_METRICS, "both_correct", "both_wrong",
                "only_i", "only_j", "ens_acc", *(f"{k}_se" for k in PAIR_METRICS)]
CATEGORY_COLUMNS = ["category", "rank", "pairs", "candidates", "outside_window",
                    *(f"{k}{s}" for k in PAIR_METRICS for s in ("", "_se", "_lo", "_hi", "_pair_sd", "_pair_se"))]
ANGLE_COLUMNS = ["pair", "category", "group", "bin_lo", "bin_hi", "count"]
SUBGROUP_COLUMNS = ["pair", "category", "grouping", "group", "points", "acc_base", "acc_model", "difference"]
OVERLAP_COLUMNS = ["category", "model", "fraction", "draw", "dim", "n_from_a", "n_from_b", "accuracy"]
TRANSFER_COLUMNS = ["category", "model", "task", "classes", "acc_base", "acc_model", "acc_concat", "gain"]
SIMILARITY_COLUMNS = ["model_a", "model_b", "category_a", "category_b", "with_base", "pair_category", "ei", "cka",
                      "shared_features", "features_a", "features_b", "k"]


def _spread(values: np.ndarray) -> dict[str, float | None]:
    """The bootstrap draws' standard deviation and 2.5/97.5 percentiles (a table's columns)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"se": None, "lo": None, "hi": None}
    return {"se": float(v.std(ddof=1)) if v.size > 1 else None, "lo": float(np.percentile(v, 2.5)),
            "hi": float(np.percentile(v, 97.5))}


# ---------------------------------------------------------------- the pool
def pool_table(pool: Sequence[dict[str, Any]], metrics: dict[str, dict[str, Any]], val_logits: np.ndarray,
               y_val: np.ndarray, test_logits: np.ndarray, y_test: np.ndarray, temps: np.ndarray,
               window: Sequence[float], dims: Sequence[int]) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(pool):
        m = metrics[p["model"]]
        acc_val = float((val_logits[i].argmax(1) == y_val).mean())
        rows.append({"index": i, "model": p["model"], "category": p["category"], "source": p["source"],
                     "arch": m.get("arch"), "width": m.get("width"), "recipe": m.get("recipe_name"),
                     "dataset": m.get("dataset"), "seed": m.get("seed"), "epochs": m.get("epochs"),
                     "stop_epoch": (m.get("history") or [{}])[-1].get("epoch", m.get("epochs")),
                     "stop_reason": m.get("stop_reason"), "feature_dim": int(dims[i]),
                     "heldout_acc": acc_val, "test_acc": float((test_logits[i].argmax(1) == y_test).mean()),
                     "temperature": float(temps[i]),
                     "in_window": bool(window[0] - 1e-12 <= acc_val <= window[1] + 1e-12),
                     "position": "in" if window[0] - 1e-12 <= acc_val <= window[1] + 1e-12 else
                                 ("below" if acc_val < window[0] else "above")})
    return pd.DataFrame(rows)


def _pool_summary(table: pd.DataFrame, base: int, window: Sequence[float], rule: dict[str, Any] | None,
                  n_test: int, n_val: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Each category's pool: its models, how many lie in the window, below and above it."""
    cats = {}
    for c in ("base", *CATEGORIES):
        d = table[table.category == c]
        if d.empty:
            continue
        cats[c] = {"candidates": int(len(d)), "in_window": int(d.in_window.sum()),
                   "outside_window": int((~d.in_window).sum()), "below": int((d.position == "below").sum()),
                   "above": int((d.position == "above").sum()),
                   "stopped_at_target": int((d.stop_reason == "heldout_acc").sum()),
                   "heldout_acc": [round(float(a), 4) for a in d.heldout_acc],
                   "sources": sorted(set(map(str, d.source)))}
    return {"models": int(len(table)), "in_window": int(table.in_window.sum()),
            "outside_window": {c: int(((table.category == c) & ~table.in_window).sum()) for c in ("base", *CATEGORIES)},
            "per_category_in_window": {c: int(((table.category == c) & table.in_window).sum()) for c in CATEGORIES},
            "categories": cats, "window": list(window), "rule_of_selection": (rule or {}).get("text"),
            "stop_at_heldout_acc": (rule or {}).get("target"), "heldout_checks": (rule or {}).get("heldout_checks"),
            "base": table.model[base], "base_in_window": bool(table.in_window[base]),
            "test_points": int(n_test), "heldout_points": int(n_val), "bootstrap": int(settings["bootstrap"])}


# ---------------------------------------------------------------- analysis
def analyse(pool: Sequence[dict[str, Any]], outputs: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]],
            settings: dict[str, Any], *, truth: pd.DataFrame | None = None, truth_val: pd.DataFrame | None = None,
            greedy_start: str | None = None, rule: dict[str, Any] | None = None, level: float = LEVEL,
            log: Callable[[str], None] = print) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The study's tables and findings. ``outputs[model]`` holds ``val``/``test`` dicts with
    ``logits`` (N, K), ``features`` (N, D) and ``labels`` (N,) (every model the same points);
    ``truth``/``truth_val`` the test and held-out points' ground truth on a synthetic world
    (``dominant``, ``blue_level``: the subgroups of Fig 4 and the transfer task); ``rule`` the
    pool's rule of selection (:meth:`featurelab.plan.Plan.diversity_rule`); ``level`` the
    intervals' level (``verdicts.level``). Thresholds: ``settings['thresholds']`` over
    :data:`THRESHOLDS`. With no candidate in the window, the finding is :data:`NO_PAIRS`: the
    pool table, greedy ensembling and the base's compression curve, the other tables empty."""
    thr = {**THRESHOLDS, **(settings.get("thresholds") or {})}
    models = [p["model"] for p in pool]
    y_val, y_test = outputs[models[0]]["val"]["labels"], outputs[models[0]]["test"]["labels"]
    for m in models:
        for s, y in (("val", y_val), ("test", y_test)):
            if not np.array_equal(outputs[m][s]["labels"], y):
                raise ValueError(f"{m}: its {s} labels differ from {models[0]}'s: the pool must see the same points")
    val_logits = np.stack([outputs[m]["val"]["logits"] for m in models]).astype(np.float64)
    test_logits = np.stack([outputs[m]["test"]["logits"] for m in models]).astype(np.float64)
    temps = M.fit_temperatures(val_logits, y_val)
    p_val = M.softmax(val_logits / temps[:, None, None])
    p_test = M.softmax(test_logits / temps[:, None, None])
    dims = [outputs[m]["test"]["features"].shape[1] for m in models]
    window = settings["window"]
    table = pool_table(pool, metrics, val_logits, y_val, test_logits, y_test, temps, window, dims)
    log("pool: " + ", ".join(f"{r.category}:{r.heldout_acc:.3f}{'' if r.in_window else ' (out)'}"
                             for r in table.itertuples()))
    base = int(np.flatnonzero(table["category"] == "base")[0])
    if settings.get("base", "best") == "best":
        # the base recipe's members (the base and its Reinit siblings of the same ensemble):
        # the most accurate on the held-out points is the base, the others Reinit
        same = np.flatnonzero(table["category"].isin(["base", "reinit"]) & (table["source"] == table.source[base]))
        best = int(same[table["heldout_acc"].to_numpy()[same].argmax()])
        if best != base:
            table.loc[[base, best], "category"] = ["reinit", "base"]
            log(f"base: {models[best]} (held-out accuracy {table.heldout_acc[best]:.3f}), the most accurate member "
                f"of its recipe; {models[base]} joins Reinit")
            base = best
    kept = [int(k) for k in np.flatnonzero(table["in_window"] & table["category"].isin(CATEGORIES)) if k != base]
    n_test = len(y_test)
    findings: dict[str, Any] = {}
    feats_val = [outputs[m]["val"]["features"] for m in models]
    feats_test = [outputs[m]["test"]["features"] for m in models]
    C = float((settings.get("overlap") or {}).get("probe_c", 1.0))

    if kept:
        pair_tables, pair_findings, correct, ii, jj, pairs, cats = _pairs_and_trends(
            p_test, y_test, base, kept, models, table, settings, thr, level)
        findings.update(pair_findings)
        angles = _angles(p_test, y_test, ii, jj, pairs)
        subgroups = _subgroups(correct, ii, jj, pairs, y_test, truth)
        findings["specialisation"] = _specialisation_findings(angles, subgroups, cats, thr["specialisation"], level)
    else:
        log(f"{NO_PAIRS}: no candidate's held-out accuracy lies in {list(window)}")
        findings["finding"] = NO_PAIRS
        pairs = pd.DataFrame(columns=PAIR_COLUMNS)
        pair_tables = {"pairs": pairs, "categories": pd.DataFrame(columns=CATEGORY_COLUMNS)}
        angles, subgroups = pd.DataFrame(columns=ANGLE_COLUMNS), pd.DataFrame(columns=SUBGROUP_COLUMNS)
        correct = (p_test.argmax(-1) == y_test)
        cats = []

    # ---- greedy ensembling (Fig 5): from a fully trained model above the window, adding pool models
    greedy, findings["greedy"] = _greedy(p_val, y_val, p_test, y_test, table, models, base, kept, greedy_start,
                                         window, int(settings["greedy"]["steps"]))

    # ---- feature overlap (Fig 6) for every in-window model, its growth with divergence, compression
    overlap = _overlap(feats_val, feats_test, y_val, y_test, base, kept, models, table, dims, settings, log)
    findings["overlap"] = _overlap_findings(overlap, thr["overlap_advantage"], level)
    findings["overlap_grows"] = _overlap_trend(overlap, thr["overlap_trend"], level)
    comp_rows = []
    ks_all = (settings.get("compression") or {}).get("dims", (1, 2, 4, 8, 16, 32, 64))
    firsts = [kept[int(np.flatnonzero(pairs.category.to_numpy() == c)[0])] for c in cats]
    for k in [base, *firsts]:
        ks = [int(x) for x in ks_all if x <= dims[k]]
        df = PR.compression_curve(feats_val[k], y_val, feats_test[k], y_test, ks, C=C)
        df.insert(0, "model", models[k])
        df.insert(0, "category", table.category[k])
        comp_rows.append(df)
    compression = pd.concat(comp_rows, ignore_index=True)

    # ---- downstream: the transfer probe on a task no model was trained for
    transfer, findings["transfer"] = _transfer(feats_val, feats_test, truth_val, truth, base, kept, models, table,
                                               settings, thr["transfer_gain"], level, log)

    # ---- the bridge: shared features (Algorithm 1) and linear CKA for every in-window pair
    if kept:
        similarity = _similarity(feats_test, correct, [base, *kept], models, table,
                                 int(settings.get("interaction_k", 20)))
    else:
        similarity = pd.DataFrame(columns=SIMILARITY_COLUMNS)
    findings["bridge"] = _bridge_findings(similarity)
    findings["pool"] = _pool_summary(table, base, window, rule, n_test, len(y_val), settings)
    tables = {"pool": table, **pair_tables, "angles": angles, "subgroups": subgroups,
              "greedy": greedy, "overlap": overlap, "compression": compression, "transfer": transfer,
              "similarity": similarity}
    return tables, findings


def _trend(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x``."""
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def _pairs_verdict(rule: str, stat: dict[str, Any], threshold: float, note: str, thin: Sequence[str]
                   ) -> dict[str, Any]:
    """The verdict of a trend whose interval redraws each category's pairs; no verdict when a
    category it compares has a single pair (its models' spread is unknown: one replicate)."""
    if not thin:
        return verdict(rule, (stat, ">", threshold), note=note)
    out = verdict(rule, ({**stat, "lo": None, "hi": None, "n": 1}, ">", threshold), note=note)
    out["basis"] = (f"one pair in {', '.join(thin)}: no verdict (the spread between a category's models is "
                    "unknown with one of them; points_only holds the interval over test points alone)")
    return out


def _pairs_and_trends(p_test, y_test, base, kept, models, table, settings, thr, level):
    """Figs 1-2: every pair of the base with an in-window model, the category means with their
    paired-bootstrap intervals, and the trend verdicts (points and each category's pairs redrawn)."""
    n_boot, seed = int(settings["bootstrap"]), int(settings["seed"])
    ii = np.full(len(kept), base)
    jj = np.asarray(kept, dtype=np.int64)
    pm = M.pairwise_metrics(p_test, y_test, pairs=(ii, jj), return_correct=True)
    correct = pm["correct"]
    boot = M.bootstrap_pair_metrics(correct, pm["ens_correct"], (ii, jj), n_boot=n_boot, seed=seed,
                                    return_samples=True)
    draws = boot["samples"]  # metric -> (B, P): every pair and metric on the same resampled points
    pairs = pd.DataFrame({"pair": np.arange(len(kept)), "base": models[base], "model": [models[k] for k in kept],
                          "category": [table.category[k] for k in kept],
                          **{k: np.asarray(pm[k]) for k in ("acc_i", "acc_j", *PAIR_METRICS, "both_correct",
                                                            "both_wrong", "only_i", "only_j", "ens_acc")}})
    for k in PAIR_METRICS:
        pairs[f"{k}_se"] = [_spread(draws[k][:, p])["se"] for p in range(len(kept))]
    pairs = pairs[PAIR_COLUMNS]
    cats = [c for c in CATEGORIES if (pairs["category"] == c).any()]
    rank = {c: r for r, c in enumerate(CATEGORIES)}
    rows, cat_draws, cat_draws2 = [], {}, {}
    # the second level: each resample also redraws every category's pairs (with replacement),
    # so that the verdicts carry which models happened to be trained, not only which points
    # happened to be drawn
    pair_rng = np.random.default_rng(seed + 2)
    for c in cats:
        sel = np.flatnonzero(pairs["category"].to_numpy() == c)
        row = {"category": c, "rank": rank[c], "pairs": len(sel), "candidates": int((table.category == c).sum()),
               "outside_window": int(((table.category == c) & ~table.in_window).sum())}
        picks = sel[pair_rng.integers(0, len(sel), (n_boot, len(sel)))]
        for k in PAIR_METRICS:
            d = np.nanmean(draws[k][:, sel], axis=1)
            cat_draws[(c, k)] = d
            cat_draws2[(c, k)] = np.nanmean(np.take_along_axis(draws[k], picks, axis=1), axis=1)
            vals = pairs[k].to_numpy(dtype=float)[sel]
            row[k] = float(np.nanmean(vals))
            row.update({f"{k}_{a}": b for a, b in _spread(d).items()})
            row[f"{k}_pair_sd"] = float(np.nanstd(vals, ddof=1)) if len(sel) > 1 else None
            row[f"{k}_pair_se"] = float(np.nanstd(vals, ddof=1) / np.sqrt(len(sel))) if len(sel) > 1 else None
        rows.append(row)
    categories = pd.DataFrame(rows, columns=CATEGORY_COLUMNS)
    findings: dict[str, Any] = {}
    note = "test points resampled (paired) and each category's pairs redrawn in every resample"
    # a category with one pair has no spread between its models: redrawing its pairs cannot
    # say whether another model of the category would land elsewhere (one replicate)
    thin = [c for c in cats if int((pairs["category"] == c).sum()) < 2]
    if len(cats) >= 2:
        x = np.asarray([rank[c] for c in cats], dtype=np.float64)
        first, last = cats[0], cats[-1]
        for k, name in (("ei", "error_inconsistency_grows"), ("ei_excess", "excess_error_inconsistency_grows"),
                        ("conversion", "conversion_rate_grows"), ("gain", "ensemble_gain_grows")):
            est = _trend(x, categories[k].to_numpy(dtype=float))
            both = [_trend(x, np.asarray([cat_draws2[(c, k)][b] for c in cats])) for b in range(n_boot)]
            points = [_trend(x, np.asarray([cat_draws[(c, k)][b] for c in cats])) for b in range(n_boot)]
            stat = bootstrap_interval(est, both, level, n=len(kept))
            findings[name] = {**_pairs_verdict(f"slope of the category means of {k} against the category's rank "
                                               f"({' < '.join(cats)}) > {thr['trend']}", stat, thr["trend"], note,
                                               thin),
                              "se": stat["se"], "points_only": bootstrap_interval(est, points, level, n=len(kept))}
            diff = float(categories[k].iloc[-1] - categories[k].iloc[0])
            d2 = bootstrap_interval(diff, cat_draws2[(last, k)] - cat_draws2[(first, k)], level, n=len(kept))
            findings[name]["last_minus_first"] = {
                **_pairs_verdict(f"{last} − {first} > {thr['trend']}", d2, thr["trend"], note,
                                 [c for c in thin if c in (first, last)]),
                "se": d2["se"], "points_only": bootstrap_interval(diff, cat_draws[(last, k)] - cat_draws[(first, k)],
                                                                  level)}
    # gain against EI across pairs: slope and Pearson r, points and pairs resampled
    if len(kept) >= 3:
        rng = np.random.default_rng(seed + 1)
        r_d, s_d = [], []
        for b in range(n_boot):
            pick = rng.integers(0, len(kept), len(kept))
            e, g = draws["ei"][b, pick], draws["gain"][b, pick]
            if np.std(e) > 0 and np.std(g) > 0:
                r_d.append(np.corrcoef(e, g)[0, 1])
                s_d.append(np.polyfit(e, g, 1)[0])
        r = float(np.corrcoef(pairs.ei, pairs.gain)[0, 1]) if pairs.ei.std() > 0 and pairs.gain.std() > 0 else None
        slope, icpt = np.polyfit(pairs.ei.astype(float), pairs.gain.astype(float), 1)
        stat = bootstrap_interval(r, r_d, level, n=len(kept))
        findings["gain_linear_in_ei"] = {**verdict(f"Pearson r of gain against EI over pairs > {thr['gain_ei_r']}",
                                                   (stat, ">", thr["gain_ei_r"]),
                                                   note="test points (paired) and pairs resampled"),
                                         "slope": float(slope), "intercept": float(icpt),
                                         "slope_interval": bootstrap_interval(float(slope), s_d, level),
                                         "pairs": len(kept)}
        rc = pairs[["ei", "conversion"]].astype(float).dropna()
        findings["conversion_vs_ei_r"] = float(np.corrcoef(rc.ei, rc.conversion)[0, 1]) if len(rc) > 2 else None
    cat_index = categories.set_index("category")
    findings["ei_floor_excess"] = {
        c: {k: {"estimate": float(cat_index.loc[c, k]), "lo": cat_index.loc[c, f"{k}_lo"],
                "hi": cat_index.loc[c, f"{k}_hi"]} for k in ("ei", "ei_floor", "ei_excess")}
        | {"pairs": int(cat_index.loc[c, "pairs"])} for c in cats}
    findings["category_ei_se"] = {c: cat_index.loc[c, "ei_se"] for c in cats}
    findings["category_ei_se_below_0.005"] = bool(all(v is not None and v < 0.005
                                                      for v in findings["category_ei_se"].values()))
    return {"pairs": pairs, "categories": categories}, findings, correct, ii, jj, pairs, cats


def _greedy(p_val, y_val, p_test, y_test, table, models, base, kept, greedy_start, window, steps):
    """Fig 5: from the start model (a fully trained one above the window, outside the pool; without
    one, the pool's most accurate model, said so), add the base and the in-window models."""
    if greedy_start:
        start = models.index(greedy_start)
        note = None
    else:
        start = int(table["heldout_acc"].to_numpy().argmax())
        note = "no diversity.greedy.start: started from the pool's most accurate model, itself a pool model"
    cands = [int(k) for k in [base, *kept] if k != start]
    steps = min(int(steps), len(cands))
    g = M.greedy_ensemble(p_val, y_val, p_test, y_test, start, cands, steps)
    order = [start, *g["order"]]
    greedy = pd.DataFrame({"step": np.arange(len(order)), "model": [models[k] for k in order],
                           "category": [table.category[k] for k in order],
                           "model_test_acc": [table.test_acc[k] for k in order],
                           "val_acc": g["val_acc"], "test_acc": g["test_acc"]})
    out = {"start": models[start], "start_category": table.category[start],
           "start_heldout_acc": float(table.heldout_acc[start]), "start_test_acc": float(g["test_acc"][0]),
           "start_above_window": bool(table.heldout_acc[start] > window[1]),
           "first_added_category": table.category[order[1]] if steps else None,
           "final_test_acc": float(g["test_acc"][-1]), "gain_over_start": float(g["test_acc"][-1] - g["test_acc"][0]),
           "order": list(greedy.category[1:])}
    if note:
        out["note"] = note
    return greedy, out


def _overlap(feats_val, feats_test, y_val, y_test, base, kept, models, table, dims, settings, log) -> pd.DataFrame:
    ov = settings.get("overlap") or {}
    rows = []
    for other in kept:
        df = PR.overlap_probe(feats_val[base], feats_val[other], y_val, feats_test[base], feats_test[other], y_test,
                              fractions=tuple(ov.get("fractions", (1.0, 0.75, 0.5, 0.25, 0.0))),
                              draws=int(ov.get("draws", 3)), dim=min(dims[base], dims[other]),
                              seed=int(settings["seed"]), C=float(ov.get("probe_c", 1.0)))
        df.insert(0, "model", models[other])
        df.insert(0, "category", table.category[other])
        rows.append(df)
        log(f"overlap probe {table.category[other]} {models[other]}: " + ", ".join(
            f"{f:.2f}:{a:.3f}" for f, a in df.groupby("fraction").accuracy.mean().sort_index(ascending=False).items()))
    return pd.concat(rows, ignore_index=True)[OVERLAP_COLUMNS] if rows else pd.DataFrame(columns=OVERLAP_COLUMNS)


def _transfer(feats_val, feats_test, truth_val, truth, base, kept, models, table, settings, threshold, level, log):
    """The transfer probe (the paper's last claim): the base's features, the other model's, and
    both concatenated, fitted on the held-out points for a task no pool model was trained for
    (a synthetic world's ground truth) and scored on the test points; per category over its models."""
    task = (settings.get("transfer") or {}).get("task", "kind")
    C = float((settings.get("transfer") or {}).get("probe_c", 1.0))
    empty = pd.DataFrame(columns=TRANSFER_COLUMNS)
    if task == "none":
        return empty, {"skipped": "diversity.transfer.task: none"}
    if truth is None or truth_val is None:
        return empty, {"skipped": "the base dataset is not a synthetic world: it has no ground truth for a task the "
                                  "models were not trained for (the transfer probe needs diversity.transfer.task on "
                                  "a synthetic world)"}
    if not kept:
        return empty, {"skipped": NO_PAIRS, "task": task}
    y_fit, y_eval = (transfer_labels(t, task) for t in (truth_val, truth))
    base_alone = None
    rows = []
    for k in kept:
        r = PR.transfer_probe(feats_val[base], feats_val[k], y_fit, feats_test[base], feats_test[k], y_eval, C=C,
                              a_alone=base_alone)
        base_alone = r["a"]
        rows.append({"category": table.category[k], "model": models[k], "task": task,
                     "classes": int(len(np.unique(y_eval))), "acc_base": r["a"], "acc_model": r["b"],
                     "acc_concat": r["concat"], "gain": r["gain"]})
    df = pd.DataFrame(rows, columns=TRANSFER_COLUMNS)
    log("transfer probe (" + task + "): base alone " + f"{base_alone:.3f}; "
        + ", ".join(f"{r.category}: {r.acc_model:.3f} alone, {r.acc_concat:.3f} with the base" for r in df.itertuples()))
    out: dict[str, Any] = {"task": task, "base_alone": base_alone,
                           "chance": float(np.bincount(y_eval).max() / len(y_eval))}
    for c, d in df.groupby("category", sort=False):
        stat = t_interval(d.gain, level)
        out[c] = {**verdict(f"concatenated features' transfer accuracy − the better model alone > {threshold}",
                            (stat, ">", threshold), note="over the category's in-window models"),
                  "models": int(len(d)), "model_alone": float(d.acc_model.mean()), "concat": float(d.acc_concat.mean())}
    return df, out


def transfer_labels(truth: pd.DataFrame, task: str) -> np.ndarray:
    """The transfer task's labels from a synthetic world's ground truth: ``kind`` = 0 for a
    dominant image, 1 for a rare one; ``blue`` = the background's blue level in tertiles."""
    if task == "kind":
        return np.where(truth["dominant"].to_numpy(), 0, 1)
    if task == "blue":
        return np.minimum((truth["blue_level"].to_numpy() * 3).astype(int), 2)
    raise ValueError(f"unknown transfer task {task!r} (kind, blue)")


def _angles(p_test: np.ndarray, y: np.ndarray, ii: np.ndarray, jj: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    bins = np.linspace(0.0, 90.0, 19)
    h = M.angle_histograms(p_test, y, (ii, jj), bins)
    rows = []
    for group in ("both_correct", "both_wrong", "only_i", "only_j"):
        counts = np.asarray(h[group])
        for p in range(len(pairs)):
            for b in range(len(bins) - 1):
                rows.append({"pair": p, "category": pairs.category[p], "group": group,
                             "bin_lo": bins[b], "bin_hi": bins[b + 1], "count": int(counts[p, b])})
    return pd.DataFrame(rows, columns=ANGLE_COLUMNS)


def _subgroups(correct: np.ndarray, ii: np.ndarray, jj: np.ndarray, pairs: pd.DataFrame, y: np.ndarray,
               truth: pd.DataFrame | None) -> pd.DataFrame:
    groupings = {"class": (y, [str(c) for c in range(int(y.max()) + 1)])}
    if truth is not None:
        groupings["kind"] = (np.where(truth["dominant"].to_numpy(), 0, 1), ["dominant", "rare"])
        blue = truth["blue_level"].to_numpy()
        groupings["blue"] = (np.minimum((blue * 3).astype(int), 2), ["low", "middle", "high"])
    rows = []
    for name, (g, labels) in groupings.items():
        G = len(labels)
        points = np.bincount(g, minlength=G)
        # each model's accuracy per group once (the base's is every pair's first column)
        hits = np.stack([np.bincount(g, weights=c, minlength=G) for c in correct.astype(np.float64)])
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(points > 0, hits / points, np.nan)  # (M, G)
        diff = M.group_accuracy_difference(correct[ii], correct[jj], g, G)  # (P, G)
        for p in range(len(pairs)):
            for k, lab in enumerate(labels):
                rows.append({"pair": p, "category": pairs.category[p], "grouping": name, "group": lab,
                             "points": int(points[k]), "acc_base": float(acc[ii[p], k]),
                             "acc_model": float(acc[jj[p], k]), "difference": float(diff[p, k])})
    return pd.DataFrame(rows, columns=SUBGROUP_COLUMNS)


def _specialisation_findings(angles: pd.DataFrame, subgroups: pd.DataFrame, cats: list[str], threshold: float = 0.0,
                             level: float = LEVEL) -> dict[str, Any]:
    """Per category, over its pairs (Student-t): the share of error-inconsistent points on which
    the correct model is the more confident one (θ on its side of 45°, Fig 3), and the spread
    over classes of the per-class accuracy difference (Fig 4). Verdicts: the last category
    (Dataset) minus the first (Reinit), Welch's t interval over the two categories' pairs."""
    mid = (angles.bin_lo + angles.bin_hi) / 2
    a = angles.assign(right=((angles.group == "only_j") & (mid > 45)) | ((angles.group == "only_i") & (mid < 45)))
    inc = a[a.group.isin(["only_i", "only_j"])]
    total = inc.groupby("pair")["count"].sum()
    right = inc[inc.right].groupby("pair")["count"].sum().reindex(total.index, fill_value=0)
    per_pair = pd.DataFrame({
        "category": inc.groupby("pair").category.first(),
        "confident": right / total.where(total > 0),
        "class_sd": subgroups[subgroups.grouping == "class"].groupby("pair").difference.std(ddof=1)})
    out: dict[str, Any] = {}

    def values(c: str, k: str) -> np.ndarray:
        return per_pair.loc[per_pair.category == c, k].dropna().to_numpy(dtype=float)

    for c in cats:
        out[c] = {k: t_interval(values(c, col), level)
                  for k, col in (("correct_model_more_confident", "confident"), ("class_difference_sd", "class_sd"))}
    if len(cats) >= 2:
        first, last = cats[0], cats[-1]
        for k, col, name in (("class_difference_sd", "class_sd", "class_specialisation_grows"),
                             ("correct_model_more_confident", "confident", "confidence_specialisation_grows")):
            stat = difference_interval(values(first, col), values(last, col), level)
            if stat["mean"] is None:
                continue
            out[name] = verdict(f"{last} − {first} of {k} > {threshold}", (stat, ">", threshold),
                                note="Welch's t interval over the two categories' pairs")
    return out


def _overlap_per_model(overlap: pd.DataFrame) -> pd.DataFrame:
    """Per model: the 50/50 probe's accuracy (mean over draws) minus the better of 100/0 and 0/100."""
    rows = []
    for (c, m), df in overlap.groupby(["category", "model"], sort=False):
        means = df.groupby("fraction").accuracy.mean()
        f = means.index.to_numpy(dtype=float)
        if not (np.isclose(f, 0.5).any() and (np.isclose(f, 1.0).any() or np.isclose(f, 0.0).any())):
            continue
        half = float(means[np.isclose(f, 0.5)].iloc[0])
        ends = [float(means[np.isclose(f, e)].iloc[0]) for e in (1.0, 0.0) if np.isclose(f, e).any()]
        rows.append({"category": c, "model": m, "accuracy_50_50": half, "accuracy_100_0": ends[0],
                     "accuracy_0_100": ends[-1], "advantage": half - max(ends)})
    return pd.DataFrame(rows, columns=["category", "model", "accuracy_50_50", "accuracy_100_0", "accuracy_0_100",
                                       "advantage"])


def _overlap_findings(overlap: pd.DataFrame, threshold: float = 0.0, level: float = LEVEL) -> dict[str, Any]:
    """Per category (Fig 6): the 50/50 probe's accuracy minus the better of 100/0 and 0/100, its
    Student-t interval over the category's in-window models (each model's the mean over draws)."""
    out: dict[str, Any] = {}
    per = _overlap_per_model(overlap)
    for c, d in per.groupby("category", sort=False):
        stat = t_interval(d.advantage, level)
        out[c] = {**verdict(f"50/50 probe − the better of 100/0 and 0/100 > {threshold}", (stat, ">", threshold),
                            note="over the category's in-window models (each: mean over the random draws)"),
                  "models": int(len(d)), "accuracy_100_0": float(d.accuracy_100_0.mean()),
                  "accuracy_0_100": float(d.accuracy_0_100.mean()), "accuracy_50_50": float(d.accuracy_50_50.mean()),
                  "per_model": {r.model: float(r.advantage) for r in d.itertuples()}}
    return out


def _overlap_trend(overlap: pd.DataFrame, threshold: float = 0.0, level: float = LEVEL) -> dict[str, Any]:
    """Does the 50/50 advantage grow with divergence? The least-squares slope of every in-window
    model's advantage against its category's rank (Reinit 0 … Dataset 4), Student-t over models."""
    per = _overlap_per_model(overlap)
    rank = {c: r for r, c in enumerate(CATEGORIES)}
    per = per[per.category.isin(rank)]
    if per.category.nunique() < 2:
        return {"skipped": "fewer than two categories with an overlap probe"}
    stat = slope_interval(per.category.map(rank).to_numpy(float), per.advantage.to_numpy(float), level)
    return {**verdict(f"slope of each model's 50/50 advantage against its category's rank > {threshold}",
                      (stat, ">", threshold), note="least-squares slope over models, Student-t with n − 2 df"),
            "models": int(len(per)), "categories": int(per.category.nunique())}


def _similarity(feats: list[np.ndarray], correct: np.ndarray, idx: list[int], models: list[str], table: pd.DataFrame,
                k: int) -> pd.DataFrame:
    from ..interaction.measures import shared_features
    from ..interaction.tensor import cluster_features, correlation_tensor, gamma_corr, numerical_rank, pca_project

    F = [feats[i] for i in idx]
    k = int(min(k, *(numerical_rank(f) for f in F)))
    proj = np.stack([pca_project(f, k) for f in F])
    lam = correlation_tensor(proj)
    clusters = cluster_features(lam, gamma_corr(lam))
    shared = shared_features(clusters)
    cka = PR.cka_matrix(F)
    rows = []
    for a in range(len(idx)):
        for b in range(a + 1, len(idx)):
            i, j = idx[a], idx[b]
            ca, cb = table.category[i], table.category[j]
            rows.append({"model_a": models[i], "model_b": models[j], "category_a": ca, "category_b": cb,
                         "with_base": ca == "base", "pair_category": cb if ca == "base" else f"{ca}/{cb}",
                         "ei": float((correct[i] != correct[j]).mean()), "cka": float(cka[a, b]),
                         "shared_features": int(shared[a, b]), "features_a": int(shared[a, a]),
                         "features_b": int(shared[b, b]), "k": k})
    return pd.DataFrame(rows)


def _bridge_findings(sim: pd.DataFrame) -> dict[str, Any]:
    """Spearman correlations over all in-window pairs: CKA and shared features against EI
    (negative: more similar representations, more consistent errors)."""
    from scipy.stats import spearmanr

    out: dict[str, Any] = {"pairs": int(len(sim))}
    for k in ("cka", "shared_features"):
        if len(sim) > 3 and sim[k].nunique() > 1:
            rho, p = spearmanr(sim[k], sim["ei"])
            out[f"{k}_vs_ei"] = {"spearman": float(rho), "p": float(p)}
    if sim.empty:
        return {**out, "skipped": NO_PAIRS}
    base = sim[sim.with_base]
    out["by_category"] = {c: {"ei": float(d.ei.mean()), "cka": float(d.cka.mean()),
                              "shared_features": float(d.shared_features.mean()), "pairs": int(len(d))}
                          for c, d in base.groupby("pair_category", sort=False)}
    return out
