"""The generative story of Jiang, Baek, Kolter (ICLR 2024, §5) sampled directly: model pairs
holding random features, points carrying them, a model right when it shares a feature with
the point and guessing otherwise, two guessing models agreeing with probability ζ(k, c).
Its accuracy and agreement must match the closed forms of
:mod:`featurelab.theory.closed_forms` within Monte Carlo error: the workflow's self-check of
the formulas (Fig 4's simulated points).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Union

import numpy as np
import pandas as pd

from ..figures import require_columns
from .closed_forms import DEFAULTS, ZETA_FAMILIES, Number, Params, ZetaSpec, _as_params, _to_int, _zeta_values
from .sweeps import SWEEP_KEYS as _SWEEP_KEYS


def _sample_subsets(rng: np.random.Generator, n: int, t: int, size: int) -> np.ndarray:
    """``n`` independent uniform ``size``-subsets of ``range(t)`` as an (n, size) int array.

    Vectorised Floyd's algorithm: for j = t−size..t−1 draw T ∈ [0, j]; keep T unless already
    chosen, else take j. Each subset is uniform over all C(t, size); O(n·size²).
    """
    out = np.empty((n, size), dtype=np.int32)
    for i, j in enumerate(range(t - size, t)):
        draw = rng.integers(0, j + 1, size=n, dtype=np.int32)
        if i:
            dup = (out[:, :i] == draw[:, None]).any(axis=1)
            draw = np.where(dup, np.int32(j), draw)
        out[:, i] = draw
    return out


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise |A ∩ B| for rows of distinct indices."""
    if a.shape[1] == 0 or b.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=np.int64)
    return (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2))


def _intersects(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.shape[1] == 0 or b.shape[1] == 0:
        return np.zeros(a.shape[0], dtype=bool)
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))


