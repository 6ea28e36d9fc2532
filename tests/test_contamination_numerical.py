"""Known answers for the numerical setting of Zhang et al., "Feature Contamination: Neural
Networks Learn Uncorrelated Features and Fail to Generalize" (ICML 2024), Secs. 3-4 and
App. F.1 (featurelab.contamination.numerical)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from featurelab.contamination import NumericalSetting, Run, contamination_curves, dictionary, run_batch, sample_world
from featurelab.contamination import numerical as N
from featurelab.contamination.numerical import momentum_decay_factor

#: Small enough for a few dozen full-batch steps in well under a second per run.
SMALL = NumericalSetting(width=32, n_train=200, n_test=300, iterations=40, record_every=10)


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# --------------------------------------------------------------------------------------------
# the world (Def. 3.1)


def test_dictionary_is_orthonormal():
    for seed in (0, 3):
        M = dictionary(256, 64, seed)
        assert M.shape == (256, 64)
        np.testing.assert_allclose(M.T @ M, np.eye(64), atol=1e-12)
        M32 = M.astype(np.float32)
        np.testing.assert_allclose(M32.T @ M32, np.eye(64, dtype=np.float32), atol=1e-5)
    assert not np.allclose(dictionary(256, 64, 0), dictionary(256, 64, 1))
    np.testing.assert_array_equal(sample_world(SMALL, 0).M, dictionary(256, 64, 0))


def test_background_is_uncorrelated_with_the_label_and_training_labels_balanced():
    setting = NumericalSetting()
    world = sample_world(setting, seed=0)
    c = setting.core
    y = world.train.y
    assert len(y) == 1000 and (y == 1).sum() == 500 and (y == -1).sum() == 500
    assert not np.array_equal(y[:500], np.ones(500))  # shuffled
    for split, lo, hi in ((world.train, 0, 1), (world.id_test, 0, 1), (world.ood_test, -1, 0)):
        z, y = split.z.astype(np.float64), split.y.astype(np.float64)
        assert set(np.unique(y)) == {-1.0, 1.0}
        bg = z[:, c:]
        assert bg.min() >= lo and bg.max() <= hi
        corr = np.array([np.corrcoef(bg[:, j], y)[0, 1] for j in range(bg.shape[1])])
        assert np.abs(corr).max() < 4 / math.sqrt(len(y))  # the null's sd is 1/√N
        # the core coordinates are y·U[0, 1]: correlation √3/2 ≈ 0.87 with the label
        assert np.all(np.sign(z[:, :c]) * y[:, None] >= 0)
        core_corr = np.array([np.corrcoef(z[:, j], y)[0, 1] for j in range(c)])
        assert core_corr.min() > 0.8
    # the OOD core part has the ID distribution; only the background moved
    assert abs(world.ood_test.z[:, c:].mean() + 0.5) < 0.01 and abs(world.id_test.z[:, c:].mean() - 0.5) < 0.01


def test_spheres_world_radii():
    setting = replace(SMALL, n_train=400)
    world = sample_world(setting, seed=2, task="spheres")
    r = np.linalg.norm(world.train.z[:, :setting.core], axis=1)
    np.testing.assert_allclose(r[world.train.y > 0], 1.0, rtol=1e-5)
    np.testing.assert_allclose(r[world.train.y < 0], 2.0, rtol=1e-5)
    assert (world.train.y > 0).sum() == 200
    assert world.ood_test.z[:, setting.core:].max() <= 0


def test_setting_from_dict():
    s = NumericalSetting.from_dict({"iterations": 300, "radii": [1, 3], "unknown": 1})
    assert s.iterations == 300 and s.radii == (1.0, 3.0) and s.d == 256
    assert NumericalSetting.from_dict(None) == NumericalSetting()


# --------------------------------------------------------------------------------------------
# exactness of the reduced coordinates


def authors_style(setting: NumericalSetting, run: Run, iterations: int):
    """A plain nn.Linear(d, m) on the points x ∈ R^256, autograd, torch.optim.SGD, full batch
    (the authors' script), from the module's initial network. Returns the training losses
    after 0..iterations steps and the final first-layer weight."""
    world = sample_world(setting, run.seed, run.task)
    init = N.initial_network(setting, run)
    lin = torch.nn.Linear(setting.d, setting.width, bias=run.variant == "code")
    with torch.no_grad():
        lin.weight.copy_(init["W"])
        if lin.bias is not None:
            lin.bias.copy_(init["b"])
    act = {"relu": torch.relu, "identity": lambda t: t, "tanh": torch.tanh}[run.activation]
    x = torch.from_numpy(world.inputs(world.train))
    y = torch.from_numpy(world.train.y)
    target = torch.from_numpy(world.train.z[:, :setting.core])
    opt = torch.optim.SGD(lin.parameters(), lr=setting.lr, momentum=setting.momentum,
                          weight_decay=setting.weight_decay)
    losses = []
    for t in range(iterations + 1):
        if run.task == "regression":
            loss = torch.nn.functional.mse_loss(act(lin(x)) @ init["A"], target)
        else:
            loss = torch.clamp(1 - y * (act(lin(x)) @ init["a"]), min=0).mean()
        losses.append(loss.item())
        if t == iterations:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return np.array(losses), lin.weight.detach().double().numpy(), world.M


def test_reduced_coordinates_equal_the_full_space_model():
    # a larger learning rate than the paper's so that 40 steps move the network visibly
    setting = replace(SMALL, lr=0.05, weight_decay=0.01)
    runs = [Run("classification", "relu", "code", 0), Run("classification", "identity", "theory", 1),
            Run("regression", "relu", "code", 0), Run("regression", "tanh", "theory", 0)]
    results = run_batch(setting, runs)
    c = setting.core
    for run, res in zip(runs, results):
        losses, W, M = authors_style(setting, run, setting.iterations)
        assert losses[0] - losses[-1] > 1e-3, run  # the comparison is not trivial
        np.testing.assert_allclose(res["train_loss"], losses[res["iteration"]], atol=2e-5, rtol=1e-5)
        V = W @ M
        np.testing.assert_allclose(res["neuron_core_norm_end"], np.linalg.norm(V[:, :c], axis=1), atol=1e-5)
        np.testing.assert_allclose(res["neuron_bg_norm_end"], np.linalg.norm(V[:, c:], axis=1), atol=1e-5)
        np.testing.assert_allclose(res["bg_norm"][-1], np.linalg.norm(V[:, c:], axis=1).mean(), atol=1e-5)
        # the closed-form decay of the complement matches the full model's complement
        perp = np.linalg.norm(W - V @ M.T, axis=1).mean()
        np.testing.assert_allclose(res["perp_norm"][-1], perp, rtol=1e-5)


def test_batched_engine_equals_reference_run_for_every_task():
    # AdamW's trajectories are sensitive at the float-rounding level (a 1e-7 relative change of
    # the initial weights moves the losses by ~1e-3 within tens of steps at lr 1e-2): compare a
    # short horizon at the default AdamW learning rate
    setting = replace(SMALL, iterations=30, lr=0.05)
    runs = [Run("classification", "gelu", "code", 0), Run("classification", "sigmoid", "theory", 0),
            Run("regression", "identity", "code", 1), Run("spheres", "relu", "code", 0),
            Run("spheres", "tanh", "code", 1), Run("spheres", "identity", "code", 0)]
    for run, res in zip(runs, run_batch(setting, runs)):
        ref = N.reference_run(setting, run)
        np.testing.assert_array_equal(res["iteration"], ref["iteration"])
        for key in N.CURVES:
            # counts (0-1 error, activation rates) may differ by a point on the boundary
            atol = {"id_error": 1.01 / setting.n_test, "ood_error": 1.01 / setting.n_test,
                    "asymmetry": 1e-3}.get(key, 2e-5)
            np.testing.assert_allclose(res[key], ref[key], atol=atol, rtol=1e-4, err_msg=f"{run.label} {key}")
        if run.task == "spheres":
            assert res["bg_norm"][-1] != pytest.approx(res["bg_norm"][0], abs=1e-3)  # AdamW moved it


@pytest.mark.parametrize("regression", [False, True])
def test_hand_written_gradients_equal_autograd(regression):
    """Every activation in one batch, in an order that splits the linear networks into two
    blocks; hinge loss with a trained second layer, or the MSE against a target."""
    names = ["relu", "identity", "identity", "gelu", "sigmoid", "identity", "tanh"]
    R, n, m, k, c = len(names), 50, 16, 12, 3
    g = torch.Generator().manual_seed(0)
    z = torch.rand(R, n, k, generator=g) * 2 - 1
    y = torch.where(torch.rand(R, n, generator=g) < 0.5, -1.0, 1.0)
    coords = torch.randn(R, m, k, generator=g)
    bias = torch.randn(R, m, generator=g) * 0.3
    head = torch.randn(R, m, c, generator=g) if regression else torch.randn(R, m, generator=g) / m
    out_bias = None if regression else torch.randn(R, generator=g)
    target = torch.randn(R, n, c, generator=g) if regression else None
    got = N.gradients(names, z, y, coords, bias, head, out_bias, target, train_head=True)
    leaves = [t.clone().requires_grad_(True) for t in (coords, bias, head)]
    ob = None if out_bias is None else out_bias.clone().requires_grad_(True)
    acts = {"relu": torch.relu, "identity": lambda t: t, "gelu": torch.nn.functional.gelu, "sigmoid": torch.sigmoid,
            "tanh": torch.tanh}
    total = 0
    for r, name in enumerate(names):
        hid = acts[name](z[r] @ leaves[0][r].T + leaves[1][r])
        if regression:
            loss = torch.nn.functional.mse_loss(hid @ leaves[2][r], target[r])
        else:
            loss = torch.clamp(1 - y[r] * (hid @ leaves[2][r] + ob[r]), min=0).mean()
        torch.testing.assert_close(got["loss"][r], loss.detach(), rtol=1e-5, atol=1e-6)
        total = total + loss
    total.backward()
    for key, leaf in zip(("coords", "bias", "head"), leaves):
        torch.testing.assert_close(got[key], leaf.grad, rtol=1e-4, atol=1e-6, msg=key)
    if ob is not None:
        torch.testing.assert_close(got["out_bias"], ob.grad, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------------
# the decay of the orthogonal complement


def brute_force_decay(lr, momentum, weight_decay, T):
    """PyTorch's SGD step on a direction with zero data gradient, T times (float64)."""
    w, buf = 1.0, None
    for _ in range(T):
        g = weight_decay * w
        buf = g if buf is None else momentum * buf + g
        w -= lr * buf
    return w


@pytest.mark.parametrize("lr, momentum, weight_decay", [
    (1e-3, 0.9, 1e-3),     # the paper's: real eigenvalues
    (0.5, 0.9, 1.0),       # complex eigenvalues: damped oscillation
    (0.1, 0.0, 0.3),       # no momentum
    (0.1, 0.25, 2.5),      # (1 − ηλ + μ)² = 4μ: a double eigenvalue
    (0.9, 0.5, 2.0),       # 1 − ηλ < 0, complex eigenvalues
    (0.95, 0.1, 2.0),      # two negative real eigenvalues
])
def test_momentum_decay_factor_matches_the_recurrence(lr, momentum, weight_decay):
    for T in (0, 1, 2, 3, 10, 257, 2000):
        want = brute_force_decay(lr, momentum, weight_decay, T)
        got = momentum_decay_factor(lr, momentum, weight_decay, T)
        assert isinstance(got, float)
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300), (T, got, want)
    many = momentum_decay_factor(lr, momentum, weight_decay, np.array([0, 5, 50]))
    np.testing.assert_allclose(many, [brute_force_decay(lr, momentum, weight_decay, T) for T in (0, 5, 50)],
                               rtol=1e-9)


