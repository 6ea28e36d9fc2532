"""The diversity study on a pool of models (Gontijo-Lopes, Dauphin, Cubuk, "No One
Representation to Rule Them All: Overlapping Features of Training Methods", ICLR 2022).

:func:`analyse` takes every pool model's logits and penultimate features on the held-out
(``val``) and ``test`` points and returns the study's tables and its findings:

* the pool (category, source, held-out and test accuracy, temperature, inside the accuracy
  window or not: the paper's 74-78% matching, here ``diversity.window`` on held-out accuracy);
* per pair of the base with an in-window candidate (Figs 1-2): error inconsistency, the
  calibrated ensemble's accuracy, gain and conversion rate, with a paired bootstrap over
  test points; category means with intervals and their trend from Reinit to Dataset;
* the specialisation angle θ in the four correctness groups (Fig 3) and the accuracy
  difference by subgroup (Fig 4: per class; on a synthetic world also dominant vs rare and
  blue-level tertiles);
* greedy ensembling from a high-accuracy model (Fig 5);
* feature overlap: complementary random subsets of the base's and a candidate's
  penultimate features in one probe no wider than the base's features, and compression
  curves (Fig 6);
* the bridge to representation similarity: the interaction tensor's shared features
  (Jiang, Baek, Kolter, ICLR 2024, Algorithm 1) and linear CKA (Kornblith et al., ICML
  2019) for every pair, beside error inconsistency.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from . import metrics as M
from . import probes as PR

CATEGORIES = ("reinit", "hyper", "arch", "framework", "dataset")
BOTH = "95% bootstrap interval: test points resampled (paired) and each category's pairs resampled"


# ---------------------------------------------------------------- verdicts
def interval(values: np.ndarray) -> dict[str, float]:
    """Bootstrap summary: the mean of the draws is not reported (the estimate is), only the
    spread: ``se`` (std of the draws) and the 2.5/97.5 percentiles."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"se": None, "lo": None, "hi": None}
    return {"se": float(v.std(ddof=1)) if v.size > 1 else None, "lo": float(np.percentile(v, 2.5)),
            "hi": float(np.percentile(v, 97.5))}


def verdict(rule: str, estimate: float | None, lo: float | None, hi: float | None, threshold: float = 0.0,
            op: str = ">") -> dict[str, Any]:
    """``holds`` when the 95% interval lies wholly on the rule's side of ``threshold``,
    ``fails`` when wholly on the other, else ``undecided``."""
    if estimate is None or lo is None or hi is None or not np.isfinite(estimate):
        state = None
    elif op == ">":
        state = True if lo > threshold else False if hi <= threshold else None
    else:
        state = True if hi < threshold else False if lo >= threshold else None
    return {"estimate": None if estimate is None else float(estimate), "lo": lo, "hi": hi, "rule": rule,
            "holds": state, "verdict": {True: "holds", False: "fails", None: "undecided"}[state],
            "basis": "95% paired bootstrap interval (test points; pairs resampled where stated)"}


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
                     "stop_reason": m.get("stop_reason"), "feature_dim": int(dims[i]),
                     "heldout_acc": acc_val, "test_acc": float((test_logits[i].argmax(1) == y_test).mean()),
                     "temperature": float(temps[i]),
                     "in_window": bool(window[0] - 1e-12 <= acc_val <= window[1] + 1e-12)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- trends
