"""The measurements of the width study (Duzgun, Jelassi, Li, "How Does Overparameterization Affect
Features?", arXiv 2407.00968, 2024).

Feature span error (§2.3 Def. 2.2, App. A.1)
    For every target feature ``s`` of ``B`` (column of ``Y``) ridge-regress it, with an
    unpenalised intercept, on all features of ``A`` (columns of ``X``), fitted on the fit
    split; ``ε_s = ‖y − ŷ‖² / ‖y − ȳ‖²`` on the evaluation points (``ȳ`` = mean over the
    evaluation points, i.e. ``1 − R²``); ``FSE(A→B) = mean_s ε_s``. Targets with zero
    variance on the evaluation points have no ``ε_s``; they are skipped and counted.

Feature span gap (§3)
    ``FSG(α) = FSE(concat M_α → M_1) − FSE(M_1' → M_1)``; reverse direction
    ``FSE(M_1 → concat M_α) − FSE(concat M_α' → concat M_α)`` (:func:`feature_span_gap`).

Feature performance and residuals (Def. 2.5, 2.6, App. D.1-D.2)
    ``FP`` = test accuracy of a linear (multinomial logistic) probe on a feature set
    (:func:`linear_probe`); residuals ``R = B − Â`` (:func:`residuals`); FP of the residuals
    alone and appended to the regressor set (:func:`feature_performance`).

Shuffled regression (App. D.4): :func:`shuffled_regression`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..stats import linear_probe, probe_correct  # noqa: F401  (shared statistics; their old home)
from .ridge import _SELECT, RidgeSolver, _as_2d, relative_squared_error

if TYPE_CHECKING:
    pass


def _fse_summary(Y_eval, pred) -> dict:
    eps, skipped = relative_squared_error(Y_eval, pred)
    kept = ~skipped
    return {
        "fse": float(eps[kept].mean()) if kept.any() else float("nan"),
        "per_target": eps,
        "n_targets": int(eps.size),
        "n_skipped": int(skipped.sum()),
        "skipped": np.flatnonzero(skipped),
        "n_eval": int(np.asarray(Y_eval).shape[0]),
    }


def _fit_select(X_fit, Y_fit, *, lambdas, select, X_val, Y_val, per_target_lambda, loo_subsample,
                solver_kwargs) -> RidgeSolver:
    solver = RidgeSolver(lambdas, **(solver_kwargs or {})).fit(X_fit, Y_fit)
    if len(solver.lambdas_) > 1 or per_target_lambda:
        solver.select(select, X_val, Y_val, per_target=per_target_lambda, loo_subsample=loo_subsample)
    return solver


def _solver_record(solver: RidgeSolver, select: str, per_target_lambda: bool) -> dict:
    return {
        "lambda": solver.lambda_per_target_ if per_target_lambda else solver.lambda_,
        "lambda_common": solver.lambda_,
        "lambda_per_target": solver.lambda_per_target_,
        "lambdas": solver.lambdas_,
        "cv_errors": solver.cv_errors_,
        "select": select if solver.select_method_ else "fixed",
        "method": solver.method_,
        "n_fit": solver.n_,
        "n_regressors": solver.p_,
        "timings": dict(solver.timings_),
    }


def feature_span_error(X_fit: np.ndarray, Y_fit: np.ndarray, X_eval: np.ndarray, Y_eval: np.ndarray,
                       lambdas: Sequence[float] | None = None, select: str = "loo",
                       X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, *,
                       per_target_lambda: bool = False, loo_subsample: int | None = None,
                       eval_sets: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                       solver_kwargs: dict | None = None) -> dict:
    """``FSE(A→B)`` (paper Def. 2.2, App. A.1).

    ``X_*`` are the regressor features ``A`` (n×p), ``Y_*`` the target features ``B`` (n×t),
    on the fit split (the regression's training points), the evaluation split, and the
    optional validation split used when ``select="validation"``. Every target column is
    ridge-regressed (intercept unpenalised) on all regressors, all from one factorisation
    (:class:`RidgeSolver`); λ comes from the grid ``lambdas`` (default: relative grid
    :data:`DEFAULT_RELATIVE_LAMBDAS` × mean Gram eigenvalue) by ``select`` ∈ {"loo",
    "validation", "gcv"}; one λ for all targets unless ``per_target_lambda``.

    Returns a dict: ``fse`` (mean of ε_s over targets with variance on the eval points),
    ``per_target`` (ε_s, NaN where skipped), ``n_skipped``/``skipped`` (zero-variance
    targets), ``lambda`` (chosen: scalar, or per-target array), ``lambda_common``,
    ``lambda_per_target``, ``lambdas`` (grid), ``cv_errors`` (criterion per λ), ``select``,
    ``method`` ("gram"/"kernel"), ``n_fit``, ``n_eval``, ``n_regressors``, ``n_targets`` and
    ``eval_sets`` (the same summary for every extra ``name → (X, Y)`` split, same fit).
    """
    if select not in _SELECT:
        raise ValueError(f"select must be one of {_SELECT}, got {select!r}")
    solver = _fit_select(X_fit, Y_fit, lambdas=lambdas, select=select, X_val=X_val, Y_val=Y_val,
                         per_target_lambda=per_target_lambda, loo_subsample=loo_subsample,
                         solver_kwargs=solver_kwargs)
    out = _fse_summary(Y_eval, solver._predict2d(X_eval))
    out.update(_solver_record(solver, select, per_target_lambda))
    out["eval_sets"] = {name: _fse_summary(Ye, solver._predict2d(Xe))
                        for name, (Xe, Ye) in (eval_sets or {}).items()}
    return out


def concat_features(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenation of the features of several members (paper Def. 2.4): arrays (n×d_i) on
    the same points, in the same order → n×Σd_i (column blocks in member order)."""
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one feature array")
    if any(a.ndim != 2 for a in arrays):
        raise ValueError("every feature array must be 2-D (points × features)")
    n = {a.shape[0] for a in arrays}
    if len(n) != 1:
        raise ValueError(f"feature arrays have different numbers of points: {sorted(n)}")
    return np.concatenate(arrays, axis=1)


def feature_span_gap(A_fit: np.ndarray, B_fit: np.ndarray, A_eval: np.ndarray, B_eval: np.ndarray,
                     A_ref_fit: np.ndarray, A_ref_eval: np.ndarray,
                     lambdas: Sequence[float] | None = None, select: str = "loo",
                     A_val: np.ndarray | None = None, B_val: np.ndarray | None = None,
                     A_ref_val: np.ndarray | None = None, **kwargs) -> dict:
    """Feature span gap ``FSE(A→B) − FSE(A_ref→B)`` (paper §3).

    * forward: ``A`` = concat ``M_α`` (:func:`concat_features`), ``B`` = ``M_1``,
      ``A_ref`` = ``M_1'`` (another seed of the base model):
      ``FSG(α) = FSE(concat M_α → M_1) − FSE(M_1' → M_1)``;
    * reverse: ``A`` = ``M_1``, ``B`` = concat ``M_α``, ``A_ref`` = concat ``M_α'`` (other
      seeds): ``FSE(M_1 → concat M_α) − FSE(concat M_α' → concat M_α)``, with N = N_f.

    Arrays are already concatenated; ``*_val`` are only needed for ``select="validation"``.
    Extra keyword arguments go to :func:`feature_span_error`. Returns ``fsg``, ``fse``,
    ``fse_ref`` and the two full FSE dicts (``detail``, ``detail_ref``).
    """
    main = feature_span_error(A_fit, B_fit, A_eval, B_eval, lambdas, select, A_val, B_val, **kwargs)
    ref = feature_span_error(A_ref_fit, B_fit, A_ref_eval, B_eval, lambdas, select, A_ref_val, B_val, **kwargs)
    return {"fsg": main["fse"] - ref["fse"], "fse": main["fse"], "fse_ref": ref["fse"],
            "detail": main, "detail_ref": ref}


def residuals(X_fit: np.ndarray, Y_fit: np.ndarray, X_eval: np.ndarray, Y_eval: np.ndarray,
              lambdas: Sequence[float] | None = None, select: str = "loo",
              X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None, *,
              per_target_lambda: bool = False, loo_subsample: int | None = None,
              eval_sets: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
              solver_kwargs: dict | None = None) -> dict:
    """Feature residuals ``R = B − Â`` (paper Def. 2.6): what the regressors
    ``A`` (``X``) cannot express of the targets ``B`` (``Y``), with ``Â`` the ridge fit of
    :func:`feature_span_error` (same λ selection).

    Returns ``fit`` (n_fit×t, in-sample residuals on the fit points), ``eval`` (n_eval×t),
    ``lambda``, ``fse`` (on the eval points), ``eval_sets`` (the FSE summary of every extra
    ``name → (X, Y)`` split, same fit, as in :func:`feature_span_error`) and the other
    solver records: one fit gives both the FSE and the residuals."""
    solver = _fit_select(X_fit, Y_fit, lambdas=lambdas, select=select, X_val=X_val, Y_val=Y_val,
                         per_target_lambda=per_target_lambda, loo_subsample=loo_subsample,
                         solver_kwargs=solver_kwargs)
    Yf, _ = _as_2d(Y_fit)
    Ye, _ = _as_2d(Y_eval)
    pred_eval = solver._predict2d(X_eval)
    R_fit = Yf.astype(np.float64) - solver._predict2d(X_fit)
    R_eval = Ye.astype(np.float64) - pred_eval
    out = {"fit": R_fit, "eval": R_eval, "fse": _fse_summary(Ye, pred_eval)["fse"],
           "eval_sets": {name: _fse_summary(Ye_, solver._predict2d(Xe)) for name, (Xe, Ye_) in (eval_sets or {}).items()}}
    out.update(_solver_record(solver, select, per_target_lambda))
    return out


def feature_performance(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray, y_test: np.ndarray,
                        R_train: np.ndarray | None = None, R_test: np.ndarray | None = None,
                        C: float = 1.0, max_iter: int = 1000) -> dict:
    """FP of a feature set ``F`` and, given residuals ``R`` (:func:`residuals`, on the same
    points), FP of the residuals alone and appended to ``F`` (paper App. D.1-D.2; usually
    ``F = A``, the regressors that could not express ``R``). Returns ``features``,
    ``residuals``, ``appended`` accuracies (the last two NaN without residuals)."""
    out = {"features": linear_probe(F_train, y_train, F_test, y_test, C, max_iter),
           "residuals": float("nan"), "appended": float("nan")}
    if R_train is not None and R_test is not None:
        out["residuals"] = linear_probe(R_train, y_train, R_test, y_test, C, max_iter)
        out["appended"] = linear_probe(concat_features([F_train, R_train]), y_train,
                                       concat_features([F_test, R_test]), y_test, C, max_iter)
    return out


def shuffled_regression(A_train: np.ndarray, B_train: np.ndarray, A_test: np.ndarray, B_test: np.ndarray,
                        fit_fraction: float = 0.5, A_val: np.ndarray | None = None,
                        B_val: np.ndarray | None = None, lambdas: Sequence[float] | None = None,
                        select: str = "loo", seed: int = 0, **kwargs) -> dict:
    """Shuffled regression (paper App. D.4): the FSE regression with its fit set drawn from
    BOTH the task's training and test points, so the regression does not fit only on the
    points the networks were trained on.

    The paper: "training data is created by randomly sub-sampling from training and test
    data (… from each) used in network training"; the share was lost in the text. Our
    reading: ``A_*``/``B_*`` are regressor/target features of the task's training split and
    test split; a random ``fit_fraction`` of the training points and the same fraction of
    the test points form the fit set; the remaining points of each origin are held out and
    give two errors, ``fse_heldout_train`` (held-out training-split points) and
    ``fse_heldout_test`` (held-out test-split points) — the pair the paper's Tables 4-5
    compare as "valid." vs "test"; with the shuffled fit their gap should shrink. An optional
    validation split (``A_val``/``B_val``, held out of network training) never enters the fit
    and is reported as ``fse_val``. λ is selected on the fit set (``select="loo"`` or
    ``"gcv"``). Returns these FSEs, ``lambda``, ``n_fit_train``, ``n_fit_test`` and the
    fit indices of each origin.
    """
    if not 0 < fit_fraction < 1:
        raise ValueError("fit_fraction must be in (0, 1)")
    if select == "validation":
        raise ValueError("shuffled_regression selects λ on its own fit set: use 'loo' or 'gcv'")
    rng = np.random.default_rng(seed)
    A_train, B_train, A_test, B_test = map(np.asarray, (A_train, B_train, A_test, B_test))
    idx = {}
    for name, n in (("train", A_train.shape[0]), ("test", A_test.shape[0])):
        k = int(round(fit_fraction * n))
        if not 0 < k < n:
            raise ValueError(f"fit_fraction {fit_fraction} leaves no fit or no held-out {name} points")
        perm = rng.permutation(n)
        idx[name] = (np.sort(perm[:k]), np.sort(perm[k:]))
    X_fit = np.concatenate([A_train[idx["train"][0]], A_test[idx["test"][0]]])
    Y_fit = np.concatenate([B_train[idx["train"][0]], B_test[idx["test"][0]]])
    eval_sets = {"heldout_test": (A_test[idx["test"][1]], B_test[idx["test"][1]])}
    if A_val is not None and B_val is not None:
        eval_sets["val"] = (np.asarray(A_val), np.asarray(B_val))
    res = feature_span_error(X_fit, Y_fit, A_train[idx["train"][1]], B_train[idx["train"][1]],
                             lambdas, select, eval_sets=eval_sets, **kwargs)
    return {
        "fse_heldout_train": res["fse"],
        "fse_heldout_test": res["eval_sets"]["heldout_test"]["fse"],
        "fse_val": res["eval_sets"]["val"]["fse"] if "val" in res["eval_sets"] else float("nan"),
        "lambda": res["lambda"],
        "n_fit_train": int(idx["train"][0].size),
        "n_fit_test": int(idx["test"][0].size),
        "fit_index_train": idx["train"][0],
        "fit_index_test": idx["test"][0],
        "detail": res,
    }


def fse_bootstrap(Y_eval: np.ndarray, predictions: Sequence[np.ndarray], resamples: int = 2000,
                  seed: int = 0) -> np.ndarray:
    """FSE of several regressions onto the same targets ``Y_eval`` (n×t), recomputed on
    ``resamples`` bootstrap resamples of the evaluation points, the same resample for every
    regression (paired): ``(resamples, len(predictions))``. Each ``predictions[j]`` (n×t) is
    a fitted regression's prediction on these points (the fit stays fixed: the resamples
    measure the error of evaluating on finitely many points). Per resample, ``ε_s`` is
    :func:`~featurelab.width.ridge.relative_squared_error` on the resampled rows (ȳ their
    mean) and FSE the mean over the targets with variance there, as in
    :func:`feature_span_error`."""
    Y = np.asarray(Y_eval, dtype=np.float64)
    preds = [np.asarray(p, dtype=np.float64) for p in predictions]
    if any(p.shape != Y.shape for p in preds):
        raise ValueError(f"every prediction must have the targets' shape {Y.shape}")
    if resamples < 1:
        raise ValueError(f"resamples must be ≥ 1, got {resamples}")
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, len(preds)))
    for b in range(resamples):
        idx = rng.integers(0, Y.shape[0], Y.shape[0])
        for j, p in enumerate(preds):
            eps, skipped = relative_squared_error(Y[idx], p[idx])
            out[b, j] = float(eps[~skipped].mean()) if (~skipped).any() else np.nan
    return out