def test_momentum_decay_factor_paper_values():
    f = momentum_decay_factor(1e-3, 0.9, 1e-3, 20000)
    assert f == pytest.approx(brute_force_decay(1e-3, 0.9, 1e-3, 20000), rel=1e-9)
    assert f == pytest.approx(math.exp(-1e-6 * 20000 / 0.1), rel=1e-3)  # ≈ exp(−ηλT/(1−μ)) = 0.819
    with pytest.raises(ValueError, match="-1"):
        momentum_decay_factor(1e-3, 0.9, 1e-3, -1)


def test_orthogonal_complement_decays_by_the_closed_form_factor():
    """A full-space ReLU network trained with torch.optim.SGD on data in span(M): its weights'
    component orthogonal to the dictionary gets no data gradient and is scaled exactly by
    momentum_decay_factor, while the dictionary coordinates move."""
    setting = replace(SMALL, n_train=100)
    world = sample_world(setting, seed=0)
    M = torch.from_numpy(world.M)
    P = torch.eye(setting.d, dtype=torch.float64) - M @ M.T
    x = torch.from_numpy(world.inputs(world.train))
    y = torch.from_numpy(world.train.y)
    lin = torch.nn.Linear(setting.d, setting.width)
    init = N.initial_network(setting, Run("classification"))
    with torch.no_grad():
        lin.weight.copy_(init["W"])
        lin.bias.copy_(init["b"])
    lr, mu, wd, T = 0.2, 0.9, 0.05, 60
    opt = torch.optim.SGD(lin.parameters(), lr=lr, momentum=mu, weight_decay=wd)
    perp0 = lin.weight.detach().double() @ P
    V0 = lin.weight.detach().double() @ M
    for _ in range(T):
        loss = torch.clamp(1 - y * (torch.relu(lin(x)) @ init["a"]), min=0).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    W = lin.weight.detach().double()
    f = momentum_decay_factor(lr, mu, wd, T)
    assert f < 0.9
    np.testing.assert_allclose((W @ P).numpy(), (f * perp0).numpy(), atol=2e-6)
    assert not np.allclose((W @ M).numpy(), (f * V0).numpy(), atol=1e-3)  # the data gradient acts here


