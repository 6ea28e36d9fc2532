"""Tests of featurelab.width (Duzgun, Jelassi, Li (2024)): member counts, the one-factorisation ridge
solver against scikit-learn and brute-force leave-one-out, FSE/FSG/residuals, linear probe,
shuffled regression. All problems are tiny (the whole file runs in a few seconds)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from featurelab import width as W


def _data(n, p, t, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2.0, p) + rng.standard_normal(p)
    A = rng.standard_normal((p, t))
    Y = X @ A + noise * rng.standard_normal((n, t)) + rng.standard_normal(t)
    return X, Y


# ----------------------------------------------------------------------------- member counts

def test_n_f_hand_counts():
    assert W.n_f(1 / 16) == 16
    assert W.n_f(0.5) == 2
    assert W.n_f("1/8") == 8
    assert W.n_f(1 / 3) == 3
    assert W.n_f(0.3) == 4
    assert W.n_f(1) == 1
    with pytest.raises(ValueError):
        W.n_f(0)


def _resnet18_params_by_hand(width, num_classes=10, in_channels=3):
    """ResNet-18 (CIFAR stem) parameter count: convs (no bias) + BN (2 per channel) + linear."""
    c = [max(1, int(round(x * width))) for x in (64, 128, 256, 512)]
    total = in_channels * c[0] * 9 + 2 * c[0]  # stem conv + bn
    cin = c[0]
    for i, co in enumerate(c):
        for j in range(2):
            ci = cin if j == 0 else co
            total += ci * co * 9 + 2 * co + co * co * 9 + 2 * co  # conv1, bn1, conv2, bn2
            if j == 0 and (i > 0 or ci != co):
                total += ci * co + 2 * co  # 1x1 shortcut conv + bn
        cin = co
    return total + c[-1] * num_classes + num_classes


def test_n_p_against_hand_counts():
    for alpha in (1.0, 0.5, 1 / 16):
        assert W.model_parameters("resnet18", alpha) == _resnet18_params_by_hand(alpha)
    p1, p2 = _resnet18_params_by_hand(1.0), _resnet18_params_by_hand(0.5)
    assert W.n_p(0.5, "resnet18") == math.ceil(p1 / p2)
    p16 = _resnet18_params_by_hand(1 / 16)
    assert W.n_p(1 / 16, "resnet18") == -(-p1 // p16)
    n = W.n_p(1 / 16, "resnet18")
    assert n * p16 >= p1 > (n - 1) * p16  # the smallest such N
    assert W.n_p(1.0, "resnet18") == 1


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
def test_parameter_count_matches_the_built_models(arch):
    """The torch-free count the DAG uses equals the real networks' for every width the study
    uses (and odd ones whose rounding differs), colour and grayscale, 10 and 2 classes."""
    from featurelab.architecture import feature_dim, parameter_count
    from featurelab.models import build_model, count_parameters

    for width in (1.0, 0.5, 0.25, 0.125, 1 / 16, 1 / 32, 1 / 64, 0.3, 0.125 / 3):
        for classes, cin in ((10, 3), (2, 1)):
            model = build_model(arch, classes, width, cin)
            assert parameter_count(arch, width, classes, cin) == count_parameters(model), (width, classes, cin)
            assert feature_dim(arch, width) == model.feature_dim


def test_n_p_relative_to_a_narrow_base():
    """With base_width w, M_1 is the network at w and M_α the one at w·α."""
    p1, p2 = _resnet18_params_by_hand(0.125), _resnet18_params_by_hand(0.125 / 4)
    assert W.n_p(0.25, "resnet18", base_width=0.125) == -(-p1 // p2)
    df = W.member_counts("resnet18", [1, 0.25], base_width=0.125)
    assert df["width"].tolist() == [0.125, 0.03125]
    assert df["feature_dim"].tolist() == [64, 16]


def test_member_counts_table():
    df = W.member_counts("resnet18", [0.5, "1/16"])
    assert list(df.columns) == ["alpha", "width", "feature_dim", "params", "params_ratio", "n_f", "n_p"]
    assert df["n_f"].tolist() == [2, 16]
    assert df["feature_dim"].tolist() == [256, 32]
    assert (df["n_p"] == np.ceil(df["params_ratio"]).astype(int)).all()
    assert df["n_p"].tolist() == [W.n_p(0.5, "resnet18"), W.n_p(1 / 16, "resnet18")]


# ----------------------------------------------------------------------------- ridge solver

@pytest.mark.parametrize("shape", [(60, 8, 3), (15, 40, 3)], ids=["n>p gram", "p>n kernel"])
def test_solver_matches_sklearn_ridge(shape):
    n, p, t = shape
    X, Y = _data(n, p, t, seed=1)
    Xn, _ = _data(20, p, t, seed=2)
    lambdas = [1e-3, 0.1, 1.0, 10.0, 300.0]
    solver = W.RidgeSolver(lambdas).fit(X, Y)
    assert solver.method_ == ("gram" if n >= p else "kernel")
    for lam in lambdas:
        Wc, b = solver.coef(lam)
        pred = solver.predict(Xn, lam)
        for j in range(t):  # per target, like the slow route
            ref = Ridge(alpha=lam).fit(X, Y[:, j])
            np.testing.assert_allclose(Wc[:, j], ref.coef_, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(b[j], ref.intercept_, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(pred[:, j], ref.predict(Xn), rtol=1e-6, atol=1e-8)


def test_solver_forced_route_and_1d_target():
    X, Y = _data(30, 6, 1, seed=3)
    y = Y[:, 0]
    for method in ("gram", "kernel"):
        s = W.RidgeSolver([0.5], method=method).fit(X, y)
        w, b = s.coef()
        ref = Ridge(alpha=0.5).fit(X, y)
        np.testing.assert_allclose(w, ref.coef_, rtol=1e-6, atol=1e-9)
        assert s.predict(X).shape == (30,)


def test_solver_float32_close_to_float64():
    X, Y = _data(400, 30, 4, seed=4)
    s64 = W.RidgeSolver([1.0]).fit(X, Y)
    s32 = W.RidgeSolver([1.0], block_rows=64).fit(X.astype(np.float32), Y.astype(np.float32))
    assert s32.dtype_ == np.float32
    np.testing.assert_allclose(s32.predict(X), s64.predict(X), rtol=1e-3, atol=1e-3)


def _brute_force_loo(X, Y, lambdas):
    n = X.shape[0]
    out = np.zeros((len(lambdas), Y.shape[1]))
    for a, lam in enumerate(lambdas):
        for i in range(n):
            keep = np.arange(n) != i
            m = Ridge(alpha=lam).fit(X[keep], Y[keep])
            out[a] += (Y[i] - m.predict(X[i:i + 1])[0]) ** 2
    return out / n


@pytest.mark.parametrize("shape", [(25, 4, 3), (12, 20, 2)], ids=["gram", "kernel"])
def test_loo_matches_brute_force(shape):
    n, p, t = shape
    X, Y = _data(n, p, t, seed=5, noise=1.0)
    lambdas = np.array([1e-2, 0.3, 3.0, 30.0, 300.0])
    solver = W.RidgeSolver(lambdas).fit(X, Y)
    brute = _brute_force_loo(X, Y, lambdas)
    np.testing.assert_allclose(solver.loo_errors(), brute, rtol=1e-7)
    lam = solver.select("loo")
    w = 1.0 / Y.var(axis=0)
    assert lam == lambdas[np.argmin(brute @ w)]
    np.testing.assert_array_equal(solver.lambda_per_target_, lambdas[np.argmin(brute, axis=0)])
    assert W.RidgeSolver(lambdas).fit(X, Y).select("loo", target_weights="none") == lambdas[np.argmin(brute.sum(1))]
    # exact LOO residuals on a subset of fit points = the brute-force terms of those points
    rows = np.array([0, 3, 7])
    sub = solver.loo_errors(rows)
    ref = np.zeros_like(sub)
    for a, l in enumerate(lambdas):
        for i in rows:
            keep = np.arange(n) != i
            ref[a] += (Y[i] - Ridge(alpha=l).fit(X[keep], Y[keep]).predict(X[i:i + 1])[0]) ** 2
    np.testing.assert_allclose(sub, ref / len(rows), rtol=1e-7)


def test_validation_selection_picks_minimiser():
    X, Y = _data(40, 10, 3, seed=6, noise=2.0)
    Xv, Yv = _data(30, 10, 3, seed=7, noise=2.0)
    lambdas = np.logspace(-3, 4, 8)
    solver = W.RidgeSolver(lambdas).fit(X, Y)
    lam = solver.select("validation", Xv, Yv)
    errs = np.array([[np.mean((Yv[:, j] - Ridge(alpha=l).fit(X, Y[:, j]).predict(Xv)) ** 2)
                      for j in range(3)] for l in lambdas])
    np.testing.assert_allclose(solver.cv_per_target_, errs, rtol=1e-7)
    assert lam == lambdas[np.argmin(errs @ (1.0 / Y.var(axis=0)))]
    assert solver.lambda_ == lam


def test_gcv_matches_definition():
    X, Y = _data(50, 6, 2, seed=8, noise=1.0)
    lambdas = np.array([0.1, 1.0, 10.0])
    for method in ("gram", "kernel"):
        s = W.RidgeSolver(lambdas, method=method).fit(X, Y)
        g = s.gcv_errors()
        Xc = X - X.mean(0)
        for a, l in enumerate(lambdas):
            H = np.full((50, 50), 1 / 50) + Xc @ np.linalg.solve(Xc.T @ Xc + l * np.eye(6), Xc.T)
            r = Y - H @ Y
            ref = (r ** 2).mean(0) / (1 - np.trace(H) / 50) ** 2
            np.testing.assert_allclose(g[a], ref, rtol=1e-8)


# ----------------------------------------------------------------------------- FSE / FSG / residuals

def test_fse_zero_for_exact_linear_targets():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((500, 20))
    Y = X @ rng.standard_normal((20, 6)) + 3.0
    res = W.feature_span_error(X[:400], Y[:400], X[400:], Y[400:])
    assert res["fse"] < 1e-6
    assert res["select"] == "loo" and res["lambda"] == res["lambdas"].min()
    assert res["per_target"].shape == (6,) and res["n_skipped"] == 0


def test_fse_one_for_independent_noise():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((4000, 10))
    Y = rng.standard_normal((4000, 5))
    res = W.feature_span_error(X[:3000], Y[:3000], X[3000:], Y[3000:])
    assert abs(res["fse"] - 1.0) < 0.02


def test_fse_skips_zero_variance_targets_and_eval_sets():
    X, Y = _data(200, 5, 3, seed=11)
    Y = np.column_stack([Y, np.full(200, 2.5), np.zeros(200)])
    res = W.feature_span_error(X[:150], Y[:150], X[150:], Y[150:], lambdas=[0.1, 1.0],
                               eval_sets={"again": (X[150:], Y[150:])})
    assert res["n_skipped"] == 2 and res["skipped"].tolist() == [3, 4]
    assert np.isnan(res["per_target"][3:]).all() and np.isfinite(res["per_target"][:3]).all()
    assert res["fse"] == pytest.approx(np.mean(res["per_target"][:3]))
    assert res["eval_sets"]["again"]["fse"] == pytest.approx(res["fse"])


def test_fse_per_target_definition_and_validation_select():
    X, Y = _data(300, 8, 4, seed=12, noise=1.0)
    Xf, Yf, Xv, Yv, Xe, Ye = X[:150], Y[:150], X[150:220], Y[150:220], X[220:], Y[220:]
    res = W.feature_span_error(Xf, Yf, Xe, Ye, lambdas=[0.01, 1.0, 100.0], select="validation",
                               X_val=Xv, Y_val=Yv)
    lam = res["lambda"]
    for j in range(4):
        pred = Ridge(alpha=lam).fit(Xf, Yf[:, j]).predict(Xe)
        eps = np.sum((Ye[:, j] - pred) ** 2) / np.sum((Ye[:, j] - Ye[:, j].mean()) ** 2)
        assert res["per_target"][j] == pytest.approx(eps, rel=1e-8)
    with pytest.raises(ValueError):
        W.feature_span_error(Xf, Yf, Xe, Ye, select="validation")
    per = W.feature_span_error(Xf, Yf, Xe, Ye, lambdas=[0.01, 1.0, 100.0], per_target_lambda=True)
    assert np.shape(per["lambda"]) == (4,)


def test_feature_span_gap_and_concat():
    rng = np.random.default_rng(13)
    Z = rng.standard_normal((600, 6))
    base = Z @ rng.standard_normal((6, 12))              # "M_1"
    base2 = Z @ rng.standard_normal((6, 12))             # "M_1'": same span
    lows = [Z[:, :2] @ rng.standard_normal((2, 3)) for _ in range(4)]  # members see part of Z
    cat = W.concat_features(lows)
    assert cat.shape == (600, 12)
    with pytest.raises(ValueError):
        W.concat_features([cat, cat[:5]])
    g = W.feature_span_gap(cat[:400], base[:400], cat[400:], base[400:], base2[:400], base2[400:])
    assert g["fse_ref"] < 1e-6 < g["fse"]
    assert g["fsg"] == pytest.approx(g["fse"] - g["fse_ref"])
    # reverse direction: M_1 spans the low-width members' features
    r = W.feature_span_gap(base[:400], cat[:400], base[400:], cat[400:], cat[:400], cat[400:])
    assert abs(r["fsg"]) < 1e-6


def test_residuals_are_target_minus_prediction():
    X, Y = _data(120, 5, 3, seed=14, noise=1.0)
    res = W.residuals(X[:80], Y[:80], X[80:], Y[80:], lambdas=[2.0])
    m = Ridge(alpha=2.0).fit(X[:80], Y[:80])
    np.testing.assert_allclose(res["fit"], Y[:80] - m.predict(X[:80]), atol=1e-8)
    np.testing.assert_allclose(res["eval"], Y[80:] - m.predict(X[80:]), atol=1e-8)
    # ridge normal equations: Xcᵀ R = λ W (the residuals hold no more than the penalty lets through)
    Xc = X[:80] - X[:80].mean(0)
    np.testing.assert_allclose(Xc.T @ res["fit"], 2.0 * m.coef_.T, atol=1e-7)


# ----------------------------------------------------------------------------- FP, shuffled

def test_linear_probe_separable_data():
    rng = np.random.default_rng(15)
    centres = np.array([[6.0, 0, 0], [0, 6.0, 0], [0, 0, 6.0]])
    y = rng.integers(0, 3, 300)
    F = centres[y] + 0.3 * rng.standard_normal((300, 3))
    assert W.linear_probe(F[:200], y[:200], F[200:], y[200:]) == 1.0
    fp = W.feature_performance(F[:200], y[:200], F[200:], y[200:],
                               rng.standard_normal((200, 2)), rng.standard_normal((100, 2)))
    assert fp["features"] == 1.0 and fp["appended"] >= 0.9 and fp["residuals"] < 0.7


def test_shuffled_regression():
    X, Y = _data(500, 6, 3, seed=16, noise=0.5)
    res = W.shuffled_regression(X[:400], Y[:400], X[400:], Y[400:], fit_fraction=0.5,
                                A_val=X[:50], B_val=Y[:50], lambdas=[0.1, 1.0])
    assert res["n_fit_train"] == 200 and res["n_fit_test"] == 50
    assert 0 < res["fse_heldout_train"] < 0.2 and 0 < res["fse_heldout_test"] < 0.2
    assert np.isfinite(res["fse_val"])
    fit_rows = np.concatenate([X[:400][res["fit_index_train"]], X[400:][res["fit_index_test"]]])
    assert res["detail"]["n_fit"] == len(fit_rows) == 250
    with pytest.raises(ValueError):
        W.shuffled_regression(X[:400], Y[:400], X[400:], Y[400:], fit_fraction=1.0)