def _trend(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x``."""
    ok = np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    x, y = x[ok], y[ok]
    return float(np.polyfit(x, y, 1)[0])


# ---------------------------------------------------------------- analysis
def analyse(pool: Sequence[dict[str, Any]], outputs: dict[str, dict[str, Any]], metrics: dict[str, dict[str, Any]],
            settings: dict[str, Any], *, truth: pd.DataFrame | None = None, greedy_start: str | None = None,
            log: Callable[[str], None] = print) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The study's tables and findings. ``outputs[model]`` holds ``val``/``test`` dicts with
    ``logits`` (N, K), ``features`` (N, D) and ``labels`` (N,) (every model the same points);
    ``truth`` the test points' ground truth on a synthetic world (``dominant``, ``blue_level``)."""
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

    # ---- per pair with the base (Figs 1-2)
    ii = np.full(len(kept), base)
    jj = np.asarray(kept, dtype=np.int64)
    pm = M.pairwise_metrics(p_test, y_test, pairs=(ii, jj), return_correct=True)
    correct = pm["correct"]
    boot = M.bootstrap_pair_metrics(correct, pm["ens_correct"], (ii, jj), n_boot=int(settings["bootstrap"]),
                                    seed=int(settings["seed"]), return_samples=True)
    draws = boot["samples"]  # metric -> (B, P): every pair and metric on the same resampled points
    n_boot = int(settings["bootstrap"])
    pairs = pd.DataFrame({"pair": np.arange(len(kept)), "base": models[base], "model": [models[k] for k in kept],
                          "category": [table.category[k] for k in kept],
                          **{k: np.asarray(pm[k]) for k in ("acc_i", "acc_j", "ei", "both_correct", "both_wrong",
                                                            "only_i", "only_j", "ens_acc", "gain", "conversion")}})
    for k in ("ei", "gain", "conversion"):
        pairs[f"{k}_se"] = [interval(draws[k][:, p])["se"] for p in range(len(kept))]

    cats = [c for c in CATEGORIES if (pairs["category"] == c).any()]
    rank = {c: r for r, c in enumerate(CATEGORIES)}
    rows, cat_draws, cat_draws2 = [], {}, {}
    # the second level: each resample also redraws every category's pairs (with replacement),
    # so that the verdicts carry which models happened to be trained, not only which points
    # happened to be drawn
    pair_rng = np.random.default_rng(int(settings["seed"]) + 2)
    for c in cats:
        sel = np.flatnonzero(pairs["category"].to_numpy() == c)
        row = {"category": c, "rank": rank[c], "pairs": len(sel),
               "candidates": int((table.category == c).sum()),
               "outside_window": int(((table.category == c) & ~table.in_window).sum())}
        picks = sel[pair_rng.integers(0, len(sel), (n_boot, len(sel)))]  # (B, pairs of the category)
        for k in ("ei", "gain", "conversion"):
            d = np.nanmean(draws[k][:, sel], axis=1)
            cat_draws[(c, k)] = d
            cat_draws2[(c, k)] = np.nanmean(np.take_along_axis(draws[k], picks, axis=1), axis=1)
            vals = pairs[k].to_numpy()[sel]
            row[k] = float(np.nanmean(vals))
            row.update({f"{k}_{a}": b for a, b in interval(d).items()})
            row[f"{k}_pair_sd"] = float(np.nanstd(vals, ddof=1)) if len(sel) > 1 else None
            row[f"{k}_pair_se"] = float(np.nanstd(vals, ddof=1) / np.sqrt(len(sel))) if len(sel) > 1 else None
        rows.append(row)
    categories = pd.DataFrame(rows)
    findings: dict[str, Any] = {}
    if len(cats) >= 2:
        x = np.asarray([rank[c] for c in cats], dtype=np.float64)
        for k, name in (("ei", "error_inconsistency_grows"), ("conversion", "conversion_rate_grows"),
                        ("gain", "ensemble_gain_grows")):
            est = _trend(x, categories[k].to_numpy())
            points = interval(np.asarray([_trend(x, np.asarray([cat_draws[(c, k)][b] for c in cats]))
                                          for b in range(n_boot)]))
            both = interval(np.asarray([_trend(x, np.asarray([cat_draws2[(c, k)][b] for c in cats]))
                                        for b in range(n_boot)]))
            findings[name] = {**verdict(f"slope of the category means of {k} against the category's rank "
                                        f"({' < '.join(cats)}) > 0", est, both["lo"], both["hi"]),
                              "se": both["se"], "basis": BOTH, "points_only": points}
            first, last = cats[0], cats[-1]
            diff = float(categories[k].iloc[-1] - categories[k].iloc[0])
            iv2 = interval(cat_draws2[(last, k)] - cat_draws2[(first, k)])
            findings[name]["last_minus_first"] = {
                **verdict(f"{last} − {first} > 0", diff, iv2["lo"], iv2["hi"]), "se": iv2["se"], "basis": BOTH,
                "points_only": interval(cat_draws[(last, k)] - cat_draws[(first, k)])}
    # gain against EI across pairs: slope and Pearson r, points and pairs resampled
    if len(kept) >= 3:
        rng = np.random.default_rng(int(settings["seed"]) + 1)
        ei_d, gain_d = draws["ei"], draws["gain"]
        r_d, s_d = [], []
        for b in range(n_boot):
            pick = rng.integers(0, len(kept), len(kept))
            e, g = ei_d[b, pick], gain_d[b, pick]
            if np.std(e) > 0 and np.std(g) > 0:
                r_d.append(np.corrcoef(e, g)[0, 1])
                s_d.append(np.polyfit(e, g, 1)[0])
        r = float(np.corrcoef(pairs.ei, pairs.gain)[0, 1])
        slope, icpt = np.polyfit(pairs.ei, pairs.gain, 1)
        iv = interval(np.asarray(r_d))
        findings["gain_linear_in_ei"] = {**verdict("Pearson r of gain against EI over pairs > 0", r, iv["lo"],
                                                   iv["hi"]),
                                         "slope": float(slope), "intercept": float(icpt),
                                         "slope_interval": interval(np.asarray(s_d)), "pairs": len(kept),
                                         "basis": "95% bootstrap interval: test points (paired) and pairs resampled"}
        rc = pairs[["ei", "conversion"]].dropna()
        findings["conversion_vs_ei_r"] = float(np.corrcoef(rc.ei, rc.conversion)[0, 1]) if len(rc) > 2 else None
    findings["category_ei_se"] = {c: categories.set_index("category").loc[c, "ei_se"] for c in cats}
    findings["category_ei_se_below_0.005"] = bool(all(v is not None and v < 0.005
                                                      for v in findings["category_ei_se"].values()))

    # ---- specialisation (Figs 3-4)
    angles = _angles(p_test, y_test, ii, jj, pairs)
    subgroups = _subgroups(correct, ii, jj, pairs, y_test, truth)
    findings["specialisation"] = _specialisation_findings(angles, subgroups, cats)

    # ---- greedy ensembling (Fig 5)
    start = models.index(greedy_start) if greedy_start else int(table["heldout_acc"].to_numpy().argmax())
    cands = [int(k) for k in [base, *kept] if k != start]
    steps = min(int(settings["greedy"]["steps"]), len(cands))
    g = M.greedy_ensemble(p_val, y_val, p_test, y_test, start, [int(k) for k in cands], steps)
    order = [start, *g["order"]]
    greedy = pd.DataFrame({"step": np.arange(len(order)), "model": [models[k] for k in order],
                           "category": [table.category[k] for k in order],
                           "model_test_acc": [table.test_acc[k] for k in order],
                           "val_acc": g["val_acc"], "test_acc": g["test_acc"]})
    findings["greedy"] = {"start": models[start], "start_category": table.category[start],
                          "start_test_acc": float(g["test_acc"][0]),
                          "first_added_category": table.category[order[1]] if steps else None,
                          "final_test_acc": float(g["test_acc"][-1]),
                          "gain_over_start": float(g["test_acc"][-1] - g["test_acc"][0]),
                          "order": list(greedy.category[1:])}

    # ---- feature overlap and compression (Fig 6)
    ov = settings.get("overlap") or {}
    feats_val = [outputs[m]["val"]["features"] for m in models]
    feats_test = [outputs[m]["test"]["features"] for m in models]
    overlap_rows = []
    for c in cats:
        k = int(pairs.loc[pairs.category == c].index[0])
        other = kept[k]
        dim = min(dims[base], dims[other])
        df = PR.overlap_probe(feats_val[base], feats_val[other], y_val, feats_test[base], feats_test[other], y_test,
                              fractions=tuple(ov.get("fractions", (1.0, 0.75, 0.5, 0.25, 0.0))),
                              draws=int(ov.get("draws", 3)), dim=dim, seed=int(settings["seed"]),
                              C=float(ov.get("probe_c", 1.0)))
        df.insert(0, "model", models[other])
        df.insert(0, "category", c)
        overlap_rows.append(df)
        log(f"overlap probe {c}: " + ", ".join(f"{f:.2f}:{a:.3f}" for f, a in
                                               df.groupby("fraction").accuracy.mean().sort_index(ascending=False).items()))
    overlap = pd.concat(overlap_rows, ignore_index=True) if overlap_rows else pd.DataFrame()
    findings["overlap"] = _overlap_findings(overlap)
    comp_rows = []
    ks_all = (settings.get("compression") or {}).get("dims", (1, 2, 4, 8, 16, 32, 64))
    for k in [base, *[kept[int(pairs.loc[pairs.category == c].index[0])] for c in cats]]:
        ks = [int(x) for x in ks_all if x <= dims[k]]
        df = PR.compression_curve(feats_val[k], y_val, feats_test[k], y_test, ks,
                                  C=float(ov.get("probe_c", 1.0)))
        df.insert(0, "model", models[k])
        df.insert(0, "category", table.category[k])
        comp_rows.append(df)
    compression = pd.concat(comp_rows, ignore_index=True)

    # ---- the bridge: shared features (Algorithm 1) and linear CKA for every in-window pair
    similarity = _similarity(feats_test, correct, [base, *kept], models, table, int(settings.get("interaction_k", 20)))
    findings["bridge"] = _bridge_findings(similarity)
    findings["pool"] = {"models": len(models), "in_window": int(table.in_window.sum()),
                        "outside_window": {c: int(((table.category == c) & ~table.in_window).sum())
                                           for c in ("base", *CATEGORIES)},
                        "per_category_in_window": {c: int(((table.category == c) & table.in_window).sum())
                                                   for c in CATEGORIES},
                        "window": list(window), "base": models[base],
                        "base_in_window": bool(table.in_window[base]),
                        "test_points": int(n_test), "heldout_points": int(len(y_val)),
                        "bootstrap": int(settings["bootstrap"])}
    tables = {"pool": table, "pairs": pairs, "categories": categories, "angles": angles, "subgroups": subgroups,
              "greedy": greedy, "overlap": overlap, "compression": compression, "similarity": similarity}
    return tables, findings


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
    return pd.DataFrame(rows)


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
    return pd.DataFrame(rows)


def _specialisation_findings(angles: pd.DataFrame, subgroups: pd.DataFrame, cats: list[str]) -> dict[str, Any]:
    """Per category, over its pairs (mean and standard error): the share of error-inconsistent
    points on which the correct model is the more confident one (θ on its side of 45°, Fig 3),
    and the spread over classes of the per-class accuracy difference (Fig 4). Verdicts: the
    last category (Dataset) against the first (Reinit), mean difference ± 2 se over pairs."""
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

    def stat(c: str, k: str) -> dict[str, Any]:
        v = per_pair.loc[per_pair.category == c, k].dropna().to_numpy()
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else None
        return {"mean": float(v.mean()) if len(v) else None, "se": se, "pairs": int(len(v))}

    for c in cats:
        out[c] = {"correct_model_more_confident": stat(c, "confident"), "class_difference_sd": stat(c, "class_sd")}
    if len(cats) >= 2:
        first, last = cats[0], cats[-1]
        for k, name in (("class_difference_sd", "class_specialisation_grows"),
                        ("correct_model_more_confident", "confidence_specialisation_grows")):
            x, y = out[first][k], out[last][k]
            if x["mean"] is None or y["mean"] is None:
                continue
            d = y["mean"] - x["mean"]
            se = np.sqrt((x["se"] or 0.0) ** 2 + (y["se"] or 0.0) ** 2) if x["se"] or y["se"] else None
            lo, hi = (d - 2 * se, d + 2 * se) if se else (d, d)
            out[name] = {**verdict(f"{last} − {first} > 0", d, lo, hi),
                         "basis": "mean difference ± 2 se over the two categories' pairs"}
    return out


def _overlap_findings(overlap: pd.DataFrame) -> dict[str, Any]:
    """Per category: the 50/50 probe's accuracy against the better of 100/0 and 0/100
    (mean over draws; the spread over draws beside it)."""
    out = {}
    if overlap.empty:
        return out
    for c, df in overlap.groupby("category", sort=False):
        by = df.groupby("fraction").accuracy
        means, sds = by.mean(), by.std(ddof=1)
        half = float(means.loc[np.isclose(means.index, 0.5)].iloc[0]) if np.isclose(means.index, 0.5).any() else None
        ends = [float(means.loc[np.isclose(means.index, f)].iloc[0]) for f in (1.0, 0.0)
                if np.isclose(means.index, f).any()]
        if half is None or not ends:
            continue
        adv = half - max(ends)
        half_draws = df.loc[np.isclose(df.fraction, 0.5), "accuracy"].to_numpy()
        se = float(half_draws.std(ddof=1) / np.sqrt(len(half_draws))) if len(half_draws) > 1 else None
        lo, hi = (adv - 2 * se, adv + 2 * se) if se is not None else (adv, adv)
        out[c] = {**verdict("50/50 probe − the better of 100/0 and 0/100 > 0", adv, lo, hi),
                  "basis": "mean ± 2 se over the random draws of dimensions",
                  "accuracy_100_0": ends[0], "accuracy_0_100": ends[-1], "accuracy_50_50": half,
                  "sd_over_draws": {str(k): (None if not np.isfinite(v) else float(v)) for k, v in sds.items()}}
    return out


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
    base = sim[sim.with_base]
    out["by_category"] = {c: {"ei": float(d.ei.mean()), "cka": float(d.cka.mean()),
                              "shared_features": float(d.shared_features.mean()), "pairs": int(len(d))}
                          for c, d in base.groupby("pair_category", sort=False)}
    return out