# --------------------------------------------------------------------------------------------
# the sign of the Eq. 7 gradient


def eq7_batch(core: int = 32, background: int = 32, scale: float = 0.01):
    """Each background direction once with y = +1 and once with y = −1; core coordinates
    y·scale, so that ⟨w, x⟩ = y·core·scale for w = Σ_core m_j (|h| < 1: the hinge is active
    for both labels)."""
    zs, ys = [], []
    for j in range(background):
        for y in (1.0, -1.0):
            z = np.zeros(core + background, dtype=np.float32)
            z[:core] = y * scale
            z[core + j] = 1.0
            zs.append(z)
            ys.append(y)
    return torch.from_numpy(np.stack(zs))[None], torch.tensor(ys)[None]


def test_eq7_background_gradient_positive_for_relu_zero_for_identity():
    core, bg = 32, 32
    z, y = eq7_batch(core, bg)
    coords = torch.cat([torch.ones(1, 1, core), torch.zeros(1, 1, bg)], dim=2)  # w = Σ_core m_j
    bias, a = torch.zeros(1, 1), torch.ones(1, 1)  # a_k > 0
    n = z.shape[1]
    relu = N.gradients("relu", z, y, coords, bias, a)
    neg_bg = -relu["coords"][0, 0, core:]
    # only the y = +1 points activate the neuron: −∂L/∂⟨w, m_j⟩ = (1/N)·1 for every background j
    torch.testing.assert_close(neg_bg, torch.full((bg,), 1.0 / n))
    assert torch.all(-relu["coords"][0, 0, :core] > 0)
    lin = N.gradients("identity", z, y, coords, bias, a)
    assert torch.all(lin["coords"][0, 0, core:].abs() <= 1e-7)  # the ±1 labels cancel exactly
    assert torch.all(-lin["coords"][0, 0, :core] > 0)  # the core gradient does not cancel
    # with a bias that keeps the neuron active on its class only, ReLU's background gradient stays positive
    shifted = N.gradients("relu", z, y, coords, torch.full((1, 1), 0.1), a)
    assert torch.all(-shifted["coords"][0, 0, core:] > 0)
    # the same projections from autograd on the full-space network x = M z
    M = torch.from_numpy(dictionary(256, core + bg, 0)).float()
    w = (M[:, :core].sum(1)).clone().requires_grad_(True)
    x = z[0] @ M.T
    loss = torch.clamp(1 - y[0] * torch.relu(x @ w), min=0).mean()
    (grad,) = torch.autograd.grad(loss, w)
    torch.testing.assert_close(-(grad @ M[:, core:]), torch.full((bg,), 1.0 / n), atol=1e-6, rtol=1e-5)


