"""The width study's experiment plan and measurements (Duzgun, Jelassi, Li (2024) §3, App. A, D).

The maths lives in :mod:`featurelab.width`; this module decides *which* members are
compared and writes every number in one long table.

Plan (per architecture, "4 seeds"):
    ``repeats`` independent repetitions. Repetition ``r`` compares base member ``r`` (``M_1``)
    with base member ``r + 1`` (``M_1'``, another seed) and, at each ``α = 1/k < 1``, with the
    low-width members ``r·N_p .. (r+1)·N_p − 1`` of that α: the first ``N_f`` of them form
    the ``N_f`` concatenation, all ``N_p`` the ``N_p`` concatenation, and the next ``N_f``
    (members ``N_f .. 2N_f − 1`` of the window, or the following window's when the window is
    shorter than ``2N_f``) form ``concat M_α'`` of the reverse direction.

Measurements (one row each: ``repeat, quantity, n, split, value, lambda``):
    * ``fse`` / ``fse_ref`` / ``fsg``: FSE(concat M_α → M_1) with ``n`` = ``n_f`` or
      ``n_p`` members, FSE(M_1' → M_1), and their difference FSG(α) (paper eq. 3.1);
    * ``fse_reverse`` / ``fse_reverse_ref`` / ``fsg_reverse``: FSE(M_1 → concat M_α),
      FSE(concat M_α' → concat M_α) and their difference, ``n`` = ``n_f`` (paper §3.2);
    * ``fp_base``, ``fp_single``, ``fp_concat``: FP of M_1, of one M_α and of the ``n``
      concatenation (paper Def. 2.5, Fig 3);
    * ``fp_residual_base`` / ``fp_appended_concat``: FP of the residual of M_1 that
      concat M_α (``n_p``) cannot express, alone and appended to concat M_α;
      ``fp_residual_concat`` / ``fp_appended_base``: FP of the residual of concat M_α
      (``n_f``) that M_1 cannot express, alone and appended to M_1 (Fig 4, App. D.1-D.2);
    * ``fse_shuffled`` / ``fse_ref_shuffled``: the shuffled regression of App. D.4 for the
      ``n_p`` concatenation and for M_1', on ``val``, ``test`` (held-out test points) and
      ``heldout_train``.

FSE regressions are fitted on the training split (the networks' own training points) and
evaluated on the validation split (held out of network training) and on test; FP probes
are fitted on the training split and scored on test.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .measures import concat_features, feature_span_error, linear_probe, residuals, shuffled_regression

__all__ = ["RepeatPlan", "repeat_plan", "measure_alpha", "measure_external", "MEASUREMENT_COLUMNS"]

MEASUREMENT_COLUMNS = ["repeat", "quantity", "n", "split", "value", "lambda"]
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RepeatPlan:
    """Member indices of one repetition at one α (see the module docstring)."""

    repeat: int
    base: int
    base_ref: int
    window: tuple[int, ...]      # the repetition's N_p low-width members
    reverse_ref: tuple[int, ...]  # N_f other low-width members (concat M_α')

    def concat(self, n: int) -> tuple[int, ...]:
        return self.window[:n]


def repeat_plan(repeats: int, n_f: int, n_p: int, pool: int | None = None) -> list[RepeatPlan]:
    """The plan of every repetition for ``repeats·N_p`` low-width and ``repeats + 1`` base
    members (``pool``: the low-width members ``concat M_α'`` may draw on, ``repeats·N_p`` when
    not given; more when a set trained elsewhere has them). Raises if the pool cannot give
    ``concat M_α'`` members disjoint from the repetition's own ``N_f``."""
    if repeats < 1 or n_f < 1 or n_p < n_f:
        raise ValueError(f"need repeats ≥ 1 and 1 ≤ N_f ≤ N_p, got {repeats}, {n_f}, {n_p}")
    if pool is not None and pool < repeats * n_p:
        raise ValueError(f"{pool} low-width members cannot give {repeats} repetition(s) of N_p = {n_p}")
    pool = repeats * n_p if pool is None else pool
    if pool < 2 * n_f:
        raise ValueError(f"{pool} low-width members cannot give two disjoint concatenations of N_f = {n_f}")
    plans = []
    for r in range(repeats):
        window = tuple(range(r * n_p, (r + 1) * n_p))
        ref = tuple((r * n_p + n_f + j) % pool for j in range(n_f))
        plans.append(RepeatPlan(r, r, r + 1, window, ref))
    return plans


Features = Mapping[str, np.ndarray]  # split → (points × features)


def measure_alpha(base: Sequence[Features], narrow: Sequence[Features], labels: Mapping[str, np.ndarray], *,
                  n_f: int, n_p: int, repeats: int, select: str = "loo", loo_subsample: int | None = None,
                  probe_c: float = 1.0, probe_max_iter: int = 1000, shuffled_fit_fraction: float = 0.5,
                  seed: int = 0, pool: int | None = None, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Every measurement of one α (module docstring) for ``repeats`` repetitions.

    ``base[i]`` / ``narrow[i]`` hold member i's penultimate features per split
    (``train``, ``val``, ``test``) on the same points in the same order; ``labels`` the
    labels per split; ``pool`` as :func:`repeat_plan`'s. Returns a DataFrame with
    :data:`MEASUREMENT_COLUMNS`.
    """
    rows: list[dict] = []
    reg = dict(select=select, loo_subsample=loo_subsample)
    probe = dict(C=probe_c, max_iter=probe_max_iter)
    y_tr, y_te = labels["train"], labels["test"]

    def add(r, quantity, n, split, value, lam=float("nan")):
        rows.append({"repeat": r, "quantity": quantity, "n": n, "split": split, "value": float(value),
                     "lambda": float(np.mean(lam))})

    def cat(members: Sequence[int]) -> dict[str, np.ndarray]:
        return {s: concat_features([narrow[m][s] for m in members]) for s in SPLITS}

    def regress(A: Features, B: Features, keep_residuals: bool = False) -> tuple[dict, dict[str, float]]:
        """FSE(A→B) fitted on train, on the validation and test points (``errors``); with
        ``keep_residuals`` the same single fit also returns the residuals on train and test."""
        sel = dict(X_val=A["val"], Y_val=B["val"]) if select == "validation" else {}
        if keep_residuals:
            res = residuals(A["train"], B["train"], A["test"], B["test"], eval_sets={"val": (A["val"], B["val"])},
                            **sel, **reg)
            return res, {"val": res["eval_sets"]["val"]["fse"], "test": res["fse"]}
        res = feature_span_error(A["train"], B["train"], A["val"], B["val"],
                                 eval_sets={"test": (A["test"], B["test"])}, **sel, **reg)
        return res, {"val": res["fse"], "test": res["eval_sets"]["test"]["fse"]}

    def probe_fp(F: Features) -> float:
        return linear_probe(F["train"], y_tr, F["test"], y_te, **probe)

    for plan in repeat_plan(repeats, n_f, n_p, pool):
        r = plan.repeat
        B, B_ref = base[plan.base], base[plan.base_ref]
        ref, e_ref = regress(B_ref, B)
        for split in ("val", "test"):
            add(r, "fse_ref", 1, split, e_ref[split], ref["lambda"])
        fp = {"base": probe_fp(B)}
        add(r, "fp_base", 1, "test", fp["base"])
        add(r, "fp_single", 1, "test", probe_fp(narrow[plan.window[0]]))
        concats = {}
        for n in sorted({n_f, n_p}):
            A = concats[n] = cat(plan.concat(n))
            res, e = regress(A, B, keep_residuals=n == n_p)
            if n == n_p:
                R1, e_np = res, e  # M_1's residual after the N_p concatenation (Fig 4)
            for split in ("val", "test"):
                add(r, "fse", n, split, e[split], res["lambda"])
                add(r, "fsg", n, split, e[split] - e_ref[split], res["lambda"])
            fp[n] = probe_fp(A)
            add(r, "fp_concat", n, "test", fp[n])
        # reverse direction with N_f (paper §3.2); its fit also gives the low-width residual
        Bc, Ac_ref = concats[n_f], cat(plan.reverse_ref)
        (Ra, e_rev), (rev_ref, e_rev_ref) = regress(B, Bc, keep_residuals=True), regress(Ac_ref, Bc)
        for split in ("val", "test"):
            add(r, "fse_reverse", n_f, split, e_rev[split], Ra["lambda"])
            add(r, "fse_reverse_ref", n_f, split, e_rev_ref[split], rev_ref["lambda"])
            add(r, "fsg_reverse", n_f, split, e_rev[split] - e_rev_ref[split], Ra["lambda"])
        # what the residuals contribute (Fig 4, App. D.1-D.2); FP of the features alone is above
        for R, F, n, alone, appended in ((R1, concats[n_p], n_p, "fp_residual_base", "fp_appended_concat"),
                                         (Ra, B, n_f, "fp_residual_concat", "fp_appended_base")):
            add(r, alone, n, "test", linear_probe(R["fit"], y_tr, R["eval"], y_te, **probe), R["lambda"])
            add(r, appended, n, "test", linear_probe(concat_features([F["train"], R["fit"]]), y_tr,
                                                     concat_features([F["test"], R["eval"]]), y_te, **probe),
                R["lambda"])
        A_np = concats[n_p]
        # shuffled regression (App. D.4); λ by LOO on its own fit set
        shuf_select = "loo" if select == "validation" else select
        for quantity, A in (("fse_shuffled", A_np), ("fse_ref_shuffled", B_ref)):
            sh = shuffled_regression(A["train"], B["train"], A["test"], B["test"], shuffled_fit_fraction,
                                     A["val"], B["val"], select=shuf_select, seed=seed + r,
                                     loo_subsample=loo_subsample)
            n = n_p if quantity == "fse_shuffled" else 1
            add(r, quantity, n, "val", sh["fse_val"], sh["lambda"])
            add(r, quantity, n, "test", sh["fse_heldout_test"], sh["lambda"])
            add(r, quantity, n, "heldout_train", sh["fse_heldout_train"], sh["lambda"])
        log(f"repeat {r}: FSG(N_p) on val {e_np['val'] - e_ref['val']:+.4f}  "
            f"FSG reverse on val {e_rev['val'] - e_rev_ref['val']:+.4f}  "
            f"FP base {fp['base']:.3f}  FP concat(N_p) {fp[n_p]:.3f}")
    return pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS)