def simulate(params: Union[Params, Mapping[str, Number]], zeta: ZetaSpec = None,
             n_pairs: int = 20_000, n_points: int = 50, seed: int | None = 0) -> dict[str, float]:
    """Monte Carlo of the framework's story; must match Prop. 5.1 / 5.2 within MC error.

    For each of ``n_pairs`` independent model pairs (f, g): each model draws ``c_d`` of the
    ``t_d`` dominant and ``c_r`` of the ``t_r`` rare features of the class, uniformly without
    replacement; ``k = |Ψ(f) ∩ Ψ(g)|`` counts the shared features of this class (the closed
    form's ``a + b``; the other class's features never meet this class's points). Each pair
    sees ``n_points`` fresh points: dominant w.p. ``p_d`` holding ``n_d`` of the ``t_d``
    dominant features, else ``n_r`` of the ``t_r`` rare ones. A model sharing a feature with
    the point is right; otherwise it guesses (right w.p. 1/2). If both guess and ``k > 0``,
    g copies f's guess w.p. ζ(k, c) and takes the other label otherwise, so they agree w.p.
    exactly ζ (App. C.2 case B) while each guess stays fair; if both guess and ``k = 0``, or
    only one guesses, the guesses are independent (agree w.p. 1/2, case C).

    Returns ``accuracy`` (mean over both models), ``agreement``, ``difference`` and their
    standard errors ``*_se`` from the spread of the ``n_pairs`` independent per-pair means,
    plus ``n_pairs``, ``n_points``, ``n_samples``.
    """
    prm = _as_params(params)
    n_pairs = _to_int(n_pairs, "n_pairs")
    n_points = _to_int(n_points, "n_points")
    if n_pairs < 2:
        raise ValueError(f"n_pairs must be ≥ 2 to estimate a standard error, got {n_pairs}")
    if n_points < 1:
        raise ValueError(f"n_points must be ≥ 1, got {n_points}")
    c_d, c_r = prm.c_d, prm.c_r
    p = float(prm.p_exact)
    zt = np.array([float(v) for v in _zeta_values(zeta, prm.c, c_d + c_r)])
    rng = np.random.default_rng(seed)

    widest = max(1, c_d * max(c_d, prm.n_d), c_r * max(c_r, prm.n_r))
    rows_per_chunk = max(n_points, min(1 << 18, (1 << 24) // widest))
    pairs_per_chunk = max(1, rows_per_chunk // n_points)
    acc_means = np.empty(n_pairs)
    agr_means = np.empty(n_pairs)
    for start in range(0, n_pairs, pairs_per_chunk):
        m = min(pairs_per_chunk, n_pairs - start)
        fd = _sample_subsets(rng, m, prm.t_d, c_d)
        fr = _sample_subsets(rng, m, prm.t_r, c_r)
        gd = _sample_subsets(rng, m, prm.t_d, c_d)
        gr = _sample_subsets(rng, m, prm.t_r, c_r)
        k_pair = _overlap(fd, gd) + _overlap(fr, gr)

        n = m * n_points
        pair = np.repeat(np.arange(m), n_points)
        dom = rng.random(n) < p
        hit_f = np.zeros(n, dtype=bool)
        hit_g = np.zeros(n, dtype=bool)
        for mask, t, npt, mf, mg in ((dom, prm.t_d, prm.n_d, fd, gd),
                                     (~dom, prm.t_r, prm.n_r, fr, gr)):
            idx = np.flatnonzero(mask)
            if idx.size == 0:
                continue
            pts = _sample_subsets(rng, idx.size, t, npt)
            hit_f[idx] = _intersects(mf[pair[idx]], pts)
            hit_g[idx] = _intersects(mg[pair[idx]], pts)

        guess_f = rng.random(n) < 0.5      # f's guess is right
        guess_g = rng.random(n) < 0.5      # g's independent guess is right
        copy = rng.random(n) < zt[k_pair[pair]]
        k_row = k_pair[pair]
        both_shared = ~hit_f & ~hit_g & (k_row > 0)
        g_guess = np.where(both_shared, np.where(copy, guess_f, ~guess_f), guess_g)
        ok_f = hit_f | guess_f
        ok_g = hit_g | g_guess
        agree = ok_f == ok_g
        acc_means[start:start + m] = np.bincount(pair, weights=ok_f.astype(float) + ok_g,
                                                 minlength=m) / (2 * n_points)
        agr_means[start:start + m] = np.bincount(pair, weights=agree.astype(float),
                                                 minlength=m) / n_points

    def se(x: np.ndarray) -> float:
        return float(np.std(x, ddof=1) / math.sqrt(x.size))

    return {
        "accuracy": float(acc_means.mean()),
        "agreement": float(agr_means.mean()),
        "difference": float((acc_means - agr_means).mean()),
        "accuracy_se": se(acc_means),
        "agreement_se": se(agr_means),
        "difference_se": se(acc_means - agr_means),
        "n_pairs": n_pairs,
        "n_points": n_points,
        "n_samples": n_pairs * n_points,
    }


def _zeta_spec(row: Mapping[str, Any]) -> Any:
    fam = row.get("zeta_family", "constant")
    if fam not in ZETA_FAMILIES:
        raise ValueError(f"cannot rebuild zeta family {fam!r} from a sweep row; "
                         "simulate only rows of the named families")
    spec: dict[str, Any] = {"family": fam, "eta": float(row["eta"])}
    if fam == "step":
        spec["theta"] = float(row["theta"])
    return spec


def simulate_fig4_points(sweep_df: pd.DataFrame, every: int = 4, n_pairs: int = 3000,
                         n_points: int = 50, seed: int = 0) -> pd.DataFrame:
    """Monte Carlo (:func:`featurelab.theory.simulate`) on a thinned subset of sweep rows.

    Within each ablation (rows in sweep order) the rows ``0, every, 2·every, ...`` and the
    last one are simulated with the row's parameters and ζ (rebuilt from zeta_family, eta,
    theta). Row ``i`` of the result uses seed ``seed + i``, so the points are independent
    and reproducible. Defaults (every=4, 3000 pairs × 50 points) simulate 66 of the 228
    Figure 4 rows in about 6 s on one core, with standard errors ≈ 0.0015.

    Returns the chosen sweep rows with accuracy, agreement, difference replaced by the
    simulated means, plus accuracy_se, agreement_se, difference_se, the closed forms as
    accuracy_cf, agreement_cf, difference_cf, the z-scores z_accuracy, z_agreement
    ((sim − closed form)/se), n_pairs, n_points and seed.
    """
    require_columns(sweep_df, _SWEEP_KEYS + list(DEFAULTS) + ["accuracy", "agreement",
                                                              "difference"], "sweep_df")
    every = int(every)
    if every < 1:
        raise ValueError(f"every must be ≥ 1, got {every}")
    picks = []
    for _, grp in sweep_df.groupby("ablation", sort=False):
        idx = list(grp.index[::every])
        if grp.index[-1] not in idx:
            idx.append(grp.index[-1])
        picks.extend(idx)
    chosen = sweep_df.loc[picks].reset_index(drop=True)
    out = []
    for i, row in chosen.iterrows():
        prm = {k: row[k] for k in DEFAULTS}
        for k in ("c", "t_d", "t_r", "n_d", "n_r"):
            prm[k] = int(prm[k])
        prm["p_d"] = float(prm["p_d"])
        r = simulate(prm, _zeta_spec(row), n_pairs=n_pairs, n_points=n_points,
                     seed=seed + int(i))
        rec = row.to_dict()
        for q in ("accuracy", "agreement", "difference"):
            rec[f"{q}_cf"] = float(row[q])
            rec[q] = r[q]
            rec[f"{q}_se"] = r[f"{q}_se"]
        for q in ("accuracy", "agreement"):
            rec[f"z_{q}"] = ((r[q] - rec[f"{q}_cf"]) / r[f"{q}_se"]
                             if r[f"{q}_se"] > 0 else 0.0 if r[q] == rec[f"{q}_cf"] else math.inf)
        rec.update(n_pairs=int(n_pairs), n_points=int(n_points), seed=seed + int(i))
        out.append(rec)
    return pd.DataFrame(out)
