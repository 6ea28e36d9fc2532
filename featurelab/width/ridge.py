"""Multi-target ridge regression from one factorisation, with the ridge penalty chosen by
exact efficient leave-one-out, on a validation split or by GCV (Duzgun, Jelassi, Li, 2024,
App. A.1: the regressions behind the feature span error).

Written by hand because scikit-learn's ``RidgeCV`` refactorises per target and per penalty
and has no leave-one-out over a subsample; here thousands of targets share one eigen-
decomposition of the centred Gram matrix (``benchmarks/bench_width.py``: 70-100x faster).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import scipy.linalg

#: Default ridge grid, *relative* to the mean eigenvalue of the centred Gram matrix
#: ``tr(XcᵀXc)/p`` (= n × the mean feature variance): λ = c · tr(XcᵀXc)/p.
DEFAULT_RELATIVE_LAMBDAS = 10.0 ** np.arange(-6.0, 2.0)
_SELECT = ("loo", "validation", "gcv")


def _as_2d(Y: np.ndarray) -> tuple[np.ndarray, bool]:
    Y = np.asarray(Y)
    if Y.ndim == 1:
        return Y[:, None], True
    if Y.ndim != 2:
        raise ValueError(f"expected a 1-D or 2-D array, got shape {Y.shape}")
    return Y, False


@dataclass
class _Blocks:
    start: int
    stop: int


class RidgeSolver:
    """Multi-target ridge regression, all targets and all penalties from ONE factorisation.

    Model (paper (Reg)): for every target column ``y_s`` of ``Y``,
    ``min_{w,b} ‖y_s − X w − b‖² + λ‖w‖²`` with an unpenalised intercept ``b`` (the same
    objective as ``sklearn.linear_model.Ridge(alpha=λ)``).

    ``X`` and ``Y`` are centred on the fit split; then, chosen by shape,

    * ``"gram"`` (n ≥ p): ``XcᵀXc = V diag(d) Vᵀ`` (eigh of the p×p Gram matrix, accumulated
      block-wise over rows) and ``Q = Vᵀ Xcᵀ Yc``; coefficients ``W(λ) = V diag(1/(d+λ)) Q``;
    * ``"kernel"`` (p > n): ``Xc Xcᵀ = U diag(d) Uᵀ`` (eigh of the n×n kernel) and
      ``Z = Uᵀ Yc``; fitted values ``U diag(d/(d+λ)) Z``, ``W(λ) = Xcᵀ U diag(1/(d+λ)) Z``.

    Every λ then costs only products with the small spectral factors. Penalty selection
    (:meth:`select`), one λ for all targets (``lambda_``) and one per target
    (``lambda_per_target_``):

    * ``"loo"``: exact efficient leave-one-out. With the intercept the hat matrix is
      ``H(λ) = 11ᵀ/n + Xc (XcᵀXc + λI)⁻¹ Xcᵀ``, so the leverages are
      ``h_ii(λ) = 1/n + Σ_k U_ik² d_k/(d_k+λ)`` with ``U = Xc V diag(d)^{-1/2}`` (gram route:
      ``Σ_k P_ik²/(d_k+λ)`` with ``P = Xc V`` computed block-wise, never stored), and the
      LOO residual is ``e_i(λ)/(1 − h_ii(λ))`` (exactly what refitting without point ``i``
      gives). ``select(..., loo_subsample=m)`` evaluates that exact LOO residual at ``m`` random fit points
      only (an unbiased estimate of the LOO error at ``m/n`` of the cost).
    * ``"validation"``: squared error on a validation split.
    * ``"gcv"``: generalised cross-validation ``(RSS/n)/(1 − tr H/n)²`` (no pass over X).

    Cost (gram route, n fit points, p regressors, t targets, m penalties): one pass for
    ``XcᵀXc, XcᵀYc`` (n·p² flops), one p×p eigh, and for exact LOO one more pass computing
    ``Xc V`` and the fitted values for every λ (2n·p² + 2n·p·m·t); ``loo_subsample`` cuts the
    second pass to the sampled rows, GCV and validation need no pass over the fit rows.
    Memory: the p×p Gram/eigenvectors plus one block of rows; ``X`` is never copied whole.

    The per-λ criterion is the mean over targets of the per-target error divided by that
    target's variance on the fit split (``target_weights="variance"``: the LOO analogue of
    the FSE's mean relative error) or the plain sum over targets (``"none"``).

    Parameters
    ----------
    lambdas
        Absolute penalties; ``None`` uses ``relative_lambdas × tr(XcᵀXc)/p``.
    relative_lambdas
        Grid relative to the mean Gram eigenvalue (default :data:`DEFAULT_RELATIVE_LAMBDAS`).
    method
        ``"auto"`` (gram if n ≥ p else kernel), ``"gram"`` or ``"kernel"``.
    dtype
        Dtype of the large products over rows (centring, ``XᵀX`` blocks, ``Xc V``, fitted
        values; ``None``: float32 if ``X`` is float32, else float64). The Gram/kernel matrix
        is always accumulated in float64.
    eigh_dtype
        Dtype of the eigendecomposition (default float64). float32 is ~1.5× faster at
        p ≈ 8,000 but its backward error ``~eps₃₂·d_max`` is large next to small λ: on
        features with a wide spectrum it moved ε_s by 1e-2 (benchmarks/bench_width.py), so
        use it only with λ ≫ 1e-4·d_max.
    block_rows
        Rows per block in passes over ``X`` (``None``: about 128 MB per block).
    """

    def __init__(self, lambdas: Sequence[float] | None = None, *,
                 relative_lambdas: Sequence[float] | None = None,
                 fit_intercept: bool = True, method: str = "auto", dtype=None,
                 eigh_dtype=None, block_rows: int | None = None) -> None:
        if method not in ("auto", "gram", "kernel"):
            raise ValueError(f"method must be 'auto', 'gram' or 'kernel', got {method!r}")
        self.lambdas = None if lambdas is None else np.atleast_1d(np.asarray(lambdas, dtype=np.float64))
        if self.lambdas is not None and (self.lambdas < 0).any():
            raise ValueError("lambdas must be >= 0")
        self.relative_lambdas = np.asarray(
            DEFAULT_RELATIVE_LAMBDAS if relative_lambdas is None else relative_lambdas, dtype=np.float64)
        self.fit_intercept = fit_intercept
        self.method = method
        self.dtype = dtype
        self.eigh_dtype = eigh_dtype
        self.block_rows = block_rows

    # ---------------------------------------------------------------- factorisation
    def fit(self, X: np.ndarray, Y: np.ndarray) -> "RidgeSolver":
        """Factorise ``X`` (n×p) once and project the targets ``Y`` (n×t or n)."""
        X = np.asarray(X)
        Y, self._y1d = _as_2d(Y)
        if X.ndim != 2 or X.shape[0] != Y.shape[0]:
            raise ValueError(f"X must be (n, p) with n = len(Y); got {X.shape} and {Y.shape}")
        n, p = X.shape
        if n < 2:
            raise ValueError("need at least 2 fit points")
        ct = np.dtype(self.dtype) if self.dtype is not None else (
            np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64))
        self.dtype_ = ct
        et = np.dtype(np.float64 if self.eigh_dtype is None else self.eigh_dtype)
        self.method_ = self.method if self.method != "auto" else ("gram" if n >= p else "kernel")
        self.n_, self.p_, self.t_ = n, p, Y.shape[1]
        if self.block_rows is None:
            self.block_rows_ = int(max(256, min(n, (128 << 20) // max(1, p * ct.itemsize))))
        else:
            self.block_rows_ = int(self.block_rows)
        if self.fit_intercept:
            self.x_mean_ = X.mean(axis=0, dtype=np.float64)
            self.y_mean_ = Y.mean(axis=0, dtype=np.float64)
        else:
            self.x_mean_ = np.zeros(p)
            self.y_mean_ = np.zeros(Y.shape[1])
        self._X, self._Y = X, Y
        self.timings_ = {}
        t0 = time.perf_counter()
        self._x_mean_ct = self.x_mean_.astype(ct)
        self._y_mean_ct = self.y_mean_.astype(ct)
        self._use_per_target = False
        ss_y = np.zeros(self.t_)
        if self.method_ == "gram":
            G = np.zeros((p, p))
            C = np.zeros((p, self.t_))
            for b in self._blocks(n):
                Xb = self._xc(b)
                Yb = self._yc(b)
                G += Xb.T @ Xb
                C += Xb.T @ Yb
                ss_y += np.einsum("ij,ij->j", Yb, Yb, dtype=np.float64)
            G = (G + G.T) / 2  # the block products are symmetric up to rounding
            t1 = time.perf_counter()
            self.timings_["gram"] = t1 - t0
            d, V = scipy.linalg.eigh(G.astype(et, copy=False), overwrite_a=True, check_finite=False, driver="evd")
            del G
            V = V.astype(np.float64, copy=False)
            self.d_ = np.clip(d.astype(np.float64), 0.0, None)
            self.V_ = V.astype(ct, copy=False)
            self.Q_ = V.T @ C  # p×t, float64
            del V, C
            self.timings_["eigh"] = time.perf_counter() - t1
        else:
            Xc = (X - self.x_mean_).astype(ct, copy=False)
            Yc = (Y - self.y_mean_).astype(np.float64)
            K = (Xc @ Xc.T).astype(np.float64)
            K = (K + K.T) / 2
            t1 = time.perf_counter()
            self.timings_["gram"] = t1 - t0
            d, U = scipy.linalg.eigh(K.astype(et, copy=False), overwrite_a=True, check_finite=False, driver="evd")
            del K
            self.d_ = np.clip(d.astype(np.float64), 0.0, None)
            self.U_ = U.astype(ct, copy=False)
            self.Xc_ = Xc
            self.Q_ = U.astype(np.float64).T @ Yc  # n×t  (Z = UᵀYc)
            ss_y = np.einsum("ij,ij->j", Yc, Yc)
            self.timings_["eigh"] = time.perf_counter() - t1
        self.ss_y_ = ss_y  # centred target sums of squares on the fit split
        self.trace_ = float(self.d_.sum())
        if self.lambdas is None:
            scale = self.trace_ / p if self.trace_ > 0 else 1.0
            self.lambdas_ = self.relative_lambdas * scale
        else:
            self.lambdas_ = self.lambdas.copy()
        self._tol = max(float(self.d_.max(initial=0.0)), 1e-300) * max(n, p) * np.finfo(et).eps
        self.lambda_ = float(self.lambdas_[0]) if len(self.lambdas_) == 1 else None
        self.lambda_per_target_ = None
        self.cv_errors_ = None
        self.cv_per_target_ = None
        self.select_method_ = None
        return self

    def _blocks(self, n: int) -> Iterator[_Blocks]:
        for s in range(0, n, self.block_rows_):
            yield _Blocks(s, min(n, s + self.block_rows_))

    def _xc(self, b: _Blocks, X: np.ndarray | None = None) -> np.ndarray:
        """Rows ``b`` of ``X`` (default: the fit regressors) centred on the fit mean, in ``dtype_``."""
        X = self._X if X is None else X
        return np.subtract(X[b.start:b.stop], self._x_mean_ct, dtype=self.dtype_)

    def _yc(self, b: _Blocks, Y: np.ndarray | None = None) -> np.ndarray:
        Y = self._Y if Y is None else Y
        return np.subtract(Y[b.start:b.stop], self._y_mean_ct, dtype=self.dtype_)

    # ---------------------------------------------------------------- spectral helpers
    def _g(self, lam: np.ndarray) -> np.ndarray:
        """``1/(d_k + λ)`` (pseudo-inverse where ``d_k + λ`` is numerically zero); shape (r, m)."""
        lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
        den = self.d_[:, None] + lam[None, :]
        with np.errstate(divide="ignore"):
            g = np.where(den > self._tol, 1.0 / den, 0.0)
        return g

    def _resolve_lambda(self, lam) -> np.ndarray:
        """λ per target, shape (t,)."""
        if lam is None:
            if self.lambda_per_target_ is not None and getattr(self, "_use_per_target", False):
                return self.lambda_per_target_
            if self.lambda_ is None:
                raise ValueError("no λ chosen yet: call select(...) or pass lam")
            lam = self.lambda_
        lam = np.asarray(lam, dtype=np.float64)
        if lam.ndim == 0:
            return np.full(self.t_, float(lam))
        if lam.shape != (self.t_,):
            raise ValueError(f"lam must be a scalar or have one value per target ({self.t_})")
        return lam

    def _gamma(self, lam) -> np.ndarray:
        """Spectral coefficients Γ (r×t) with ``prediction = basis(X) @ Γ``."""
        lam_t = self._resolve_lambda(lam)
        uniq, inv = np.unique(lam_t, return_inverse=True)
        g = self._g(uniq)[:, inv]  # r×t
        return g * self.Q_

    def _coef2d(self, lam) -> tuple[np.ndarray, np.ndarray]:
        gam = self._gamma(lam)
        if self.method_ == "gram":
            W = self.V_.astype(np.float64, copy=False) @ gam
        else:
            W = self.Xc_.T.astype(np.float64, copy=False) @ (self.U_.astype(np.float64, copy=False) @ gam)
        return W, self.y_mean_ - self.x_mean_ @ W

    def coef(self, lam=None) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)``: coefficients (p×t) and intercepts (t,) for ``lam`` (scalar or one per
        target; default the selected one). 1-D/scalar when fitted on a 1-D ``Y``."""
        W, b = self._coef2d(lam)
        return (W[:, 0], b[0]) if self._y1d else (W, b)

    def _predict2d(self, X: np.ndarray, lam=None) -> np.ndarray:
        X = np.asarray(X)
        W, _ = self._coef2d(lam)
        Wc = W.astype(self.dtype_, copy=False)
        out = np.empty((X.shape[0], W.shape[1]))
        for blk in self._blocks(X.shape[0]):
            out[blk.start:blk.stop] = self._xc(blk, X) @ Wc
        out += self.y_mean_
        return out

    def predict(self, X: np.ndarray, lam=None) -> np.ndarray:
        """Predictions on ``X`` (m×p) for ``lam`` (scalar, one per target, or the selected)."""
        out = self._predict2d(X, lam)
        return out[:, 0] if self._y1d else out

    def _basis_blocks(self, X: np.ndarray | None) -> Iterator[tuple[_Blocks, np.ndarray]]:
        """Blocks of the spectral basis B with predictions ``B @ Γ`` (centred).

        Training rows (``X is None``): gram ``B = Xc V``; kernel ``B = U diag(d)``.
        New rows: gram ``B = (X − x̄) V``; kernel ``B = (X − x̄) Xcᵀ U``."""
        n = self.n_ if X is None else X.shape[0]
        for blk in self._blocks(n):
            if self.method_ == "gram":
                yield blk, self._xc(blk, X) @ self.V_
            elif X is None:
                yield blk, self.U_[blk.start:blk.stop] * self.d_.astype(self.dtype_)
            else:
                yield blk, (self._xc(blk, X) @ self.Xc_.T) @ self.U_

    # ---------------------------------------------------------------- selection criteria
    def _target_weights(self, target_weights: str) -> np.ndarray:
        if target_weights == "none":
            return np.ones(self.t_)
        if target_weights != "variance":
            raise ValueError("target_weights must be 'variance' or 'none'")
        var = self.ss_y_ / self.n_
        scale = max(float(var.max(initial=0.0)), 1e-300)
        with np.errstate(divide="ignore"):
            return np.where(var > 1e-12 * scale, 1.0 / np.where(var > 0, var, 1.0), 0.0)

    def loo_errors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Exact leave-one-out mean squared error per λ and target, shape (n_lambdas, t).

        ``rows`` restricts the average to those fit points (each one's LOO residual is still
        exact: the model refit on all other n−1 points)."""
        lams = self.lambdas_
        m = len(lams)
        g = self._g(lams)  # r×m
        ct = self.dtype_
        gam_all = np.concatenate([g[:, [j]] * self.Q_ for j in range(m)], axis=1).astype(ct)  # r×(m t)
        if self.method_ == "gram":
            lev_w = g.astype(ct)
        else:
            lev_w = (self.d_[:, None] * g).astype(ct)
        base = 1.0 / self.n_ if self.fit_intercept else 0.0
        sq = np.zeros((m, self.t_))
        if rows is not None:
            rows = np.sort(np.asarray(rows))
            Xs, Ys = self._X[rows], self._Y[rows]
        n_rows = self.n_ if rows is None else len(rows)
        # rows per block: the block's basis (b×r) and its m·t fitted values fit in ~128 MB each
        width = max(gam_all.shape[0], m * self.t_)
        step = self.block_rows if self.block_rows is not None else int(
            max(256, min(n_rows, (128 << 20) // max(1, width * ct.itemsize))))
        for start in range(0, n_rows, step):
            blk = _Blocks(start, min(n_rows, start + step))
            if self.method_ == "gram":
                B = self._xc(blk, None if rows is None else Xs) @ self.V_
                L = B
            else:
                idx = slice(blk.start, blk.stop) if rows is None else rows[blk.start:blk.stop]
                L = self.U_[idx]
                B = L * self.d_.astype(ct)
            Yb = self._yc(blk, None if rows is None else Ys)
            h = (L * L) @ lev_w  # b×m leverages (without the intercept's 1/n)
            one_minus = np.maximum((1.0 - base) - h, np.finfo(ct).eps)
            E = (B @ gam_all).reshape(len(Yb), m, self.t_)  # fitted values, every λ
            del B, L
            E -= Yb[:, None, :]  # −residuals
            E /= one_minus[:, :, None]  # LOO residuals e_i/(1 − h_ii)
            np.square(E, out=E)
            sq += E.sum(axis=0, dtype=np.float64)
        return sq / n_rows

    def gcv_errors(self) -> np.ndarray:
        """Generalised cross-validation ``(RSS/n)/(1 − tr H/n)²`` per λ and target."""
        g = self._g(self.lambdas_)  # r×m
        if self.method_ == "gram":
            dd = self.d_[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                z2 = np.where(self.d_[:, None] > self._tol, self.Q_ ** 2 / np.where(dd > 0, dd, 1.0), 0.0)
        else:
            z2 = np.where(self.d_[:, None] > self._tol, self.Q_ ** 2, 0.0)
        dg = self.d_[:, None] * g  # r×m, shrinkage factors
        # RSS = ‖Yc‖² − Σ_k z_k² (1 − (λ g_k)²) = ‖Yc‖² − Σ_k z_k² (1 − (1 − d_k g_k)²)
        rss = self.ss_y_[None, :] - ((1.0 - (1.0 - dg) ** 2).T @ z2)
        rss = np.maximum(rss, 0.0)
        tr = dg.sum(axis=0) + (1.0 if self.fit_intercept else 0.0)
        return (rss / self.n_) / ((1.0 - tr / self.n_) ** 2)[:, None]

    def validation_errors(self, X_val: np.ndarray, Y_val: np.ndarray) -> np.ndarray:
        """Mean squared error on a validation split per λ and target, shape (n_lambdas, t)."""
        X_val = np.asarray(X_val)
        Y_val, _ = _as_2d(Y_val)
        m = len(self.lambdas_)
        g = self._g(self.lambdas_)
        gam_all = np.concatenate([g[:, [j]] * self.Q_ for j in range(m)], axis=1).astype(self.dtype_)
        sq = np.zeros((m, self.t_))
        for blk, B in self._basis_blocks(X_val):
            Yb = self._yc(blk, Y_val)
            pred = B @ gam_all
            for j in range(m):
                e = (Yb - pred[:, j * self.t_:(j + 1) * self.t_]).astype(np.float64)
                sq[j] += np.einsum("ij,ij->j", e, e)
        return sq / X_val.shape[0]

    def select(self, select: str = "loo", X_val: np.ndarray | None = None, Y_val: np.ndarray | None = None,
               *, per_target: bool = False, target_weights: str = "variance",
               loo_subsample: int | None = None, seed: int = 0) -> float | np.ndarray:
        """Pick λ from the grid by ``select`` ∈ {"loo", "validation", "gcv"} and record it.

        Sets ``lambda_`` (one λ for all targets: minimiser of the weighted sum over targets),
        ``lambda_per_target_`` (each target's own minimiser), ``cv_per_target_`` (n_λ×t
        errors), ``cv_errors_`` (the criterion per λ). Returns the per-target array if
        ``per_target`` else the common λ; ``predict``/``coef`` default to that choice."""
        t0 = time.perf_counter()
        if select == "loo":
            rows = None
            if loo_subsample is not None and loo_subsample < self.n_:
                rows = np.random.default_rng(seed).choice(self.n_, size=int(loo_subsample), replace=False)
            err = self.loo_errors(rows)
        elif select == "validation":
            if X_val is None or Y_val is None:
                raise ValueError("select='validation' needs X_val and Y_val")
            err = self.validation_errors(X_val, Y_val)
        elif select == "gcv":
            err = self.gcv_errors()
        else:
            raise ValueError(f"select must be one of {_SELECT}, got {select!r}")
        w = self._target_weights(target_weights)
        crit = err @ w / max(1, int((w > 0).sum()))
        self.cv_per_target_ = err
        self.cv_errors_ = crit
        self.lambda_ = float(self.lambdas_[int(np.argmin(crit))])
        self.lambda_per_target_ = self.lambdas_[np.argmin(err, axis=0)]
        self.select_method_ = select
        self._use_per_target = bool(per_target)
        self.timings_["select"] = time.perf_counter() - t0
        return self.lambda_per_target_ if per_target else self.lambda_


def relative_squared_error(Y_true: np.ndarray, Y_pred: np.ndarray, rtol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Per-target ``ε_s = ‖y − ŷ‖² / ‖y − ȳ‖²`` with ``ȳ`` the mean of ``y`` over these
    points (1 − R² per target). Returns ``(eps, skipped)``: ``eps`` is NaN and
    ``skipped`` True for targets whose variance here is zero (``‖y−ȳ‖² ≤ rtol·‖y‖²``)."""
    Y_true, _ = _as_2d(Y_true)
    Y_pred, _ = _as_2d(Y_pred)
    yt = Y_true.astype(np.float64)
    ss_res = np.einsum("ij,ij->j", yt - Y_pred, yt - Y_pred)
    dev = yt - yt.mean(axis=0)
    ss_tot = np.einsum("ij,ij->j", dev, dev)
    ss_raw = np.einsum("ij,ij->j", yt, yt)
    skipped = ss_tot <= rtol * ss_raw
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = np.where(skipped, np.nan, ss_res / np.where(skipped, 1.0, ss_tot))
    return eps, skipped
