"""The numerical setting of Zhang, Zhao, Chen, Jiang, Chen, "Feature Contamination: Neural
Networks Learn Uncorrelated Features and Fail to Generalize" (ICML 2024), Secs. 3-4 and
App. F.1: two-layer networks trained on core and background features learn the background
features too, although they are uncorrelated with the label (Figs 3, 7-10).

World (Zhang et al. (ICML 2024), Def. 3.1; :func:`sample_world`). An orthonormal dictionary
m_1..m_{d0} of R^d (d0 = core + background = 32 + 32, d = 256; :func:`dictionary`, the QR
factor of a Gaussian d×d0 matrix). With z_j ~ U[0, 1] independently,

    ID:   x = Σ_{j∈core} y z_j m_j + Σ_{j∈bg} z_j m_j,        y uniform on {−1, +1},
    OOD:  the same core part, background z_j ~ U[−1, 0] instead.

So x = M z with M = (m_1 .. m_{d0}) ∈ R^{d×d0} and z its dictionary coordinates. The 1,000
training points are exactly balanced (500 of each label, shuffled); the ID and OOD test
sets are fresh draws of ``n_test`` points each.

Model (Sec. 3.2, Eq. 2). h(x) = Σ_k a_k σ(⟨w_k, x⟩ + b_k), width m = 256, second layer
frozen. Two variants:

* ``"code"`` -- as in the authors' released script: the hidden bias is trained, w and b
  take PyTorch's default ``nn.Linear(d, m)`` init (U[±1/√d]), a_k = +1/m for the first
  half of the neurons and −1/m for the second half;
* ``"theory"`` -- as in Sec. 3.2: no bias, w_k ~ N(0, I/d), a_k = ±1/m with random signs.

σ is one of ``relu``, ``identity`` (the linear network of Thm 4.4), ``gelu``, ``sigmoid``,
``tanh``.

Tasks (:class:`Run`).

* ``"classification"`` (Sec. 3.2, Eq. 3): the hinge loss max(0, 1 − y h(x)) averaged over
  the full batch of the training points; SGD with learning rate 1e-3, momentum 0.9 and
  coupled weight decay 1e-3 in PyTorch's semantics (g = ∇L + λθ; buf = μ buf + g, buf = g
  at the first step; θ ← θ − η buf) on every trained parameter (b included in "code").
* ``"regression"`` (App. F.1, representation distillation). *Our reading* of App. F.1, whose
  equations were lost from our copy: the target is the core coordinates y z_core ∈ R^32,
  the output h(x) = σ(Wx + b) A with A ∈ R^{m×32} frozen, entries ±1/m with random signs;
  the loss is the mean squared error (mean over points and the 32 outputs); the same SGD.
  Its risk is that MSE; the 0-1 error is not defined (NaN).
* ``"spheres"`` (Fig 3d, App. F.1 and Fig 10, the extension to a non-linearly-separable
  concept): z_core = r_y u with u uniform on the unit sphere of R^32, r = 1 for y = +1 and
  r = 2 for y = −1; background as above. Both layers are trained, with biases, from
  PyTorch's default init of ``nn.Linear(d, m)`` and ``nn.Linear(m, 1)``; hinge loss;
  AdamW with PyTorch's defaults (lr 1e-3, weight decay 1e-2, betas (0.9, 0.999),
  eps 1e-8), full batch.

Measures, every ``record_every`` iterations (iteration 0 = the initial network): the training
loss; the ID and OOD test risk (hinge, or MSE for regression) and 0-1 error (sign h ≠ y);
core_norm = mean_k ‖(⟨w_k, m_j⟩)_{j∈core}‖₂ and bg_norm = the same over the background
(the weight projections of Thm 4.2, Eq. 8); asymmetry = mean_k |P(⟨w_k,x⟩ + b_k ≥ 0 | y=+1)
− P(⟨w_k,x⟩ + b_k ≥ 0 | y=−1)| on the ID test set (Thm 4.1, Eq. 5); perp_norm = mean_k of
the norm of w_k's component orthogonal to the dictionary. Per neuron: the class-conditional
activation probabilities at init, 1/4, 1/2 and the end of training (the histograms of
Fig 7), and the core and background projection norms at init and at the end.

Speed: many runs as one batched model (:func:`run_batch`). Runs (seeds × activations ×
variants) that share an optimizer and a task train side by side: first layers (R, ·, m),
data (R, N, ·), batched matrix products, each activation applied to its slice of runs.
Each run has its own loss and its own gradient, exactly the gradient of the sum of the
runs' mean losses with respect to that run's parameters. The gradients are written out by
hand and the optimizers are ``torch.optim.SGD`` / ``torch.optim.AdamW`` (fused kernels
where this torch has them), elementwise and therefore independent per run. The first
layer is held as P = [V | b]ᵀ ∈ R^{(d0+1)×m} against the inputs [z | 1], so one product
gives V z + b and one gives both ∂L/∂V and ∂L/∂b. With the hinge loss and a scalar head,
∂L/∂P_jk = a_k Σ_i [z | 1]_ij (∂L/∂h_i) σ'(pre_ik), so the N×m factor is σ' alone. The
linear networks (identity activation) associate the same products the other way round,
h = [z | 1] (P a), ∂L/∂P = ([z | 1]ᵀ ∂L/∂h) aᵀ, which skips the N×m hidden layer.

Exact reduction to the dictionary coordinates (SGD runs). Every input lies in span(M), so
with V = W M ∈ R^{m×d0} (row k: the projections ⟨w_k, m_j⟩),

    W x + b = V z + b,          ∇_W L = Σ_i g_i x_iᵀ = (Σ_i g_i z_iᵀ) Mᵀ = (∇_V L) Mᵀ,

where g_i = ∂L/∂(W x_i + b). SGD with momentum and coupled weight decay is linear in
(θ, buf, ∇L) and commutes with right-multiplication by M: with g = ∇_W L + λW,

    g M = ∇_V L + λ V,     (buf M) ← μ (buf M) + g M,     V ← V − η (buf M),

which is the same optimizer run on the loss as a function of V, started from V_0 = W_0 M and
a zero buffer. So the SGD runs train the d0 = 64 coordinates instead of the d = 256 of w_k
(4× fewer flops in the products with the data), initialised with W_0 M from the full-space
init: the numbers are those of the full model (up to float rounding), not merely the same
distribution. The component orthogonal to the dictionary, W(I − MMᵀ), gets no data
gradient and only decays: it is multiplied by :func:`momentum_decay_factor` after t steps,
and it affects neither the outputs nor the projections (perp_norm is recorded from that
closed form). Adam's per-coordinate normalisation √v̂ is taken in the canonical basis of
R^d and does not commute with the rotation, so the AdamW runs (spheres) keep W in the
full R^d; their products with the data still go through the coordinates (X Wᵀ = Z (W M)ᵀ,
∇_W L = (∇_V L) Mᵀ), exact up to float rounding. (AdamW's trajectories here are sensitive
at the float-rounding level: a relative change of 1e-7 in the initial weights moves the
losses by 1e-3..1e-2 within a few hundred steps, in the plain full-space model as much as
here. The SGD runs do match it over a whole run: the ReLU and linear classification runs
of seed 0 agree with :func:`reference_run` to 3e-7 in losses and projections after the
paper's 20,000 steps.)

Random streams of a seed: the dictionary ``default_rng([seed, 0])``; training, ID test and
OOD test sets ``[seed, 1, t]``, ``[seed, 2, t]``, ``[seed, 3, t]`` (t = 0 for the
classification/regression world, 1 for the spheres); the first layer a torch generator
seeded from ``[seed, 4, v]`` (v = 0 code, 1 theory), so the activations and tasks of a seed
share their initial first layer; the signs of a (theory) ``[seed, 5]``; of A (regression)
``[seed, 6]``; the spheres' second layer ``[seed, 7]``. A run's numbers therefore do not
depend on the batch it trains in.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

TASKS: tuple[str, ...] = ("classification", "regression", "spheres")
ACTIVATIONS: tuple[str, ...] = ("relu", "identity", "gelu", "sigmoid", "tanh")
VARIANTS: tuple[str, ...] = ("code", "theory")

#: The curves of a result: 1-D arrays, one entry per recorded iteration.
CURVES: tuple[str, ...] = ("iteration", "train_loss", "id_loss", "ood_loss", "id_error", "ood_error",
                           "core_norm", "bg_norm", "perp_norm", "asymmetry")


# --------------------------------------------------------------------------------------------
# setting and runs


@dataclass(frozen=True)
class NumericalSetting:
    """Sizes and optimiser settings (defaults: Zhang et al. (ICML 2024), Sec. 3 and App. F.1).

    ``core``/``background``: the numbers of core and background dictionary vectors;
    ``width``: m; ``iterations``: full-batch steps (20,000 in the paper); ``radii``: (r_{+1},
    r_{−1}) of the spheres task; ``adam_lr``/``adam_weight_decay``: AdamW's (PyTorch's
    defaults) for the spheres task.
    """

    d: int = 256
    core: int = 32
    background: int = 32
    width: int = 256
    n_train: int = 1000
    n_test: int = 2000
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-3
    iterations: int = 20000
    record_every: int = 100
    radii: tuple[float, float] = (1.0, 2.0)
    adam_lr: float = 1e-3
    adam_weight_decay: float = 1e-2

    def __post_init__(self) -> None:
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))
        if len(self.radii) != 2:
            raise ValueError(f"radii must be two numbers (r for y=+1, r for y=-1), got {self.radii}")
        for name in ("d", "core", "background", "width", "n_test", "record_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.n_train < 2:
            raise ValueError(f"n_train must be at least 2 (one point of each label), got {self.n_train!r}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations!r}")
        if self.core + self.background > self.d:
            raise ValueError(f"core + background = {self.core + self.background} orthonormal vectors do not fit "
                             f"in R^{self.d}")

    @property
    def features(self) -> int:
        """d0 = core + background, the size of the dictionary."""
        return self.core + self.background

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "NumericalSetting":
        """The setting with the fields that ``d`` names (other keys are ignored)."""
        d = d or {}
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass(frozen=True)
class Run:
    """One network: ``task`` in :data:`TASKS`, ``activation`` in :data:`ACTIVATIONS`,
    ``variant`` in :data:`VARIANTS` (the spheres task has only ``"code"``: PyTorch's
    default init, both layers trained), ``seed`` a non-negative integer."""

    task: str
    activation: str = "relu"
    variant: str = "code"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; expected one of {', '.join(ACTIVATIONS)}")
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        if self.task == "spheres" and self.variant != "code":
            raise ValueError(f"variant {self.variant!r} is not defined for the spheres task (both layers trained "
                             "from PyTorch's default init); use 'code'")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def label(self) -> str:
        return f"{self.task}/{self.activation}/{self.variant}/seed{self.seed}"


# --------------------------------------------------------------------------------------------
# world


def dictionary(d: int = 256, features: int = 64, seed: int = 0) -> np.ndarray:
    """M ∈ R^{d×features} (float64) with orthonormal columns m_1..m_features (Zhang et al.
    (ICML 2024), Def. 3.1): the Q factor of the QR decomposition of a standard Gaussian
    matrix from ``default_rng([seed, 0])``, column signs fixed so that diag(R) > 0 (a
    uniformly random frame). The first ``core`` columns are the core features, the rest
    the background features."""
    if features > d:
        raise ValueError(f"{features} orthonormal vectors do not fit in R^{d}")
    q, r = np.linalg.qr(np.random.default_rng([seed, 0]).standard_normal((d, features)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


@dataclass(frozen=True)
class Split:
    """Points of the world in dictionary coordinates: ``z`` (N, d0) float32, x = M z;
    ``y`` (N,) float32 labels in {−1, +1}."""

    z: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class World:
    """The dictionary ``M`` (d, d0) float64, the first ``core`` columns core, and the training,
    ID test and OOD test splits (:func:`sample_world`)."""

    M: np.ndarray
    core: int
    train: Split
    id_test: Split
    ood_test: Split

    def inputs(self, split: Split) -> np.ndarray:
        """x = M z (N, d) float32, the points in R^d."""
        return (split.z.astype(np.float64) @ self.M.T).astype(np.float32)


def _sample_split(n: int, setting: NumericalSetting, spheres: bool, rng: np.random.Generator, *,
                  balanced: bool, ood: bool) -> Split:
    """Labels first (exactly balanced and shuffled, or i.i.d. uniform), then the core
    coordinates, then the background coordinates."""
    if balanced:
        y = rng.permutation(np.concatenate([np.ones((n + 1) // 2), -np.ones(n // 2)]))
    else:
        y = rng.choice(np.array([-1.0, 1.0]), size=n)
    if spheres:
        u = rng.standard_normal((n, setting.core))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        core = np.where(y > 0, setting.radii[0], setting.radii[1])[:, None] * u
    else:
        core = y[:, None] * rng.uniform(0.0, 1.0, (n, setting.core))
    bg = rng.uniform(-1.0, 0.0, (n, setting.background)) if ood else rng.uniform(0.0, 1.0, (n, setting.background))
    return Split(np.concatenate([core, bg], axis=1).astype(np.float32), y.astype(np.float32))


def sample_world(setting: NumericalSetting | None = None, seed: int = 0, task: str = "classification") -> World:
    """The world of Zhang et al. (ICML 2024), Def. 3.1 for ``seed`` (module docstring): the
    dictionary, ``n_train`` exactly balanced training points, ``n_test`` ID and ``n_test``
    OOD test points. ``task="spheres"`` draws the core coordinates on the spheres of radii
    ``setting.radii`` (App. F.1); classification and regression share one world."""
    setting = setting or NumericalSetting()
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    spheres = task == "spheres"
    t = int(spheres)
    M = dictionary(setting.d, setting.features, seed)
    train = _sample_split(setting.n_train, setting, spheres, np.random.default_rng([seed, 1, t]),
                          balanced=True, ood=False)
    id_test = _sample_split(setting.n_test, setting, spheres, np.random.default_rng([seed, 2, t]),
                            balanced=False, ood=False)
    ood_test = _sample_split(setting.n_test, setting, spheres, np.random.default_rng([seed, 3, t]),
                             balanced=False, ood=True)
    return World(M, setting.core, train, id_test, ood_test)


# --------------------------------------------------------------------------------------------
# initialisation


def _torch_seed(*key: int) -> int:
    return int(np.random.default_rng(list(key)).integers(2**62))


def _linear_default(fan_out: int, fan_in: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of ``nn.Linear(fan_in, fan_out)``'s ``reset_parameters`` (both
    U[±1/√fan_in]), drawn from ``generator`` in the same order (weight, then bias)."""
    w = torch.empty(fan_out, fan_in)
    torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    b = torch.empty(fan_out)
    torch.nn.init.uniform_(b, -bound, bound, generator=generator)
    return w, b