# --------------------------------------------------------------------------------------------
# batching and determinism


def test_batched_equals_one_at_a_time_and_is_deterministic():
    setting = replace(SMALL, iterations=20)
    runs = [Run("classification", "relu", "code", 0), Run("classification", "identity", "theory", 1),
            Run("classification", "relu", "code", 1), Run("regression", "gelu", "code", 0),
            Run("spheres", "sigmoid", "code", 0), Run("spheres", "relu", "code", 1)]
    batch = run_batch(setting, runs)
    again = run_batch(setting, runs)
    for run, res, res2 in zip(runs, batch, again):
        alone = run_batch(setting, [run])[0]
        for key, val in res.items():
            if key == "seconds":
                continue
            np.testing.assert_array_equal(val, res2[key], err_msg=f"{run.label} {key} run to run")
            if key != "batch_runs":
                np.testing.assert_allclose(val, alone[key], rtol=1e-5, atol=1e-6, err_msg=f"{run.label} {key}")


def test_result_layout():
    setting = replace(SMALL, iterations=25, record_every=10)
    res = contamination_curves("identity", iterations=25, seed=3, setting=setting)
    np.testing.assert_array_equal(res["iteration"], [0, 10, 20, 25])
    for key in N.CURVES:
        assert res[key].shape == (4,), key
    np.testing.assert_array_equal(res["neuron_iteration"], [0, 6, 12, 25])
    assert res["neuron_p_pos"].shape == res["neuron_p_neg"].shape == (4, setting.width)
    assert res["neuron_bg_norm_init"].shape == res["neuron_bg_norm_end"].shape == (setting.width,)
    assert res["bg_norm"][0] == pytest.approx(res["neuron_bg_norm_init"].mean())
    assert 0 <= res["asymmetry"].min() and res["asymmetry"].max() <= 1
    assert res["seconds"] > 0 and res["batch_runs"] == 1
    reg = contamination_curves("relu", iterations=5, task="regression", setting=setting)
    assert np.isnan(reg["id_error"]).all() and np.isfinite(reg["id_loss"]).all()