def measure_external(base: Sequence[Features], narrow: Sequence[Features], labels: Mapping[str, np.ndarray], *,
                     n_p: int | None = None, repeats: int | None = None, **settings) -> tuple[pd.DataFrame, dict]:
    """The measurements of :func:`measure_alpha` between a wide and a narrow set of models
    trained elsewhere (their penultimate features on train, val and test).

    α is the ratio of their feature counts d_narrow / d_base, ``N_f = ⌈d_base / d_narrow⌉``
    (paper §2.4); ``N_p`` (members matched in parameters) is ``n_p``, N_f when not given (the
    parameter counts are not known from activations); the repetitions are as many as the sets
    allow, at most ``repeats``: repetition r needs base models r and r + 1 and narrow models
    r·N_p .. (r+1)·N_p − 1. ``settings`` go to :func:`measure_alpha`. Returns the table and
    ``{alpha, d_base, d_narrow, n_f, n_p, repeats, base_models, narrow_models}``."""
    import math

    dims = {role: sorted({m[s].shape[1] for m in members for s in SPLITS})
            for role, members in (("base", base), ("narrow", narrow))}
    for role, d in dims.items():
        if len(d) != 1:
            raise ValueError(f"the {role} set's models have different feature counts {d}")
    d_base, d_narrow = dims["base"][0], dims["narrow"][0]
    if d_narrow >= d_base:
        raise ValueError(f"the narrow set's models have {d_narrow} features, the base set's {d_base}: name the wider "
                         "set as base")
    nf = math.ceil(d_base / d_narrow)
    npp = int(n_p) if n_p else nf
    if npp < nf:
        raise ValueError(f"n_p = {npp} is below N_f = {nf} (= ⌈{d_base} / {d_narrow}⌉): N_p models match the base's "
                         "parameters, at least its features")
    possible = min(len(base) - 1, len(narrow) // npp)
    if possible < 1:
        raise ValueError(f"one repetition needs 2 base models and N_p = {npp} narrow ones; the sets have {len(base)} "
                         f"and {len(narrow)}")
    r = min(int(repeats), possible) if repeats else possible
    if len(narrow) < 2 * nf:
        raise ValueError(f"{len(narrow)} narrow models cannot give two disjoint concatenations of N_f = {nf}; give at "
                         f"least {2 * nf}")
    table = measure_alpha(base, narrow, labels, n_f=nf, n_p=npp, repeats=r, pool=len(narrow), **settings)
    return table, {"alpha": d_narrow / d_base, "d_base": d_base, "d_narrow": d_narrow, "n_f": nf, "n_p": npp,
                   "n_p_given": bool(n_p), "repeats": r, "base_models": len(base), "narrow_models": len(narrow)}


def read_members(paths: Sequence[str]) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """The penultimate features of an ensemble's members from the width study's files
    (``results/zoo/<model>/features/<state>/<split>.parquet``, member-major): one dict per
    member ``{split: (N, d) float64}``, and each split's labels, checked to agree across
    members (:func:`featurelab.activations.read_ensemble`)."""
    from ..activations import read_ensemble

    by_split: dict[str, list[str]] = {}
    models: list[str] = []
    for p in paths:
        by_split.setdefault(Path(p).stem, []).append(p)
        if Path(p).parents[2].name not in models:
            models.append(Path(p).parents[2].name)
    members: list[dict[str, np.ndarray]] = [{} for _ in models]
    labels = {}
    for split, files in by_split.items():
        if len(files) != len(models):
            raise ValueError(f"{len(files)} {split} files for {len(models)} members")
        ens = read_ensemble(files)
        labels[split] = ens.labels
        for member, acts in zip(members, ens.activations):
            member[split] = acts.astype(np.float64)
    return members, labels