def initial_network(setting: NumericalSetting, run: Run) -> dict[str, torch.Tensor]:
    """The full-space initial network of ``run`` (float32): ``W`` (m, d), ``b`` (m,) (zeros,
    never trained, in the theory variant), and the second layer: ``a`` (m,) for the hinge
    tasks, ``A`` (m, core) for regression, and ``c`` () the output bias of the spheres task."""
    m, d = setting.width, setting.d
    g = torch.Generator().manual_seed(_torch_seed(run.seed, 4, VARIANTS.index(run.variant)))
    if run.variant == "code":
        W, b = _linear_default(m, d, g)
    else:
        W = torch.randn(m, d, generator=g) / math.sqrt(d)
        b = torch.zeros(m)
    out = {"W": W, "b": b}
    if run.task == "spheres":
        a, c = _linear_default(1, m, torch.Generator().manual_seed(_torch_seed(run.seed, 7)))
        out.update(a=a[0], c=c[0])
    elif run.task == "regression":
        signs = np.random.default_rng([run.seed, 6]).choice(np.array([-1.0, 1.0]), size=(m, setting.core))
        out["A"] = torch.from_numpy(signs / m).float()
    elif run.variant == "code":
        out["a"] = torch.cat([torch.full((m - m // 2,), 1.0 / m), torch.full((m // 2,), -1.0 / m)])
    else:
        signs = np.random.default_rng([run.seed, 5]).choice(np.array([-1.0, 1.0]), size=m)
        out["a"] = torch.from_numpy(signs / m).float()
    return out


# --------------------------------------------------------------------------------------------
# the closed-form decay of the orthogonal complement


def momentum_decay_factor(lr: float, momentum: float, weight_decay: float, iterations):
    """f_T: the factor by which PyTorch's SGD (momentum μ, coupled weight decay λ, learning
    rate η, no dampening) scales a direction that gets no data gradient after T steps.

    Derivation. Along such a direction the gradient is g_t = λ w_t, and PyTorch's step is
    buf_t = μ buf_{t−1} + λ w_t (buf_1 = g_1, i.e. buf_0 = 0) and w_(t+1) = w_t − η buf_t
    = (1 − ηλ) w_t − ημ buf_{t−1}. So s_t = (w_t, buf_{t−1}) obeys s_{t+1} = A s_t with

        A = [[1 − ηλ, −ημ], [λ, μ]],    tr A = τ = 1 − ηλ + μ,    det A = μ,

    and f_T = (A^T (1, 0)ᵀ)_1. By Cayley-Hamilton, A^T = U_{T−1} A − μ U_{T−2} I with
    U_n = τ U_{n−1} − μ U_{n−2}, U_0 = 1, U_{−1} = 0, so that (using 1 − ηλ = τ − μ)

        f_T = (τ − μ) U_{T−1} − μ U_{T−2} = U_T − μ U_{T−1},

    and U_n = (r₁^{n+1} − r₂^{n+1}) / (r₁ − r₂) for the roots r₁,₂ of r² − τ r + μ
    (eigenvalues of A). Three cases of the discriminant Δ = τ² − 4μ:

    * Δ > 0 (the paper's: η = λ = 1e-3, μ = 0.9 give Δ ≈ 0.01): real roots of one sign
      (r₁ r₂ = μ > 0), r₁ the larger in magnitude, q = r₂/r₁ ∈ (0, 1) and
      U_n = r₁ⁿ (1 − q^{n+1}) / (1 − q), evaluated with expm1/log1p (1 − q = √Δ/|r₁|) so
      that it stays accurate as Δ → 0;
    * Δ < 0: r₁,₂ = √μ e^{±iθ}, θ = atan2(√−Δ, τ), U_n = μ^{n/2} sin((n+1)θ) / sin θ;
    * Δ = 0: U_n = (n+1) (τ/2)ⁿ.

    With μ = 0 (plain SGD) f_T = (1 − ηλ)^T. For small ηλ, r₁ ≈ 1 − ηλ/(1 − μ) and
    f_T ≈ r₁^T (r₁ − μ)/(r₁ − r₂) ≈ exp(−ηλT/(1 − μ)): 0.819 after the paper's 20,000 steps.

    ``iterations`` may be an integer (returns a float) or an array of integers (returns an
    array of the same shape).
    """
    T = np.asarray(iterations)
    if T.dtype.kind not in "iu" and not np.all(np.floor(T) == T):
        raise ValueError(f"iterations must be integers, got {iterations!r}")
    if np.any(T < 0):
        raise ValueError(f"iterations must be >= 0, got {iterations!r}")
    T = T.astype(np.float64)
    eta, mu, lam = float(lr), float(momentum), float(weight_decay)
    if mu < 0:
        raise ValueError(f"momentum must be >= 0, got {momentum!r}")
    a = 1.0 - eta * lam
    if mu == 0.0:
        out = np.power(a, T)
    else:
        tau = a + mu
        disc = tau * tau - 4.0 * mu
        if disc > 0:
            s = math.sqrt(disc)
            r1 = 0.5 * (tau + math.copysign(s, tau))
            log_q = math.log1p(-s / abs(r1))  # log(r2/r1), r2/r1 in (0, 1)

            def U(n):
                return np.power(r1, n) * (-np.expm1((n + 1) * log_q)) / (s / abs(r1))
        elif disc < 0:
            theta = math.atan2(math.sqrt(-disc), tau)

            def U(n):
                return np.power(mu, n / 2) * np.sin((n + 1) * theta) / math.sin(theta)
        else:
            def U(n):
                return (n + 1) * np.power(tau / 2, n)
        out = U(T) - mu * U(T - 1)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# the batched engine


def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")


def _activate_into(name: str, pre: torch.Tensor, out: torch.Tensor) -> None:
    """out ← σ(pre), the kernels of ``torch.relu``, ``F.gelu``, ``torch.sigmoid``, ``torch.tanh``."""
    if name == "relu":
        torch.clamp_min(pre, 0.0, out=out)
    elif name == "identity":
        out.copy_(pre)
    elif name == "gelu":
        torch.ops.aten.gelu.out(pre, out=out)
    elif name == "sigmoid":
        torch.sigmoid(pre, out=out)
    elif name == "tanh":
        torch.tanh(pre, out=out)
    else:
        _check_activation(name)


def _backward_into(name: str, grad: torch.Tensor, pre: torch.Tensor, out: torch.Tensor) -> None:
    """grad ← grad · σ'(pre) in place (``out`` = σ(pre)), with the kernels autograd uses for
    these activations (ReLU's derivative at 0 is 0)."""
    if name == "relu":
        torch.ops.aten.threshold_backward.grad_input(grad, out, 0.0, grad_input=grad)
    elif name == "gelu":
        torch.ops.aten.gelu_backward.grad_input(grad, pre, grad_input=grad)
    elif name == "sigmoid":
        torch.ops.aten.sigmoid_backward.grad_input(grad, out, grad_input=grad)
    elif name == "tanh":
        torch.ops.aten.tanh_backward.grad_input(grad, out, grad_input=grad)
    else:
        _check_activation(name)  # identity: σ' = 1


def _derivative_into(name: str, pre: torch.Tensor, out: torch.Tensor, res: torch.Tensor) -> None:
    """res ← σ'(pre) (``out`` = σ(pre)), one pass: ReLU 1{out > 0}, GELU's derivative
    kernel, sigmoid out − out², tanh 1 − out²."""
    if name == "relu":
        torch.sign(out, out=res)
    elif name == "gelu":
        torch.ops.aten.gelu_backward.grad_input(torch.ones((), dtype=pre.dtype).expand_as(pre), pre, grad_input=res)
    elif name == "sigmoid":
        torch.addcmul(out, out, out, value=-1.0, out=res)
    elif name == "tanh":
        torch.addcmul(torch.ones((), dtype=out.dtype), out, out, value=-1.0, out=res)
    elif name == "identity":
        res.fill_(1.0)
    else:
        _check_activation(name)


def _slices(activations: Sequence[str]) -> list[tuple[str, slice]]:
    """Contiguous stretches of equal activation names as (name, slice of the batch)."""
    for name in activations:
        _check_activation(name)
    out: list[tuple[str, slice]] = []
    start = 0
    for i in range(1, len(activations) + 1):
        if i == len(activations) or activations[i] != activations[start]:
            out.append((activations[start], slice(start, i)))
            start = i
    return out


def _with_ones(z: torch.Tensor) -> torch.Tensor:
    """(R, N, d0 + 1): z with a constant coordinate 1 appended, the bias's input."""
    return torch.cat([z, torch.ones(*z.shape[:-1], 1, dtype=z.dtype)], dim=-1)


def _first_layer(coords: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """P (R, d0 + 1, m) from V (R, m, d0) and b (R, m): P[:, j, k] = ⟨w_k, m_j⟩, P[:, d0, k] = b_k."""
    return torch.cat([coords.transpose(1, 2), bias.unsqueeze(1)], dim=1).contiguous()


def _forward(parts: list[tuple[str, slice]], z1: torch.Tensor, P: torch.Tensor, head: torch.Tensor,
             out_bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pre-activations (R, N, m), activations and outputs of R networks whose first layer is
    P = [V | b]ᵀ (R, d0 + 1, m) on z1 = [z | 1] (R, N, d0 + 1): the bias is the weight of
    the constant coordinate, so one batched product gives V z + b and, in the backward
    pass, both ∂L/∂V and ∂L/∂b."""
    pre = torch.bmm(z1, P)
    if len(parts) == 1:
        act = pre if parts[0][0] == "identity" else torch.empty_like(pre)
    else:
        act = torch.empty_like(pre)
    for name, sl in parts:
        if act is not pre:
            _activate_into(name, pre[sl], act[sl])
    if head.dim() == 3:
        h = torch.bmm(act, head)
    else:
        h = torch.bmm(act, head.unsqueeze(2)).squeeze(2)
    if out_bias is not None:
        h = h + out_bias.unsqueeze(1)
    return pre, act, h


def _loss_dh(h: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-network loss (R,) and ∂L/∂h: the hinge loss (target None) or the mean squared error."""
    if target is None:
        margin = 1.0 - y * h
        return margin.clamp_min(0.0).mean(1), torch.where(margin > 0, -y, torch.zeros_like(y)) / y.shape[1]
    diff = h - target
    return diff.square().mean((1, 2)), diff * (2.0 / diff[0].numel())


def _nonlinear_block(parts, z1, y, P, head, out_bias, target, train_head) -> dict[str, torch.Tensor]:
    pre, act, h = _forward(parts, z1, P, head, out_bias)
    loss, dh = _loss_dh(h, y, target)
    out = {"loss": loss}
    if train_head:
        out["head"] = torch.bmm(act.transpose(1, 2), dh) if target is not None else \
            torch.bmm(dh.unsqueeze(1), act).squeeze(1)
        out["out_bias"] = dh.reshape(dh.shape[0], -1).sum(1)
    if target is None:
        # hinge, scalar head: ∂L/∂P_jk = a_k Σ_i z1_ij ∂L/∂h_i σ'(pre_ik) -- the N×m factor is σ'
        # alone, so the outer product ∂L/∂h aᵀ is never formed
        deriv = torch.empty_like(pre)
        for name, sl in parts:
            _derivative_into(name, pre[sl], act[sl], deriv[sl])
        out["P"] = torch.bmm((z1 * dh.unsqueeze(2)).transpose(1, 2), deriv) * head.unsqueeze(1)
    else:
        dact = torch.bmm(dh, head.transpose(1, 2))
        for name, sl in parts:
            _backward_into(name, dact[sl], pre[sl], act[sl])
        out["P"] = torch.bmm(z1.transpose(1, 2), dact)
    return out


def _linear_block(z1, y, P, head, out_bias, target, train_head) -> dict[str, torch.Tensor]:
    """The identity activation: h = z1 (P a) (or z1 (P A)) and ∂L/∂P = (z1ᵀ ∂L/∂h) aᵀ, the
    same products associated the other way round, without the (N, m) intermediates."""
    if target is None:
        h = torch.bmm(z1, torch.bmm(P, head.unsqueeze(2))).squeeze(2)
    else:
        h = torch.bmm(z1, torch.bmm(P, head))
    if out_bias is not None:
        h = h + out_bias.unsqueeze(1)
    loss, dh = _loss_dh(h, y, target)
    q = torch.bmm(z1.transpose(1, 2), dh.unsqueeze(2) if target is None else dh)  # (R, d0 + 1, 1 or c)
    out = {"loss": loss, "P": q * head.unsqueeze(1) if target is None else torch.bmm(q, head.transpose(1, 2))}
    if train_head:  # ∂L/∂a_k = Σ_i ∂L/∂h_i pre_ik = (Pᵀ z1ᵀ ∂L/∂h)_k
        out["head"] = torch.bmm(q.transpose(1, 2), P).squeeze(1) if target is None else \
            torch.bmm(P.transpose(1, 2), q)
        out["out_bias"] = dh.reshape(dh.shape[0], -1).sum(1)
    return out


def _loss_and_gradient(parts: list[tuple[str, slice]], z1: torch.Tensor, y: torch.Tensor, P: torch.Tensor,
                       head: torch.Tensor, out_bias: torch.Tensor | None, target: torch.Tensor | None,
                       train_head: bool) -> dict[str, torch.Tensor]:
    """Loss (R,) and gradients (``P`` (R, d0 + 1, m); ``head``, ``out_bias`` with
    ``train_head``) of R networks; the linear ones (identity) and the others are computed
    in separate blocks of consecutive networks."""
    blocks: list[tuple[slice, list[tuple[str, slice]]]] = []
    for name, sl in parts:
        if name != "identity" and blocks and blocks[-1][1] and blocks[-1][1][-1][0] != "identity":
            start = blocks[-1][0].start
            blocks[-1] = (slice(start, sl.stop), blocks[-1][1] + [(name, slice(sl.start - start, sl.stop - start))])
        else:
            blocks.append((sl, [(name, slice(0, sl.stop - sl.start))]))
    outs = []
    for sl, sub in blocks:
        args = (z1[sl], y[sl], P[sl], head[sl], None if out_bias is None else out_bias[sl],
                None if target is None else target[sl], train_head)
        outs.append(_linear_block(*args) if sub[0][0] == "identity" else _nonlinear_block(sub, *args))
    if len(outs) == 1:
        return outs[0]
    return {key: torch.cat([o[key] for o in outs]) for key in outs[0]}


def forward(activation: str | Sequence[str], z: torch.Tensor, coords: torch.Tensor, bias: torch.Tensor,
            head: torch.Tensor, out_bias: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """R two-layer networks in dictionary coordinates (module docstring): z (R, N, d0),
    coords V (R, m, d0) (V_kj = ⟨w_k, m_j⟩), bias (R, m), head a (R, m) or A (R, m, c),
    out_bias (R,) or None; ``activation`` one name, or one per network (networks of one
    activation contiguous). Returns the pre-activations (R, N, m), the activations and the
    output h (R, N) or (R, N, c)."""
    names = [activation] * len(z) if isinstance(activation, str) else list(activation)
    return _forward(_slices(names), _with_ones(z), _first_layer(coords, bias), head, out_bias)


def gradients(activation: str | Sequence[str], z: torch.Tensor, y: torch.Tensor, coords: torch.Tensor,
              bias: torch.Tensor, head: torch.Tensor, out_bias: torch.Tensor | None = None,
              target: torch.Tensor | None = None, train_head: bool = False) -> dict[str, torch.Tensor]:
    """The full-batch loss of each of R networks (:func:`forward`'s arguments; y (R, N)) and
    its gradient: the hinge loss mean_i max(0, 1 − y_i h(x_i)) (Zhang et al. (ICML 2024),
    Eq. 3) when ``target`` is None, else the mean squared error against ``target``
    (R, N, c). No weight decay term.

    Returns ``loss`` (R,), ``coords`` ∂L/∂V (R, m, d0) -- row k holds the gradient
    projections ⟨∇_{w_k} L, m_j⟩ of Eq. 7 --, ``bias`` ∂L/∂b (R, m), and with
    ``train_head`` the second layer's ``head`` (∂L/∂a or ∂L/∂A) and ``out_bias`` (R,)."""
    names = [activation] * len(z) if isinstance(activation, str) else list(activation)
    g = _loss_and_gradient(_slices(names), _with_ones(z), y, _first_layer(coords, bias), head, out_bias, target,
                           train_head)
    gP = g.pop("P")
    return {**g, "coords": gP[:, :-1].transpose(1, 2), "bias": gP[:, -1]}


def _evaluate(parts, split: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None], P, head,
              out_bias) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(risk (R,), 0-1 error (R,), pre-activations (R, N, m)) on a split (z1, y, target)."""
    z1, y, target = split
    pre, _, h = _forward(parts, z1, P, head, out_bias)
    if target is None:
        risk = (1.0 - y * h).clamp_min(0.0).mean(1)
        error = (torch.sign(h) != y).float().mean(1)
    else:
        risk = (h - target).square().mean((1, 2))
        error = torch.full_like(risk, float("nan"))
    return risk, error, pre


def _class_activation(pre: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per neuron P(pre ≥ 0 | y = +1) and P(pre ≥ 0 | y = −1), each (R, m)."""
    on = (pre >= 0).float()
    pos = (y > 0).float()
    neg = 1.0 - pos
    p_pos = torch.bmm(pos.unsqueeze(1), on).squeeze(1) / pos.sum(1, keepdim=True).clamp_min(1.0)
    p_neg = torch.bmm(neg.unsqueeze(1), on).squeeze(1) / neg.sum(1, keepdim=True).clamp_min(1.0)
    return p_pos, p_neg


def _snapshots(iterations: int) -> list[int]:
    return sorted({0, iterations // 4, iterations // 2, iterations})


def _record_iterations(iterations: int, every: int) -> list[int]:
    its = list(range(0, iterations + 1, every))
    if its[-1] != iterations:
        its.append(iterations)
    return its


def _optimizer(cls, params: list[torch.Tensor], **kwargs) -> torch.optim.Optimizer:
    """``cls(params, fused=True, **kwargs)`` where this torch has a fused CPU kernel (the same
    update in one pass over the parameters), else the default implementation."""
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, **kwargs)


def _train_group(setting: NumericalSetting, runs: Sequence[Run], worlds: dict[tuple[int, bool], World],
                 log: Callable[[str], None] | None) -> list[dict[str, Any]]:
    """Train runs of one task side by side (networks of one activation contiguous); one
    result dict per run."""
    t0 = time.perf_counter()
    task = runs[0].task
    R, k, c, T = len(runs), setting.features, setting.core, setting.iterations
    parts = _slices([r.activation for r in runs])
    spheres, regression = task == "spheres", task == "regression"

    def stack(split_name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(z1, y, target) of all runs, one contiguous copy per run (a stride-0 batch
        dimension makes the batched products slower)."""
        splits = [getattr(worlds[(r.seed, spheres)], split_name) for r in runs]
        z = torch.from_numpy(np.stack([s.z for s in splits]))
        y = torch.from_numpy(np.stack([s.y for s in splits]))
        return _with_ones(z), y, (z[..., :c].contiguous() if regression else None)

    train, id_test, ood_test = stack("train"), stack("id_test"), stack("ood_test")
    Ms = [worlds[(r.seed, spheres)].M for r in runs]
    inits = [initial_network(setting, r) for r in runs]
    W0 = [i["W"].double().numpy() for i in inits]
    bias = torch.stack([i["b"] for i in inits])
    out_bias = None
    if spheres:  # full-space Wᵀ (R, d, m); AdamW on (Wᵀ, b, a, c)
        M = torch.from_numpy(np.stack(Ms)).float()  # (R, d, d0)
        Mt = M.transpose(1, 2).contiguous()
        WT = torch.stack([i["W"].T for i in inits]).contiguous()
        head = torch.stack([i["a"] for i in inits])
        out_bias = torch.stack([i["c"] for i in inits])
        opt = _optimizer(torch.optim.AdamW, [WT, bias, head, out_bias], lr=setting.adam_lr,
                         weight_decay=setting.adam_weight_decay)

        def first_layer() -> torch.Tensor:
            return torch.cat([torch.bmm(Mt, WT), bias.unsqueeze(1)], dim=1)  # [W M | b]ᵀ
    else:  # dictionary coordinates P = [V | b]ᵀ, SGD
        V0 = torch.from_numpy(np.stack([w @ m for w, m in zip(W0, Ms)])).float()  # W_0 M, (R, m, d0)
        P = _first_layer(V0, bias)
        head = torch.stack([i["A"] if regression else i["a"] for i in inits])
        opt = _optimizer(torch.optim.SGD, [P], lr=setting.lr, momentum=setting.momentum,
                         weight_decay=setting.weight_decay)
        bias_trained = torch.tensor([float(r.variant == "code") for r in runs]).unsqueeze(1)
        perp0 = np.array([np.linalg.norm(w - (w @ m) @ m.T, axis=1).mean() for w, m in zip(W0, Ms)])

        def first_layer() -> torch.Tensor:
            return P

    records = set(_record_iterations(T, setting.record_every))
    snaps = set(_snapshots(T))
    rec: dict[str, list] = {key: [] for key in CURVES}
    snap_pos, snap_neg = [], []
    norms0 = None
    log_every, next_log = max(1, T // 10), 0
    label = f"{task} ({R} run{'s' if R != 1 else ''})"
    t_train = time.perf_counter()
    with torch.no_grad():
        for t in range(T + 1):
            cur = first_layer()
            g = _loss_and_gradient(parts, train[0], train[1], cur, head, out_bias, train[2], train_head=spheres)
            if t in records or t in snaps:
                id_risk, id_err, id_pre = _evaluate(parts, id_test, cur, head, out_bias)
                p_pos, p_neg = _class_activation(id_pre, id_test[1])
                if t in snaps:
                    snap_pos.append(p_pos.numpy().copy())
                    snap_neg.append(p_neg.numpy().copy())
                core_k, bg_k = cur[:, :c].norm(dim=1), cur[:, c:k].norm(dim=1)
                if t == 0:
                    norms0 = (core_k.numpy().copy(), bg_k.numpy().copy())
                if t in records:
                    ood_risk, ood_err, _ = _evaluate(parts, ood_test, cur, head, out_bias)
                    if spheres:  # ‖w_k − M Mᵀ w_k‖
                        perp = (WT - torch.bmm(M, cur[:, :k])).norm(dim=1).mean(1).numpy()
                    else:
                        perp = momentum_decay_factor(setting.lr, setting.momentum, setting.weight_decay, t) * perp0
                    for key, val in (("iteration", np.full(R, t)), ("train_loss", g["loss"]),
                                     ("id_loss", id_risk), ("ood_loss", ood_risk), ("id_error", id_err),
                                     ("ood_error", ood_err), ("core_norm", core_k.mean(1)),
                                     ("bg_norm", bg_k.mean(1)), ("perp_norm", perp),
                                     ("asymmetry", (p_pos - p_neg).abs().mean(1))):
                        rec[key].append(np.asarray(val, dtype=np.float64))
                    if log and (t >= next_log or t == T):
                        el = time.perf_counter() - t_train
                        log(f"{label}: iteration {t}/{T}: train {g['loss'].mean():.4f}, ID {id_risk.mean():.4f}, "
                            f"OOD {ood_risk.mean():.4f}, bg_norm {bg_k.mean():.4f} (means over the runs); "
                            f"{el:.1f} s, {t / el if el > 0 else 0.0:.0f} it/s")
                        next_log = (t // log_every + 1) * log_every
            if t == T:
                break
            if spheres:
                WT.grad = torch.bmm(M, g["P"][:, :k])  # ∇_W L = (∇_V L) Mᵀ, transposed
                bias.grad, head.grad, out_bias.grad = g["P"][:, k].contiguous(), g["head"], g["out_bias"]
            else:
                g["P"][:, k] *= bias_trained  # the theory variant has no bias: it stays 0
                P.grad = g["P"]
            opt.step()
        end = first_layer()
    seconds = time.perf_counter() - t0
    core_end, bg_end = end[:, :c].norm(dim=1).numpy(), end[:, c:k].norm(dim=1).numpy()
    results = []
    for i in range(R):
        res: dict[str, Any] = {key: np.array([v[i] for v in rec[key]]) for key in CURVES}
        res["iteration"] = res["iteration"].astype(np.int64)
        res.update(neuron_iteration=np.array(sorted(snaps), dtype=np.int64),
                   neuron_p_pos=np.stack([p[i] for p in snap_pos]).astype(np.float64),
                   neuron_p_neg=np.stack([p[i] for p in snap_neg]).astype(np.float64),
                   neuron_core_norm_init=norms0[0][i].astype(np.float64),
                   neuron_core_norm_end=core_end[i].astype(np.float64),
                   neuron_bg_norm_init=norms0[1][i].astype(np.float64),
                   neuron_bg_norm_end=bg_end[i].astype(np.float64),
                   seconds=seconds, batch_runs=R)
        results.append(res)
    return results


def run_batch(setting: NumericalSetting | None, runs: Sequence[Run], log: Callable[[str], None] | None = None,
              threads: int | None = None) -> list[dict[str, Any]]:
    """Train ``runs`` side by side (module docstring) and return one result per run, in
    the order given.

    A result holds the curves (:data:`CURVES`, equal-length 1-D arrays, one entry per
    recorded iteration: 0, ``record_every``, ..., ``iterations``): ``iteration``,
    ``train_loss``, ``id_loss``, ``ood_loss`` (hinge risk, or MSE for regression),
    ``id_error``, ``ood_error`` (0-1 error; NaN for regression), ``core_norm``, ``bg_norm``,
    ``perp_norm``, ``asymmetry``; the per-neuron arrays ``neuron_iteration`` (S,) (0, T/4,
    T/2, T), ``neuron_p_pos`` and ``neuron_p_neg`` (S, m) (P(pre ≥ 0 | y = ±1) on the ID
    test set at those iterations), ``neuron_core_norm_init``/``_end`` and
    ``neuron_bg_norm_init``/``_end`` (m,); ``seconds`` (wall time of the group of runs it
    trained with) and ``batch_runs`` (the size of that group).

    Runs of one task form one group (one optimizer); groups train one after the other.
    ``threads`` sets torch's intra-op threads for the call; ``log`` receives a progress
    line about every 10% of training.
    """
    setting = setting or NumericalSetting()
    runs = list(runs)
    for r in runs:
        if not isinstance(r, Run):
            raise ValueError(f"runs must be Run instances, got {r!r}")
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        worlds = {(r.seed, r.task == "spheres"): None for r in runs}
        worlds = {key: sample_world(setting, key[0], "spheres" if key[1] else "classification") for key in worlds}
        results: list[dict[str, Any] | None] = [None] * len(runs)
        for task in TASKS:
            order = sorted((i for i, r in enumerate(runs) if r.task == task),
                           key=lambda i: (runs[i].activation != "identity", ACTIVATIONS.index(runs[i].activation),
                                          runs[i].variant, runs[i].seed, i))
            if not order:
                continue
            for i, res in zip(order, _train_group(setting, [runs[i] for i in order], worlds, log)):
                results[i] = res
        return results  # type: ignore[return-value]
    finally:
        if threads is not None:
            torch.set_num_threads(old_threads)


def contamination_curves(activation: str = "relu", iterations: int = 20000, seed: int = 0, variant: str = "code",
                         task: str = "classification", setting: NumericalSetting | None = None,
                         log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The curves of one network (:func:`run_batch`'s result for a single :class:`Run`);
    iteration 0 is the initial network. ``setting`` gives the other sizes (its
    ``iterations`` is replaced by ``iterations``)."""
    setting = replace(setting or NumericalSetting(), iterations=int(iterations))
    return run_batch(setting, [Run(task, activation, variant, seed)], log=log)[0]


# --------------------------------------------------------------------------------------------
# the authors' way, as a reference


def reference_run(setting: NumericalSetting | None, run: Run, iterations: int | None = None,
                  log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One run trained the way the authors' script does: a plain ``nn.Linear(d, m)`` on the
    points x ∈ R^d, autograd, ``torch.optim.SGD`` (AdamW for the spheres), full batch, from
    the same initial network as :func:`run_batch`. Records the curves of :data:`CURVES`
    (perp_norm measured on W) on the same schedule; ``seconds``. The reference for the
    tests and the benchmark's baseline."""
    setting = setting or NumericalSetting()
    T = setting.iterations if iterations is None else int(iterations)
    world = sample_world(setting, run.seed, run.task)
    c = setting.core
    M = torch.from_numpy(world.M).float()
    init = initial_network(setting, run)
    t0 = time.perf_counter()
    spheres, regression = run.task == "spheres", run.task == "regression"
    first = torch.nn.Linear(setting.d, setting.width, bias=run.variant == "code")
    with torch.no_grad():
        first.weight.copy_(init["W"])
        if first.bias is not None:
            first.bias.copy_(init["b"])
    act = {"relu": torch.nn.ReLU(), "identity": torch.nn.Identity(), "gelu": torch.nn.GELU(),
           "sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh()}[run.activation]
    if spheres:
        second = torch.nn.Linear(setting.width, 1)
        with torch.no_grad():
            second.weight.copy_(init["a"][None])
            second.bias.copy_(init["c"])
        model = torch.nn.Sequential(first, act, second)
        opt = torch.optim.AdamW(model.parameters(), lr=setting.adam_lr, weight_decay=setting.adam_weight_decay)
    else:
        head = init["A"] if regression else init["a"][:, None]
        model = torch.nn.Sequential(first, act)
        opt = torch.optim.SGD(first.parameters(), lr=setting.lr, momentum=setting.momentum,
                              weight_decay=setting.weight_decay)

    def out(x: torch.Tensor) -> torch.Tensor:
        h = model(x)
        return h if spheres else h @ head

    def data(split: Split):
        x = torch.from_numpy(world.inputs(split))
        y = torch.from_numpy(split.y)[:, None]
        return x, y, torch.from_numpy(split.z[:, :c]) if regression else None

    def loss_fn(h, y, target):
        if regression:
            return torch.nn.functional.mse_loss(h, target)
        return torch.clamp(1 - y * h, min=0).mean()

    train, id_test, ood_test = data(world.train), data(world.id_test), data(world.ood_test)
    records = set(_record_iterations(T, setting.record_every))
    rec: dict[str, list] = {key: [] for key in CURVES}
    for t in range(T + 1):
        loss = loss_fn(out(train[0]), train[1], train[2])
        if t in records:
            with torch.no_grad():
                row = {"iteration": t, "train_loss": loss.item()}
                for name, (x, y, target) in (("id", id_test), ("ood", ood_test)):
                    h = out(x)
                    row[f"{name}_loss"] = loss_fn(h, y, target).item()
                    row[f"{name}_error"] = float("nan") if regression else (torch.sign(h) != y).float().mean().item()
                V = first.weight @ M
                row["core_norm"] = V[:, :c].norm(dim=1).mean().item()
                row["bg_norm"] = V[:, c:].norm(dim=1).mean().item()
                row["perp_norm"] = (first.weight - V @ M.T).norm(dim=1).mean().item()
                on = (first(id_test[0]) >= 0).float()
                pos = id_test[1][:, 0] > 0
                row["asymmetry"] = (on[pos].mean(0) - on[~pos].mean(0)).abs().mean().item()
            for key in CURVES:
                rec[key].append(row[key])
            if log:
                log(f"reference {run.label}: iteration {t}/{T}: train {row['train_loss']:.4f}, "
                    f"ID {row['id_loss']:.4f}, OOD {row['ood_loss']:.4f}")
        if t == T:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    res: dict[str, Any] = {key: np.asarray(v, dtype=np.float64) for key, v in rec.items()}
    res["iteration"] = res["iteration"].astype(np.int64)
    res["seconds"] = time.perf_counter() - t0
    return res
