"""Known answers for the numerical setting of Zhang et al., "Feature Contamination: Neural
Networks Learn Uncorrelated Features and Fail to Generalize" (ICML 2024), Secs. 3-4 and
App. F.1 (featurelab.contamination.numerical)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from featurelab.contamination import NumericalSetting, Run, contamination_curves, dictionary, run_batch, sample_world
from featurelab.contamination import numerical as N
from featurelab.contamination.numerical import momentum_decay_factor

#: Small enough for a few dozen full-batch steps in well under a second per run.
SMALL = NumericalSetting(width=32, n_train=200, batch_size=150, n_test=300, iterations=40, record_every=10)


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
    """The authors' script's model on the points x ∈ R^256: nn.Linear(d, m) → σ → nn.Linear(m, ·),
    autograd, torch.optim.SGD, from the module's initial network -- the code variant's
    frozen head with its frozen random bias on the full batch; the theory variant without
    biases, momentum 0, on the documented fresh batches; the regression's trained head and
    squared Euclidean loss. Returns the training losses after 0..iterations steps and the
    final first-layer weight."""
    world = sample_world(setting, run.seed, run.task)
    init = N.initial_network(setting, run)
    theory, regression = run.variant == "theory", run.task == "regression"
    lin = torch.nn.Linear(setting.d, setting.width, bias=not theory)
    out = torch.nn.Linear(setting.width, setting.core if regression else 1, bias=not (theory and not regression))
    with torch.no_grad():
        lin.weight.copy_(init["W"])
        if lin.bias is not None:
            lin.bias.copy_(init["b"])
        out.weight.copy_(init["A"].T if regression else init["a"][None])
        if out.bias is not None:
            out.bias.copy_(init["c"].reshape(-1))
    out.requires_grad_(regression)
    act = {"relu": torch.relu, "identity": lambda t: t, "tanh": torch.tanh}[run.activation]
    M = torch.from_numpy(world.M)
    gen = N.theory_batches(run.seed)

    def batch():
        if theory:
            u = torch.rand(setting.batch_size, 1 + setting.features, generator=gen)
            y = torch.where(u[:, 0] < 0.5, 1.0, -1.0)
            z = torch.cat([y[:, None] * u[:, 1:1 + setting.core], u[:, 1 + setting.core:]], 1)
        else:
            z, y = torch.from_numpy(world.train.z), torch.from_numpy(world.train.y)
        return (z.double() @ M.T).float(), y, z[:, :setting.core]

    params = [p for p in [*lin.parameters(), *out.parameters()] if p.requires_grad]
    opt = torch.optim.SGD(params, lr=setting.lr, momentum=0.0 if theory else setting.momentum,
                          weight_decay=setting.weight_decay)
    losses = []
    for t in range(iterations + 1):
        x, y, target = batch()
        h = out(act(lin(x)))
        if regression:
            loss = ((h - target) ** 2).sum(1).mean()
        else:
            loss = torch.clamp(1 - y * h[:, 0], min=0).mean()
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
            Run("classification", "relu", "theory", 0),
            Run("regression", "relu", "code", 0), Run("regression", "tanh", "theory", 0)]
    results = run_batch(setting, runs)
    c = setting.core
    for run, res in zip(runs, results):
        losses, W, M = authors_style(setting, run, setting.iterations)
        assert abs(losses[0] - losses[-1]) > 1e-3, run  # the comparison is not trivial
        np.testing.assert_allclose(res["train_loss"], losses[res["iteration"]], atol=2e-5, rtol=1e-5)
        V = W @ M
        np.testing.assert_allclose(res["neuron_core_norm_end"], np.linalg.norm(V[:, :c], axis=1), atol=1e-5)
        np.testing.assert_allclose(res["neuron_bg_norm_end"], np.linalg.norm(V[:, c:], axis=1), atol=1e-5)
        np.testing.assert_allclose(res["bg_norm"][-1], np.linalg.norm(V[:, c:], axis=1).mean(), atol=1e-5)
        np.testing.assert_allclose(res["coords_end"], V, atol=2e-5)
        # the closed-form decay of the complement matches the full model's complement
        perp = np.linalg.norm(W - V @ M.T, axis=1).mean()
        np.testing.assert_allclose(res["perp_norm"][-1], perp, rtol=1e-5)


def test_batched_engine_equals_reference_run_for_every_task():
    # AdamW's trajectories are sensitive at the float-rounding level (a 1e-7 relative change of
    # the initial weights moves the losses by ~1e-3 within tens of steps at lr 1e-2): compare a
    # short horizon at the default AdamW learning rate
    # (lr 0.02: the regression's summed squared error diverges at 0.05)
    setting = replace(SMALL, iterations=30, lr=0.02)
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


@pytest.mark.parametrize("loss", ["hinge", "logistic", "squared"])
def test_hand_written_gradients_equal_autograd(loss):
    """Every activation in one batch, in an order that splits the linear networks into two
    blocks; hinge or logistic loss with a trained scalar second layer and output bias, or
    the squared Euclidean distance to a target with a trained matrix head and bias."""
    regression = loss == "squared"
    names = ["relu", "identity", "identity", "gelu", "sigmoid", "identity", "tanh"]
    R, n, m, k, c = len(names), 50, 16, 12, 3
    g = torch.Generator().manual_seed(0)
    z = torch.rand(R, n, k, generator=g) * 2 - 1
    y = torch.where(torch.rand(R, n, generator=g) < 0.5, -1.0, 1.0)
    coords = torch.randn(R, m, k, generator=g)
    bias = torch.randn(R, m, generator=g) * 0.3
    head = torch.randn(R, m, c, generator=g) if regression else torch.randn(R, m, generator=g) / m
    out_bias = torch.randn(R, c, generator=g) if regression else torch.randn(R, generator=g)
    target = torch.randn(R, n, c, generator=g) if regression else None
    got = N.gradients(names, z, y, coords, bias, head, out_bias, target, train_head=True, loss=loss)
    leaves = [t.clone().requires_grad_(True) for t in (coords, bias, head, out_bias)]
    acts = {"relu": torch.relu, "identity": lambda t: t, "gelu": torch.nn.functional.gelu, "sigmoid": torch.sigmoid,
            "tanh": torch.tanh}
    total = 0
    for r, name in enumerate(names):
        hid = acts[name](z[r] @ leaves[0][r].T + leaves[1][r])
        h = hid @ leaves[2][r] + leaves[3][r]
        if loss == "squared":
            value = ((h - target[r]) ** 2).sum(1).mean()
        elif loss == "logistic":  # the released script's LogisticLoss
            value = torch.mean(torch.log(1 + torch.exp(-y[r] * h)))
        else:
            value = torch.clamp(1 - y[r] * h, min=0).mean()
        torch.testing.assert_close(got["loss"][r], value.detach(), rtol=1e-5, atol=1e-6)
        total = total + value
    total.backward()
    for key, leaf in zip(("coords", "bias", "head", "out_bias"), leaves):
        torch.testing.assert_close(got[key], leaf.grad, rtol=1e-4, atol=1e-6, msg=key)


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
            if key == "seconds" or val is None:
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


# --------------------------------------------------------------------------------------------
# the released script's spheres run, the code variant's output bias, the theory variant's
# fresh batches, the regression, the signed projections


def test_spheres_follow_the_released_script():
    """toy.py's defaults: an MLP of two nn.Linear layers with biases, LogisticLoss =
    mean log(1 + exp(−y·f)), optim.AdamW(lr=1e-3, weight_decay=1e-3), full batch. The same
    initial network, trained a few steps here in R^d by autograd, and by the batched engine."""
    setting = replace(SMALL, iterations=6, record_every=1)
    assert (NumericalSetting().adam_lr, NumericalSetting().adam_weight_decay) == (1e-3, 1e-3)
    run = Run("spheres", "relu", "code", 0)
    res = run_batch(setting, [run])[0]
    world, init = sample_world(setting, 0, "spheres"), N.initial_network(setting, run)

    class LogisticLoss(torch.nn.Module):  # toy.py, verbatim
        def forward(self, y_pred, y):
            return torch.mean(torch.log(1 + torch.exp(-y * y_pred)))

    fcs = torch.nn.ModuleList([torch.nn.Linear(setting.d, setting.width), torch.nn.Linear(setting.width, 1)])
    with torch.no_grad():
        fcs[0].weight.copy_(init["W"])
        fcs[0].bias.copy_(init["b"])
        fcs[1].weight.copy_(init["a"][None])
        fcs[1].bias.copy_(init["c"].reshape(1))
    opt = torch.optim.AdamW(fcs.parameters(), lr=1e-3, weight_decay=1e-3)
    x, y = torch.from_numpy(world.inputs(world.train)), torch.from_numpy(world.train.y)
    loss_func, losses = LogisticLoss(), []
    for t in range(setting.iterations + 1):
        loss = loss_func(fcs[1](torch.relu(fcs[0](x))).squeeze(), y)
        losses.append(loss.item())
        if t == setting.iterations:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(res["train_loss"], losses, rtol=1e-5, atol=1e-6)
    V = fcs[0].weight.detach().double().numpy() @ world.M
    assert losses[0] - losses[-1] > 1e-4
    # six AdamW steps moved every weight by about 6 lr; the two implementations agree far closer
    W6 = res["coords_end"]
    assert np.abs(W6 - V).max() < 1e-5 and np.abs(W6 - init["W"].double().numpy() @ world.M).max() > 3e-3
    np.testing.assert_allclose(res["out_bias_end"], fcs[1].bias.item(), atol=1e-6)
    assert float(res["out_bias_end"]) != pytest.approx(float(init["c"]), abs=1e-4)  # the output bias trains
    np.testing.assert_allclose(res["id_zero_risk"], math.log(2))


def test_spheres_step_by_step_equals_adamw_formula():
    """One AdamW step by hand (Loshchilov & Hutter's decoupled decay as PyTorch applies it):
    θ ← θ(1 − ηλ) − η m̂/(√v̂ + ε), with m̂ = g, v̂ = g² after one step, so every trained
    parameter moves by −η sign(g) (up to ε) besides the decay."""
    setting = replace(SMALL, iterations=1, record_every=1)
    run = Run("spheres", "tanh", "code", 1)
    res = run_batch(setting, [run])[0]
    world, init = sample_world(setting, 1, "spheres"), N.initial_network(setting, run)
    z, y = torch.from_numpy(world.train.z)[None], torch.from_numpy(world.train.y)[None]
    M = torch.from_numpy(world.M).float()
    V0 = (init["W"] @ M)[None]
    g = N.gradients("tanh", z, y, V0, init["b"][None], init["a"][None], init["c"].reshape(1), train_head=True,
                    loss="logistic")
    gW = g["coords"][0] @ M.T  # ∇_W L = (∇_V L) Mᵀ
    eta, lam, eps = 1e-3, 1e-3, 1e-8
    W1 = init["W"] * (1 - eta * lam) - eta * gW / (gW.abs() + eps)
    b1 = init["b"] * (1 - eta * lam) - eta * g["bias"][0] / (g["bias"][0].abs() + eps)
    np.testing.assert_allclose(res["coords_end"], (W1 @ M).double().numpy(), atol=1e-6)
    np.testing.assert_allclose(res["bias_end"], b1.double().numpy(), atol=1e-6)
    a1 = init["a"] * (1 - eta * lam) - eta * g["head"][0] / (g["head"][0].abs() + eps)
    np.testing.assert_allclose(res["head_end"], a1.double().numpy(), atol=1e-6)
    assert res["train_loss"][0] == pytest.approx(float(torch.log(1 + torch.exp(-y[0] * (
        torch.tanh(z[0] @ V0[0].T + init["b"]) @ init["a"] + init["c"]))).mean()), rel=1e-6)


def test_code_variant_has_a_frozen_random_output_bias():
    setting = replace(SMALL, iterations=15, lr=0.05)
    m = setting.width
    run = Run("classification", "relu", "code", 3)
    init = N.initial_network(setting, run)
    c = float(init["c"])
    assert 0 < abs(c) <= 1 / math.sqrt(m)
    # toy.py's nn.Linear(m, 1) under the documented seed draws exactly this bias
    with torch.random.fork_rng():
        torch.manual_seed(N._torch_seed(3, 8))
        assert torch.nn.Linear(m, 1).bias.item() == c
    # its own stream: the same for every activation and task of the seed, not the first layer's
    assert float(N.initial_network(setting, Run("classification", "identity", "code", 3))["c"]) == c
    assert float(N.initial_network(setting, Run("classification", "relu", "code", 4))["c"]) != c
    assert "c" not in N.initial_network(setting, Run("classification", "relu", "theory", 3))
    res = run_batch(setting, [run])[0]
    assert float(res["out_bias_end"]) == c  # not trained
    np.testing.assert_array_equal(res["head_end"], init["a"].double().numpy())
    ref = N.reference_run(setting, run)
    out = ref["model"][2]
    assert out.bias.item() == c and not out.bias.requires_grad and not out.weight.requires_grad
    np.testing.assert_allclose(res["train_loss"], ref["train_loss"], atol=2e-5)
    # the bias shifts every output by c (on the balanced training set the mean hinge loss, all
    # margins active, does not see it: Σ_i y_i c = 0); the ID test risk does
    world = sample_world(setting, 3)
    z = torch.from_numpy(world.id_test.z)[None]
    V0 = torch.from_numpy(init["W"].double().numpy() @ world.M).float()[None]
    h_c = N.forward("relu", z, V0, init["b"][None], init["a"][None], init["c"].reshape(1))[2]
    h_0 = N.forward("relu", z, V0, init["b"][None], init["a"][None])[2]
    torch.testing.assert_close(h_c - h_0, torch.full_like(h_0, c))
    y = torch.from_numpy(world.id_test.y)
    assert res["id_loss"][0] == pytest.approx(float(torch.clamp(1 - y * h_c[0], min=0).mean()), rel=1e-6)


def test_theory_variant_two_sgd_steps_by_hand():
    """Sec. 3.2, Eqs. 3-4: plain SGD (no momentum) with coupled weight decay on a fresh i.i.d.
    batch per iteration, no bias. The two steps recomputed in float64 from the documented
    streams: the first layer N(0, I/d) from [seed, 4, 1], the signs of a from [seed, 5], the
    batches from the torch generator seeded by [seed, 9]."""
    setting = replace(SMALL, iterations=2, record_every=1, lr=0.5, weight_decay=0.1, batch_size=64)
    seed, m, d, c = 2, setting.width, setting.d, setting.core
    run = Run("classification", "relu", "theory", seed)
    res = run_batch(setting, [run])[0]
    M = dictionary(d, setting.features, seed)
    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, 4, 1]).integers(2**62)))
    W = (torch.randn(m, d, generator=g) / math.sqrt(d)).double().numpy()
    a = np.random.default_rng([seed, 5]).choice([-1.0, 1.0], size=m) / m
    gen = torch.Generator().manual_seed(int(np.random.default_rng([seed, 9]).integers(2**62)))
    losses, batches = [], []
    for t in range(3):
        u = torch.rand(64, 1 + setting.features, generator=gen).double().numpy()
        y = np.where(u[:, 0] < 0.5, 1.0, -1.0)
        z = u[:, 1:].copy()
        z[:, :c] *= y[:, None]
        batches.append(z)
        x = z @ M.T
        pre = x @ W.T
        h = np.maximum(pre, 0) @ a
        losses.append(np.maximum(1 - y * h, 0).mean())
        if t == 2:
            break
        dh = np.where(1 - y * h > 0, -y, 0.0) / len(y)
        grad = ((dh[:, None] * (pre > 0)) * a).T @ x  # ∂L/∂W
        W = W - setting.lr * (grad + setting.weight_decay * W)
    np.testing.assert_allclose(res["train_loss"], losses, rtol=1e-5)
    np.testing.assert_allclose(res["coords_end"], W @ M, atol=1e-5)
    np.testing.assert_array_equal(res["bias_end"], 0.0)
    # fresh batches: every iteration's differs, and none is the fixed training set
    assert not np.allclose(batches[0], batches[1])
    assert not np.allclose(batches[0][:, :c].mean(), sample_world(setting, seed).train.z[:64, :c].mean())
    # plain SGD: the complement decays by (1 − ηλ)^t
    assert res["perp_norm"][2] == pytest.approx(res["perp_norm"][0] * (1 - 0.05) ** 2, rel=1e-6)


def test_theory_batches_do_not_depend_on_the_batch_of_runs():
    setting = replace(SMALL, iterations=10)
    alone = run_batch(setting, [Run("classification", "relu", "theory", 1)])[0]
    both = run_batch(setting, [Run("classification", "identity", "theory", 0),
                               Run("classification", "relu", "theory", 1),
                               Run("regression", "relu", "theory", 1)])
    np.testing.assert_allclose(both[1]["train_loss"], alone["train_loss"], rtol=1e-6)
    np.testing.assert_allclose(both[1]["coords_end"], alone["coords_end"], atol=1e-7)


def test_regression_fits_in_distribution_for_both_networks():
    """App. F.1 (our reading): the trained output layer and the squared Euclidean distance to
    y·z_core. At the paper's sizes, 2,000 of its SGD steps bring both networks' ID risk
    below 10% of the zero predictor's (E‖y z_core‖² = 32/3)."""
    setting = replace(NumericalSetting(), iterations=2000, record_every=1000)
    runs = [Run("regression", "relu", "code", 0), Run("regression", "identity", "code", 0)]
    for run, res in zip(runs, run_batch(setting, runs)):
        assert res["id_zero_risk"][0] == pytest.approx(32 / 3, rel=0.02)
        assert res["id_loss"][0] > 0.9 * res["id_zero_risk"][0]  # it starts near the zero predictor
        assert res["id_loss"][-1] <= 0.1 * res["id_zero_risk"][-1], run.label
        assert res["ood_zero_risk"][0] == pytest.approx(32 / 3, rel=0.02)


def test_signed_projection_on_a_hand_built_matrix():
    """Four neurons, two core and two background coordinates. Neuron 0: a > 0, active more on
    y = +1 → N_{+1}; neuron 1: a < 0, active more on y = −1 → N_{−1}; neuron 2: a > 0 but
    active more on y = −1 → neither (its output weight opposes its class); neuron 3: a < 0,
    no asymmetry → neither."""
    sign = torch.tensor([1.0, -1.0, 1.0, -1.0])
    p_pos = torch.tensor([0.9, 0.2, 0.1, 0.5])
    p_neg = torch.tensor([0.1, 0.8, 0.7, 0.5])
    in_pos, in_neg = N.class_sets(sign, p_pos, p_neg)
    np.testing.assert_array_equal(in_pos.numpy(), [1, 0, 0, 0])
    np.testing.assert_array_equal(in_neg.numpy(), [0, 1, 0, 0])
    V0 = torch.tensor([[0.1, 0.2, 0.0, 0.1], [0.0, -0.1, 0.2, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    V = torch.tensor([[0.5, 0.4, 0.3, 0.2], [-0.4, -0.2, 0.3, 0.1], [-5.0, -5.0, -5.0, -5.0], [9.0, 9.0, 9.0, 9.0]])
    out = N.signed_projections(V - V0, in_pos, in_neg, core=2)
    # neuron 0: background changes 0.3, 0.1 → 0.2; neuron 1: 0.1, 0.1 → 0.1
    assert float(out["bg_signed_pos"]) == pytest.approx(0.2)
    assert float(out["bg_signed_neg"]) == pytest.approx(0.1)
    assert float(out["bg_signed"]) == pytest.approx(0.15)
    # core: neuron 0 +(0.4 + 0.2)/2 = 0.3; neuron 1 −(−0.4 − 0.1)/2 = 0.25
    assert float(out["core_signed"]) == pytest.approx(0.275)
    # batched layout (R, m, d0), and an empty set gives NaN
    two = N.signed_projections(torch.stack([V - V0, V - V0]), torch.stack([in_pos, in_pos]),
                               torch.stack([in_neg, torch.zeros(4, dtype=torch.float64)]), core=2)
    assert two["bg_signed_pos"].tolist() == pytest.approx([0.2, 0.2]) and np.isnan(two["bg_signed_neg"][1])
    # in a run: the curve starts at 0 and the sets are recorded per neuron
    res = run_batch(replace(SMALL, iterations=5), [Run("classification", "relu", "code", 0)])[0]
    assert res["bg_signed"][0] == 0.0 and set(np.unique(res["neuron_class"])) <= {-1, 0, 1}
    assert res["n_pos_neurons"] == int((res["neuron_class"] == 1).sum()) > 0
    np.testing.assert_array_equal(res["neuron_sign"][res["neuron_class"] == 1], 1)
    expect = (res["neuron_bg_signed_end"] - res["neuron_bg_signed_init"])
    cls = res["neuron_class"]
    assert res["bg_signed"][-1] == pytest.approx(0.5 * (expect[cls == 1].mean() + expect[cls == -1].mean()), abs=1e-9)


def _curves_table(seeds, relu_signed, linear_signed, rms=0.04):
    rows = []
    for i, seed in enumerate(seeds):
        for act, signed in (("relu", relu_signed[i]), ("identity", linear_signed[i])):
            for it, frac in ((0, 0.0), (100, 1.0)):
                rows.append({"run": f"{act}{seed}", "task": "classification", "activation": act, "variant": "code",
                             "seed": seed, "iteration": it, "bg_signed": frac * signed,
                             "bg_signed_pos": frac * signed, "bg_signed_neg": frac * signed, "core_signed": 0.1 * frac,
                             "bg_init_rms": rms, "bg_norm": 0.2 * (1 + frac * (0.8 if act == "relu" else -0.1)),
                             "core_norm": 0.2, "id_loss": 1 - frac * 0.99, "ood_loss": 1 - frac * (0.3 if act == "relu"
                                                                                                 else 0.995),
                             "id_error": 0.0, "ood_error": 0.0, "asymmetry": 0.4 + frac * 0.4,
                             "id_zero_risk": 1.0, "ood_zero_risk": 1.0})
    return pd.DataFrame(rows)


def test_numerical_findings_decide_on_the_signed_projection_over_seeds():
    from featurelab.contamination.findings import numerical_findings
    # three seeds: ReLU grows by 0.5-0.7 σ̂0, the linear network stays within ±0.01 σ̂0
    curves = _curves_table([0, 1, 2], [0.02, 0.024, 0.028], [0.0004, -0.0004, 0.0])
    f = numerical_findings(curves, {"classification_code": 0.9}, {"classification": 100})
    c = f["classification_code"]
    assert c["relu"]["bg_signed_change_rel"]["mean"] == pytest.approx(0.6)
    assert c["contamination"]["relu_contaminated"]["verdict"] == "holds"
    assert c["contamination"]["linear_not_contaminated"]["verdict"] == "holds"
    assert c["contamination"]["relu_above_linear"]["verdict"] == "holds"
    # Student-t over 3 seeds: t_{0.975, 2} = 4.303
    lo = 0.6 - 4.303 * np.std([0.5, 0.6, 0.7], ddof=1) / np.sqrt(3)
    assert c["contamination"]["relu_contaminated"]["lo"] == pytest.approx(lo, rel=1e-3)
    assert c["relu"]["bg_norm_grows"]["verdict"] == "holds" and c["identity"]["bg_only_decays"]["verdict"] == "holds"
    # a signed change that shrinks fails, whatever its norm does; the threshold is a key
    shrink = _curves_table([0, 1, 2], [-0.02, -0.024, -0.028], [0.0, 0.0, 0.001])
    g = numerical_findings(shrink, {"classification": 0.9}, {"classification": 100})["classification_code"]
    assert g["contamination"]["relu_contaminated"]["verdict"] == "fails"
    assert g["relu"]["bg_norm_grows"]["verdict"] == "holds"  # the norm cannot tell
    strict = numerical_findings(curves, {}, {"classification": 100}, thresholds={"signed_min": 1.0})
    assert strict["classification_code"]["contamination"]["relu_contaminated"]["verdict"] == "fails"
    with pytest.raises(ValueError, match="grwoth"):
        numerical_findings(curves, {}, {}, thresholds={"grwoth": 1.0})
    # one seed: no verdict
    one = numerical_findings(_curves_table([0], [0.02], [0.0]), {}, {"classification": 100})
    assert one["classification_code"]["contamination"]["relu_contaminated"]["verdict"] == "no verdict"


def test_numerical_figures_carry_their_scales():
    """Figs 3, 8-10 from a tiny batched run of every task through the curves table: every
    risk axis has at least three labelled ticks within its limits (Fig 9's regression risks
    sit near 0.3-10, where a symlog axis with a fixed threshold drew none), and the signed
    panels plot the σ̂0-scaled change."""
    import matplotlib
    matplotlib.use("Agg")
    from featurelab.contamination import figures as F
    from featurelab.contamination.findings import numerical_tables
    setting = replace(SMALL, iterations=20, record_every=10, lr=0.02)
    runs = [Run("classification", a, v, s) for a in ("relu", "identity") for v in ("code", "theory") for s in (0, 1)]
    runs += [Run("regression", a, "code", s) for a in ("relu", "identity") for s in (0, 1)]
    runs += [Run("spheres", a, "code", s) for a in ("relu", "tanh") for s in (0, 1)]
    specs = [{"name": r.label, "task": r.task, "activation": r.activation, "variant": r.variant, "seed": r.seed}
             for r in runs]
    curves, neurons = numerical_tables(specs, run_batch(setting, runs))
    assert {"bg_signed", "bg_init_rms", "id_zero_risk"} <= set(curves.columns)
    assert {"bg_signed", "neuron_class"} <= set(neurons.columns)
    for fn in (F.fig8, F.fig9, F.fig10):
        fig, _ = fn(curves)
        for ax in fig.axes[::3]:  # the risk panels
            lo, hi = ax.get_ylim()
            labels = [t.get_text() for t, v in zip(ax.get_yticklabels(), ax.get_yticks()) if lo <= v <= hi]
            assert len([x for x in labels if x]) >= 3, (fn.__name__, labels)
    fig, df = F.fig3(curves)
    assert len(fig.axes) >= 5 and "bg_signed_rel" in df
    reg = curves[curves.task == "regression"]
    assert (reg.id_zero_risk > 5).all()  # E‖y z_core‖² = 32/3