def test_log_reports_progress():
    lines = []
    run_batch(replace(SMALL, iterations=20, record_every=2), [Run("classification")], log=lines.append)
    assert 5 <= len(lines) <= 12 and "iteration 20/20" in lines[-1] and "it/s" in lines[-1]


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("kwargs, name", [
    ({"task": "classify"}, "classify"),
    ({"task": "classification", "activation": "softplus"}, "softplus"),
    ({"task": "regression", "variant": "paper"}, "paper"),
    ({"task": "spheres", "variant": "theory"}, "theory"),
    ({"task": "classification", "seed": -1}, "-1"),
])
def test_bad_run_raises(kwargs, name):
    with pytest.raises(ValueError, match=name):
        Run(**kwargs)


def test_bad_input_elsewhere_raises():
    with pytest.raises(ValueError, match="swish"):
        contamination_curves("swish", iterations=1)
    with pytest.raises(ValueError, match="ranking"):
        sample_world(SMALL, 0, task="ranking")
    with pytest.raises(ValueError, match="elu"):
        N.gradients("elu", torch.zeros(1, 2, 64), torch.ones(1, 2), torch.zeros(1, 1, 64), torch.zeros(1, 1),
                    torch.ones(1, 1))
    with pytest.raises(ValueError, match="R\\^16"):
        NumericalSetting(d=16)
