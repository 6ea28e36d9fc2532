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

Model (Sec. 3.2, Eq. 2). h(x) = Σ_k a_k σ(⟨w_k, x⟩ + b_k) + c, width m = 256. Two variants:

* ``"code"`` -- as in the authors' released script ``toy.py``: w and b take PyTorch's
  default ``nn.Linear(d, m)`` init (U[±1/√d]) and b is trained; the output layer is an
  ``nn.Linear(m, 1)`` whose weights are overwritten with a_k = +1/m (first half) and −1/m
  (second half) and whose bias c keeps its default draw U[−1/√m, 1/√m]; both frozen
  (``mlp_freeze_output``). Full-batch SGD on the fixed ``n_train`` points, momentum 0.9
  (the script's), learning rate 1e-3, coupled weight decay 1e-3 (PyTorch's semantics:
  g = ∇L + λθ; buf = μ buf + g, buf = g at the first step; θ ← θ − η buf) on every trained
  parameter;
* ``"theory"`` -- as in Sec. 3.2 (Eqs. 2-4): no biases (b ≡ 0, c = 0), w_k ~ N(0, I/d),
  a_k = ±1/m with random signs, frozen; plain SGD (momentum 0) with learning rate 1e-3 and
  weight decay 1e-3 on a **fresh i.i.d. batch** of ``batch_size`` ID points at every
  iteration (Eq. 3: "at each iteration t, we i.i.d. sample a batch"), labels i.i.d.
  uniform (:func:`fresh_batch`). The paper's batch size is a polynomial in d whose value
  our copy lost; by default 1,000, as many points as the code variant's full batch.

σ is one of ``relu``, ``identity`` (the linear network of Thm 4.4), ``gelu``, ``sigmoid``,
``tanh``.

Tasks (:class:`Run`; the loss of each: :data:`TASK_LOSS`).

* ``"classification"`` (Sec. 3.2, Eq. 3): the hinge loss max(0, 1 − y h(x)), the output
  layer frozen.
* ``"regression"`` (App. F.1, representation distillation). *Our reading* of App. F.1, whose
  target vector was lost from our copy: the target is the core coordinates
  t = y z_core ∈ R^32 (the representation that generalises OOD); the output layer is an
  ``nn.Linear(m, 32)`` with its default init (U[±1/√m], with bias), **trained** with the
  first layer (a frozen ±1/m head over 32 outputs barely moves in 20,000 steps: its risk
  stayed at 0.27 against 0.33 for predicting zero); the loss is the squared Euclidean
  distance ‖h(x) − t‖², averaged over the points (App. E describes representation
  distillation as minimising the Euclidean distance between representations; the mean
  over the 32 outputs, ``nn.MSELoss``'s, divides every gradient by 32 and leaves the
  network at 19% of the zero predictor's risk after 10,000 steps); the SGD of the variant.
  Its risk is that squared distance, reported beside the zero predictor's,
  E‖t‖² = 32/3 (measured on each test set); the 0-1 error is not defined (NaN).
* ``"spheres"`` (Fig 3d, App. F.1 and Fig 10, the extension to a non-linearly-separable
  concept), the released script's defaults: z_core = r_y u with u uniform on the unit
  sphere of R^32, r = 1 for y = +1 and r = 2 for y = −1; background as above. Both
  layers trained, with biases, from PyTorch's default init of ``nn.Linear(d, m)`` and
  ``nn.Linear(m, 1)``; the logistic loss mean log(1 + exp(−y h(x))); AdamW with learning
  rate 1e-3 and weight decay 1e-3 (betas (0.9, 0.999), eps 1e-8), full batch. Its risks
  are logistic risks.

Measures, every ``record_every`` iterations (iteration 0 = the initial network): the training
loss; the ID and OOD test risk (the task's loss) and 0-1 error (sign h ≠ y); core_norm =
mean_k ‖(⟨w_k, m_j⟩)_{j∈core}‖₂ and bg_norm = the same over the background (the norms the
released script plots); asymmetry = mean_k |P(⟨w_k,x⟩ + b_k ≥ 0 | y=+1) − P(⟨w_k,x⟩ + b_k ≥ 0
| y=−1)| on the ID test set (Thm 4.1, Eq. 5); perp_norm = mean_k of the norm of w_k's
component orthogonal to the dictionary.

**Signed projections** (Thm 4.2, Eq. 8, and Eq. 7's "positive gradient projection onto every
background feature regardless of its correlation with the label"). The neurons that count
for class y ∈ {+1, −1} are N_y = {k : s_k = y and P(⟨w_k, x⟩ + b_k ≥ 0 | y) > P(⟨w_k, x⟩ +
b_k ≥ 0 | −y)}, chosen once at initialisation on the ID test set: Def. A.4's neurons that
correlate with class y and contribute to its output (y a_k > 0), the "lottery tickets"
the proof follows from t = 0, and a set fixed before training, so that its change cannot be
selected for. s_k is the sign of a_k (at initialisation: the spheres train a), and for the
regression's matrix head sign(Σ_c A_kc) at initialisation, the sign of neuron k's
contribution to the class-conditional mean target E[t | y] = y/2·1 (our reading). The
rule depends on a_k's sign because Eq. 7's background gradient of neuron k is a_k times
(the class-y activation mass − the class-(−y) mass): a neuron active on the class its
output weight opposes is pushed the other way. Recorded:

    bg_signed_pos = mean_{k∈N_{+1}} mean_{j∈bg} (⟨w_k^(t), m_j⟩ − ⟨w_k^(0), m_j⟩),
    bg_signed_neg = the same over N_{−1},   bg_signed = (bg_signed_pos + bg_signed_neg)/2,
    core_signed = (mean_{N_{+1}, core} Δ⟨w_k, m_j⟩ − mean_{N_{−1}, core} Δ⟨w_k, m_j⟩)/2,

each class weighted equally (NaN for an empty set), and per neuron the mean of ⟨w_k, m_j⟩
over the background at initialisation and at the end, N_y membership and s_k. Per neuron
also: the class-conditional activation probabilities at init, 1/4, 1/2 and the end of
training (the histograms of Fig 7), and the core and background projection norms at init
and at the end.

Speed: many runs as one batched model (:func:`run_batch`). Runs (seeds × activations) that
share a task and a variant (so an optimizer) train side by side: first layers (R, ·, m),
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

where g_i = ∂L/∂(W x_i + b). SGD with momentum (μ ≥ 0, so plain SGD too) and coupled weight
decay is linear in (θ, buf, ∇L) and commutes with right-multiplication by M: with
g = ∇_W L + λW,

    g M = ∇_V L + λ V,     (buf M) ← μ (buf M) + g M,     V ← V − η (buf M),

which is the same optimizer run on the loss as a function of V, started from V_0 = W_0 M and
a zero buffer. This holds batch by batch, so for the theory variant's fresh batches as for
the full batch. So the SGD runs train the d0 = 64 coordinates instead of the d = 256 of w_k
(4× fewer flops in the products with the data), initialised with W_0 M from the full-space
init: the numbers are those of the full model (up to float rounding), not merely the same
distribution. The regression's output layer is trained in its own coordinates. The
component orthogonal to the dictionary, W(I − MMᵀ), gets no data gradient and only decays:
it is multiplied by :func:`momentum_decay_factor` after t steps (μ = 0.9 in the code
variant, 0 in the theory variant), and it affects neither the outputs nor the projections
(perp_norm is recorded from that closed form). Adam's per-coordinate normalisation √v̂ is
taken in the canonical basis of R^d and does not commute with the rotation, so the AdamW
runs (spheres) keep W in the full R^d; their products with the data still go through the
coordinates (X Wᵀ = Z (W M)ᵀ, ∇_W L = (∇_V L) Mᵀ), exact up to float rounding. (AdamW's
trajectories here are sensitive at the float-rounding level: a relative change of 1e-7 in
the initial weights moves the losses by 1e-3..1e-2 within a few hundred steps, in the plain
full-space model as much as here.)

Random streams of a seed: the dictionary ``default_rng([seed, 0])``; training, ID test and
OOD test sets ``[seed, 1, t]``, ``[seed, 2, t]``, ``[seed, 3, t]`` (t = 0 for the
classification/regression world, 1 for the spheres); the first layer a torch generator
seeded from ``[seed, 4, v]`` (v = 0 code, 1 theory), so the activations and tasks of a seed
share their initial first layer; the signs of a (theory) ``[seed, 5]``; the regression's
output layer ``nn.Linear(m, 32)`` (weight, then bias) from a torch generator seeded from
``[seed, 6]``; the spheres' second layer ``[seed, 7]``; the code variant's frozen output
bias c, the bias of an ``nn.Linear(m, 1)`` drawn (weight, then bias) from a torch generator
seeded from ``[seed, 8]``; the theory variant's fresh batches, one torch generator seeded
from ``[seed, 9]`` per seed whose (t + 1)-th ``torch.rand(B, 1 + d0)`` is batch t
(:func:`theory_batches`, :func:`fresh_batch`), shared by the tasks and activations of the
seed. (A torch seed from a key is ``default_rng(key).integers(2**62)``.) A run's numbers
therefore do not depend on the batch it trains in.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .setting import ACTIVATIONS, CURVES, TASKS, VARIANTS, NumericalSetting, Run

__all__ = ["ACTIVATIONS", "CURVES", "LOSSES", "TASKS", "TASK_LOSS", "VARIANTS", "NumericalSetting", "Run", "Split",
           "World", "class_sets", "contamination_curves", "dictionary", "forward", "fresh_batch", "gradients",
           "initial_network", "momentum_decay_factor", "reference_run", "run_batch", "sample_world",
           "signed_projections", "theory_batches", "zero_risk"]



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
    never trained, in the theory variant), and the second layer: ``a`` (m,) for
    classification and spheres, ``A`` (m, core) for regression; ``c`` the output bias
    (a scalar, or (core,) for regression), absent in the theory variant's classification
    network (Eq. 2 has none). Random streams: module docstring."""
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
    elif run.task == "regression":  # nn.Linear(m, core), trained (our reading of App. F.1)
        A, c = _linear_default(setting.core, m, torch.Generator().manual_seed(_torch_seed(run.seed, 6)))
        out.update(A=A.T.contiguous(), c=c)
    elif run.variant == "code":
        # the released script: nn.Linear(m, 1) whose weights are overwritten with ±1/m and whose
        # bias keeps its default draw U[±1/√m]; both frozen
        out["a"] = torch.cat([torch.full((m - m // 2,), 1.0 / m), torch.full((m // 2,), -1.0 / m)])
        out["c"] = _linear_default(1, m, torch.Generator().manual_seed(_torch_seed(run.seed, 8)))[1][0]
    else:
        signs = np.random.default_rng([run.seed, 5]).choice(np.array([-1.0, 1.0]), size=m)
        out["a"] = torch.from_numpy(signs / m).float()
    return out


def theory_batches(seed: int) -> torch.Generator:
    """The generator of the theory variant's fresh batches for ``seed``: a torch generator
    seeded from ``[seed, 9]`` (module docstring); :func:`fresh_batch` draws batch t as its
    (t + 1)-th draw."""
    return torch.Generator().manual_seed(_torch_seed(seed, 9))


def fresh_batch(setting: NumericalSetting, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One i.i.d. batch of ``setting.batch_size`` ID points (Zhang et al. (ICML 2024),
    Def. 3.1 and Sec. 3.2, Eq. 3): u = ``torch.rand(B, 1 + d0, generator=generator)``; the
    label y = +1 where u[:, 0] < 1/2, else −1; z = u[:, 1:] with the core coordinates
    multiplied by y (z_j ~ U[0, 1] for every j). Returns (z (B, d0), y (B,)), float32."""
    u = torch.rand(setting.batch_size, 1 + setting.features, generator=generator)
    y = torch.where(u[:, 0] < 0.5, 1.0, -1.0)
    z = u[:, 1:].clone()
    z[:, :setting.core] *= y[:, None]
    return z, y


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
    pass, both ∂L/∂V and ∂L/∂b. ``out_bias`` (R,) or (R, c) or None."""
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


#: The loss of each task: the hinge loss of Sec. 3.2, Eq. 3 (classification), the mean
#: squared error (regression, App. F.1), the released script's logistic loss (spheres).
TASK_LOSS: dict[str, str] = {"classification": "hinge", "regression": "squared", "spheres": "logistic"}
LOSSES: tuple[str, ...] = ("hinge", "logistic", "squared")


def _loss_dh(h: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None, loss: str
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-network loss (R,) and ∂L/∂h: the hinge loss mean_i max(0, 1 − y_i h_i), the
    logistic loss mean_i log(1 + exp(−y_i h_i)) (the released script's ``LogisticLoss``,
    computed as softplus), or the squared error against ``target``, mean_i ‖h_i − t_i‖²
    (summed over the outputs, averaged over the points: the squared Euclidean distance of
    representation distillation, App. E)."""
    if loss == "hinge":
        margin = 1.0 - y * h
        return margin.clamp_min(0.0).mean(1), torch.where(margin > 0, -y, torch.zeros_like(y)) / y.shape[1]
    if loss == "logistic":
        u = -y * h
        return torch.nn.functional.softplus(u).mean(1), -y * torch.sigmoid(u) / y.shape[1]
    if loss == "squared":
        diff = h - target
        return diff.square().sum(2).mean(1), diff * (2.0 / diff.shape[1])
    raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")


def _head_gradients(act_or_pre: torch.Tensor, dh: torch.Tensor, matrix: bool) -> dict[str, torch.Tensor]:
    """∂L/∂(second layer) and ∂L/∂(output bias) from the hidden layer (R, N, m) and ∂L/∂h."""
    if matrix:
        return {"head": torch.bmm(act_or_pre.transpose(1, 2), dh), "out_bias": dh.sum(1)}
    return {"head": torch.bmm(dh.unsqueeze(1), act_or_pre).squeeze(1), "out_bias": dh.sum(1)}


def _nonlinear_block(parts, z1, y, P, head, out_bias, target, train_head, loss) -> dict[str, torch.Tensor]:
    pre, act, h = _forward(parts, z1, P, head, out_bias)
    value, dh = _loss_dh(h, y, target, loss)
    out = {"loss": value}
    matrix = head.dim() == 3
    if train_head:
        out.update(_head_gradients(act, dh, matrix))
    if not matrix:
        # scalar head: ∂L/∂P_jk = a_k Σ_i z1_ij ∂L/∂h_i σ'(pre_ik) -- the N×m factor is σ'
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


def _linear_block(z1, y, P, head, out_bias, target, train_head, loss) -> dict[str, torch.Tensor]:
    """The identity activation: h = z1 (P a) (or z1 (P A)) and ∂L/∂P = (z1ᵀ ∂L/∂h) aᵀ, the
    same products associated the other way round, without the (N, m) intermediates."""
    matrix = head.dim() == 3
    h = torch.bmm(z1, torch.bmm(P, head)) if matrix else torch.bmm(z1, torch.bmm(P, head.unsqueeze(2))).squeeze(2)
    if out_bias is not None:
        h = h + out_bias.unsqueeze(1)
    value, dh = _loss_dh(h, y, target, loss)
    q = torch.bmm(z1.transpose(1, 2), dh if matrix else dh.unsqueeze(2))  # (R, d0 + 1, c or 1)
    out = {"loss": value, "P": torch.bmm(q, head.transpose(1, 2)) if matrix else q * head.unsqueeze(1)}
    if train_head:  # ∂L/∂a_k = Σ_i ∂L/∂h_i pre_ik = (Pᵀ z1ᵀ ∂L/∂h)_k
        out["head"] = torch.bmm(P.transpose(1, 2), q) if matrix else torch.bmm(q.transpose(1, 2), P).squeeze(1)
        out["out_bias"] = dh.sum(1)
    return out


def _loss_and_gradient(parts: list[tuple[str, slice]], z1: torch.Tensor, y: torch.Tensor, P: torch.Tensor,
                       head: torch.Tensor, out_bias: torch.Tensor | None, target: torch.Tensor | None,
                       train_head: bool, loss: str) -> dict[str, torch.Tensor]:
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
                None if target is None else target[sl], train_head, loss)
        outs.append(_linear_block(*args) if sub[0][0] == "identity" else _nonlinear_block(sub, *args))
    if len(outs) == 1:
        return outs[0]
    return {key: torch.cat([o[key] for o in outs]) for key in outs[0]}


def forward(activation: str | Sequence[str], z: torch.Tensor, coords: torch.Tensor, bias: torch.Tensor,
            head: torch.Tensor, out_bias: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """R two-layer networks in dictionary coordinates (module docstring): z (R, N, d0),
    coords V (R, m, d0) (V_kj = ⟨w_k, m_j⟩), bias (R, m), head a (R, m) or A (R, m, c),
    out_bias (R,) or (R, c) or None; ``activation`` one name, or one per network (networks
    of one activation contiguous). Returns the pre-activations (R, N, m), the activations
    and the output h (R, N) or (R, N, c)."""
    names = [activation] * len(z) if isinstance(activation, str) else list(activation)
    return _forward(_slices(names), _with_ones(z), _first_layer(coords, bias), head, out_bias)


def gradients(activation: str | Sequence[str], z: torch.Tensor, y: torch.Tensor, coords: torch.Tensor,
              bias: torch.Tensor, head: torch.Tensor, out_bias: torch.Tensor | None = None,
              target: torch.Tensor | None = None, train_head: bool = False, loss: str | None = None
              ) -> dict[str, torch.Tensor]:
    """The batch loss of each of R networks (:func:`forward`'s arguments; y (R, N)) and its
    gradient. ``loss``: ``"hinge"`` (Zhang et al. (ICML 2024), Eq. 3; the default without
    ``target``), ``"logistic"`` (the released script's), or ``"squared"`` against ``target``
    (R, N, c) (the default with it). No weight decay term.

    Returns ``loss`` (R,), ``coords`` ∂L/∂V (R, m, d0) -- row k holds the gradient
    projections ⟨∇_{w_k} L, m_j⟩ of Eq. 7 --, ``bias`` ∂L/∂b (R, m), and with
    ``train_head`` the second layer's ``head`` (∂L/∂a or ∂L/∂A) and ``out_bias``."""
    names = [activation] * len(z) if isinstance(activation, str) else list(activation)
    loss = loss or ("hinge" if target is None else "squared")
    if (loss == "squared") != (target is not None):
        raise ValueError(f"loss {loss!r} {'needs' if loss == 'squared' else 'takes no'} target")
    g = _loss_and_gradient(_slices(names), _with_ones(z), y, _first_layer(coords, bias), head, out_bias, target,
                           train_head, loss)
    gP = g.pop("P")
    return {**g, "coords": gP[:, :-1].transpose(1, 2), "bias": gP[:, -1]}


def _evaluate(parts, split: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None], P, head,
              out_bias, loss: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(risk (R,), 0-1 error (R,), pre-activations (R, N, m)) on a split (z1, y, target)."""
    z1, y, target = split
    pre, _, h = _forward(parts, z1, P, head, out_bias)
    risk, _ = _loss_dh(h, y, target, loss)
    if target is None:
        error = (torch.sign(h) != y).float().mean(1)
    else:
        error = torch.full_like(risk, float("nan"))
    return risk, error, pre


def zero_risk(y: np.ndarray, target: np.ndarray | None, loss: str) -> float:
    """The risk of the predictor h ≡ 0 on a split: 1 (hinge), log 2 (logistic), or the mean of
    the squared norm of the target (squared error), the baseline a trained network's risk is read against."""
    if loss == "hinge":
        return 1.0
    if loss == "logistic":
        return math.log(2.0)
    t = np.asarray(target, dtype=np.float64)
    return float(np.mean(np.sum(np.square(t), axis=-1)))


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


def _class_sign(init: dict[str, torch.Tensor]) -> torch.Tensor:
    """s_k (m,): the class neuron k's output weight votes for at initialisation -- sign(a_k),
    or for the regression's matrix head sign(Σ_c A_kc), the sign of its contribution to the
    class-conditional mean target E[y z_core | y] = y/2 (our reading)."""
    return torch.sign(init["a"] if "a" in init else init["A"].sum(1))


def class_sets(sign: torch.Tensor, p_pos: torch.Tensor, p_neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The neurons that count for each class (module docstring; Thm 4.1, Def. A.4):
    N_{+1} = {k : s_k > 0 and P(active | y=+1) > P(active | y=−1)}, N_{−1} = {k : s_k < 0 and
    P(active | y=−1) > P(active | y=+1)}, as float64 masks of the shape of ``sign``."""
    return ((sign > 0) & (p_pos > p_neg)).double(), ((sign < 0) & (p_neg > p_pos)).double()


def signed_projections(delta: torch.Tensor, in_pos: torch.Tensor, in_neg: torch.Tensor, core: int
                       ) -> dict[str, np.ndarray]:
    """The signed projections of the module docstring from ``delta`` (..., m, d0), the change
    ⟨w_k^(t), m_j⟩ − ⟨w_k^(0), m_j⟩, and the class masks (..., m) of :func:`class_sets`:
    ``bg_signed_pos``, ``bg_signed_neg`` (the mean over N_y and the background), ``bg_signed``
    (their average), ``core_signed`` (the average of y times the mean over N_y and the core);
    NaN where a set is empty."""
    delta = delta.double()
    d_bg, d_core = delta[..., core:].mean(-1), delta[..., :core].mean(-1)
    n_pos, n_neg = in_pos.sum(-1), in_neg.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        bg_pos = ((d_bg * in_pos).sum(-1) / n_pos).numpy()
        bg_neg = ((d_bg * in_neg).sum(-1) / n_neg).numpy()
        core_pos = ((d_core * in_pos).sum(-1) / n_pos).numpy()
        core_neg = -((d_core * in_neg).sum(-1) / n_neg).numpy()
    return {"bg_signed": 0.5 * (bg_pos + bg_neg), "bg_signed_pos": bg_pos, "bg_signed_neg": bg_neg,
            "core_signed": 0.5 * (core_pos + core_neg)}


def _train_group(setting: NumericalSetting, runs: Sequence[Run], worlds: dict[tuple[int, bool], World],
                 log: Callable[[str], None] | None) -> list[dict[str, Any]]:
    """Train runs of one task and one variant side by side (networks of one activation
    contiguous); one result dict per run."""
    t0 = time.perf_counter()
    task, variant = runs[0].task, runs[0].variant
    R, k, c, T = len(runs), setting.features, setting.core, setting.iterations
    parts = _slices([r.activation for r in runs])
    spheres, regression, theory = task == "spheres", task == "regression", variant == "theory"
    loss = TASK_LOSS[task]

    def stack(split_name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(z1, y, target) of all runs, one contiguous copy per run (a stride-0 batch
        dimension makes the batched products slower)."""
        splits = [getattr(worlds[(r.seed, spheres)], split_name) for r in runs]
        z = torch.from_numpy(np.stack([s.z for s in splits]))
        y = torch.from_numpy(np.stack([s.y for s in splits]))
        return _with_ones(z), y, (z[..., :c].contiguous() if regression else None)

    id_test, ood_test = stack("id_test"), stack("ood_test")
    zero = {name: [zero_risk(s[1][i].numpy(), None if s[2] is None else s[2][i].numpy(), loss) for i in range(R)]
            for name, s in (("id", id_test), ("ood", ood_test))}
    if theory:  # a fresh batch at every iteration, one stream per seed (module docstring)
        B = setting.batch_size
        train = (torch.ones(R, B, k + 1), torch.empty(R, B), torch.empty(R, B, c) if regression else None)
        seeds = sorted({r.seed for r in runs})
        gens = {s: theory_batches(s) for s in seeds}
        rows = {s: [i for i, r in enumerate(runs) if r.seed == s] for s in seeds}

        def draw() -> None:
            for s in seeds:
                z, y = fresh_batch(setting, gens[s])
                for i in rows[s]:
                    train[0][i, :, :k] = z
                    train[1][i] = y
                    if regression:
                        train[2][i] = z[:, :c]
    else:
        train = stack("train")

        def draw() -> None:
            pass

    Ms = [worlds[(r.seed, spheres)].M for r in runs]
    inits = [initial_network(setting, r) for r in runs]
    W0 = [i["W"].double().numpy() for i in inits]
    bias = torch.stack([i["b"] for i in inits])
    sign = torch.stack([_class_sign(i) for i in inits])  # (R, m)
    out_bias = torch.stack([i["c"] for i in inits]) if "c" in inits[0] else None
    train_head = spheres or regression
    if spheres:  # full-space Wᵀ (R, d, m); AdamW on (Wᵀ, b, a, c)
        M = torch.from_numpy(np.stack(Ms)).float()  # (R, d, d0)
        Mt = M.transpose(1, 2).contiguous()
        WT = torch.stack([i["W"].T for i in inits]).contiguous()
        head = torch.stack([i["a"] for i in inits])
        opt = _optimizer(torch.optim.AdamW, [WT, bias, head, out_bias], lr=setting.adam_lr,
                         weight_decay=setting.adam_weight_decay)
        momentum = None

        def first_layer() -> torch.Tensor:
            return torch.cat([torch.bmm(Mt, WT), bias.unsqueeze(1)], dim=1)  # [W M | b]ᵀ
    else:  # dictionary coordinates P = [V | b]ᵀ, SGD (code: momentum; theory: plain, Eq. 4)
        V0 = torch.from_numpy(np.stack([w @ m for w, m in zip(W0, Ms)])).float()  # W_0 M, (R, m, d0)
        P = _first_layer(V0, bias)
        head = torch.stack([i["A"] if regression else i["a"] for i in inits])
        momentum = 0.0 if theory else setting.momentum
        params = [P] + ([head, out_bias] if regression else [])
        opt = _optimizer(torch.optim.SGD, params, lr=setting.lr, momentum=momentum,
                         weight_decay=setting.weight_decay)
        perp0 = np.array([np.linalg.norm(w - (w @ m) @ m.T, axis=1).mean() for w, m in zip(W0, Ms)])

        def first_layer() -> torch.Tensor:
            return P

    records = set(_record_iterations(T, setting.record_every))
    snaps = set(_snapshots(T))
    rec: dict[str, list] = {key: [] for key in CURVES}
    snap_pos, snap_neg = [], []
    norms0 = None
    log_every, next_log = max(1, T // 10), 0
    label = f"{task}/{variant} ({R} run{'s' if R != 1 else ''})"
    t_train = time.perf_counter()
    with torch.no_grad():
        for t in range(T + 1):
            draw()
            cur = first_layer()
            g = _loss_and_gradient(parts, train[0], train[1], cur, head, out_bias, train[2], train_head, loss)
            if t in records or t in snaps:
                id_risk, id_err, id_pre = _evaluate(parts, id_test, cur, head, out_bias, loss)
                p_pos, p_neg = _class_activation(id_pre, id_test[1])
                if t in snaps:
                    snap_pos.append(p_pos.numpy().copy())
                    snap_neg.append(p_neg.numpy().copy())
                core_k, bg_k = cur[:, :c].norm(dim=1), cur[:, c:k].norm(dim=1)
                if t == 0:
                    norms0 = (core_k.numpy().copy(), bg_k.numpy().copy())
                    V_init = cur[:, :k].clone()  # (R, d0, m)
                    in_pos, in_neg = class_sets(sign, p_pos, p_neg)  # Thm 4.1 / Def. A.4 at t = 0
                    n_pos, n_neg = in_pos.sum(1), in_neg.sum(1)
                    bg_rms0 = V_init[:, c:].double().square().mean((1, 2)).sqrt().numpy()
                if t in records:
                    ood_risk, ood_err, _ = _evaluate(parts, ood_test, cur, head, out_bias, loss)
                    if spheres:  # ‖w_k − M Mᵀ w_k‖
                        perp = (WT - torch.bmm(M, cur[:, :k])).norm(dim=1).mean(1).numpy()
                    else:
                        perp = momentum_decay_factor(setting.lr, momentum, setting.weight_decay, t) * perp0
                    signed = signed_projections((cur[:, :k] - V_init).transpose(1, 2), in_pos, in_neg, c)
                    for key, val in (("iteration", np.full(R, t)), ("train_loss", g["loss"]),
                                     ("id_loss", id_risk), ("ood_loss", ood_risk), ("id_error", id_err),
                                     ("ood_error", ood_err), ("core_norm", core_k.mean(1)),
                                     ("bg_norm", bg_k.mean(1)), ("perp_norm", perp),
                                     ("asymmetry", (p_pos - p_neg).abs().mean(1)),
                                     *signed.items(), ("id_zero_risk", zero["id"]),
                                     ("ood_zero_risk", zero["ood"])):
                        rec[key].append(np.asarray(val, dtype=np.float64))
                    if log and (t >= next_log or t == T):
                        el = time.perf_counter() - t_train
                        log(f"{label}: iteration {t}/{T}: train {g['loss'].mean():.4f}, ID {id_risk.mean():.4f}, "
                            f"OOD {ood_risk.mean():.4f}, bg_norm {bg_k.mean():.4f}, "
                            f"bg_signed {np.nanmean(rec['bg_signed'][-1]):+.5f} (means over the runs); "
                            f"{el:.1f} s, {t / el if el > 0 else 0.0:.0f} it/s")
                        next_log = (t // log_every + 1) * log_every
            if t == T:
                break
            if spheres:
                WT.grad = torch.bmm(M, g["P"][:, :k])  # ∇_W L = (∇_V L) Mᵀ, transposed
                bias.grad, head.grad, out_bias.grad = g["P"][:, k].contiguous(), g["head"], g["out_bias"]
            else:
                if theory:
                    g["P"][:, k] = 0.0  # the theory variant has no bias: it stays 0
                P.grad = g["P"]
                if regression:
                    head.grad, out_bias.grad = g["head"], g["out_bias"]
            opt.step()
        end = first_layer()
    seconds = time.perf_counter() - t0
    core_end, bg_end = end[:, :c].norm(dim=1).numpy(), end[:, c:k].norm(dim=1).numpy()
    results = []
    for i in range(R):
        res: dict[str, Any] = {key: np.array([v[i] for v in rec[key]]) for key in CURVES}
        res["iteration"] = res["iteration"].astype(np.int64)
        cls = (in_pos[i] - in_neg[i]).numpy().astype(np.int64)
        res.update(neuron_iteration=np.array(sorted(snaps), dtype=np.int64),
                   neuron_p_pos=np.stack([p[i] for p in snap_pos]).astype(np.float64),
                   neuron_p_neg=np.stack([p[i] for p in snap_neg]).astype(np.float64),
                   neuron_core_norm_init=norms0[0][i].astype(np.float64),
                   neuron_core_norm_end=core_end[i].astype(np.float64),
                   neuron_bg_norm_init=norms0[1][i].astype(np.float64),
                   neuron_bg_norm_end=bg_end[i].astype(np.float64),
                   neuron_class=cls, neuron_sign=sign[i].numpy().astype(np.int64),
                   neuron_bg_signed_init=V_init[i, c:].double().mean(0).numpy(),
                   neuron_bg_signed_end=end[i, c:k].double().mean(0).numpy(),
                   coords_end=end[i, :k].T.double().numpy().copy(), bias_end=end[i, k].double().numpy().copy(),
                   head_end=head[i].double().numpy().copy(),
                   out_bias_end=None if out_bias is None else out_bias[i].double().numpy().copy(),
                   n_pos_neurons=int(n_pos[i]), n_neg_neurons=int(n_neg[i]), bg_init_rms=float(bg_rms0[i]),
                   seconds=seconds, batch_runs=R)
        results.append(res)
    return results


def run_batch(setting: NumericalSetting | None, runs: Sequence[Run], log: Callable[[str], None] | None = None,
              threads: int | None = None) -> list[dict[str, Any]]:
    """Train ``runs`` side by side (module docstring) and return one result per run, in
    the order given.

    A result holds the curves (:data:`CURVES`, equal-length 1-D arrays, one entry per
    recorded iteration: 0, ``record_every``, ..., ``iterations``): ``iteration``,
    ``train_loss`` (on the full training set, or on the iteration's fresh batch in the
    theory variant), ``id_loss``, ``ood_loss`` (the task's risk: hinge, MSE or logistic,
    :data:`TASK_LOSS`), ``id_error``, ``ood_error`` (0-1 error; NaN for regression),
    ``core_norm``, ``bg_norm``, ``perp_norm``, ``asymmetry``, the signed projections
    ``bg_signed``, ``bg_signed_pos``, ``bg_signed_neg``, ``core_signed`` (module docstring)
    and the zero predictor's risks ``id_zero_risk``, ``ood_zero_risk`` (constant); the
    per-neuron arrays ``neuron_iteration`` (S,) (0, T/4, T/2, T), ``neuron_p_pos`` and
    ``neuron_p_neg`` (S, m) (P(pre ≥ 0 | y = ±1) on the ID test set at those iterations),
    ``neuron_core_norm_init``/``_end``, ``neuron_bg_norm_init``/``_end``,
    ``neuron_bg_signed_init``/``_end`` (the mean of ⟨w_k, m_j⟩ over the background),
    ``neuron_class`` (+1: in N_{+1}, −1: in N_{−1}, 0: neither) and ``neuron_sign`` (s_k),
    all (m,); the final ``coords_end`` (m, d0), ``bias_end`` (m,), ``head_end``,
    ``out_bias_end``; ``n_pos_neurons``, ``n_neg_neurons``, ``bg_init_rms`` (the rms of the
    initial background projections); ``seconds`` (wall time of the group of runs it trained
    with) and ``batch_runs`` (the size of that group).

    Runs of one task and variant form one group (one optimizer); groups train one after the
    other. ``threads`` sets torch's intra-op threads for the call; ``log`` receives a
    progress line about every 10% of training.
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
            for variant in VARIANTS:
                order = sorted((i for i, r in enumerate(runs) if r.task == task and r.variant == variant),
                               key=lambda i: (runs[i].activation != "identity",
                                              ACTIVATIONS.index(runs[i].activation), runs[i].seed, i))
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
    """One run trained the way the authors' script does: plain ``nn.Linear`` layers on the
    points x ∈ R^d, autograd, ``torch.optim.SGD`` (AdamW for the spheres), from the same
    initial network as :func:`run_batch`: the code variant's classification head an
    ``nn.Linear(m, 1)`` with weights ±1/m and its default-initialised bias, both frozen; the
    regression's an ``nn.Linear(m, core)``, trained; the theory variant without biases,
    with momentum 0, on the fresh batches of :func:`fresh_batch`. Records the curves of
    :data:`CURVES` (perp_norm measured on W) on the same schedule; ``seconds``. The
    reference for the tests and the benchmark's baseline."""
    setting = setting or NumericalSetting()
    T = setting.iterations if iterations is None else int(iterations)
    world = sample_world(setting, run.seed, run.task)
    c = setting.core
    M = torch.from_numpy(world.M).float()
    init = initial_network(setting, run)
    loss_name = TASK_LOSS[run.task]
    t0 = time.perf_counter()
    spheres, regression, theory = run.task == "spheres", run.task == "regression", run.variant == "theory"
    first = torch.nn.Linear(setting.d, setting.width, bias=not theory)
    with torch.no_grad():
        first.weight.copy_(init["W"])
        if first.bias is not None:
            first.bias.copy_(init["b"])
    act = {"relu": torch.nn.ReLU(), "identity": torch.nn.Identity(), "gelu": torch.nn.GELU(),
           "sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh()}[run.activation]
    outputs = c if regression else 1
    second = torch.nn.Linear(setting.width, outputs, bias="c" in init)
    with torch.no_grad():
        second.weight.copy_(init["A"].T if regression else init["a"][None])
        if second.bias is not None:
            second.bias.copy_(init["c"].reshape(outputs))
    model = torch.nn.Sequential(first, act, second)
    if spheres:
        opt = torch.optim.AdamW(model.parameters(), lr=setting.adam_lr, weight_decay=setting.adam_weight_decay)
    else:
        second.requires_grad_(regression)  # frozen in classification (Sec. 3.2; the released script)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=setting.lr,
                              momentum=0.0 if theory else setting.momentum, weight_decay=setting.weight_decay)

    def out(x: torch.Tensor) -> torch.Tensor:
        h = model(x)
        return h if regression else h[:, 0]

    def loss_fn(h, y, target):
        if loss_name == "squared":  # the squared Euclidean distance, averaged over the points
            return (h - target).square().sum(1).mean()
        if loss_name == "logistic":  # the released script's LogisticLoss
            return torch.mean(torch.log(1 + torch.exp(-y * h)))
        return torch.clamp(1 - y * h, min=0).mean()

    def data(z: np.ndarray, y: np.ndarray):
        x = torch.from_numpy((z.astype(np.float64) @ world.M.T).astype(np.float32))
        return x, torch.from_numpy(y), torch.from_numpy(np.ascontiguousarray(z[:, :c])) if regression else None

    id_test, ood_test = data(world.id_test.z, world.id_test.y), data(world.ood_test.z, world.ood_test.y)
    train = data(world.train.z, world.train.y)
    gen = theory_batches(run.seed) if theory else None
    records = set(_record_iterations(T, setting.record_every))
    rec: dict[str, list] = {key: [] for key in CURVES}
    sign = _class_sign(init)
    for t in range(T + 1):
        if theory:
            z, y = fresh_batch(setting, gen)
            train = data(z.numpy(), y.numpy())
        loss = loss_fn(out(train[0]), train[1], train[2])
        if t in records:
            with torch.no_grad():
                row = {"iteration": t, "train_loss": loss.item()}
                for name, (x, y, target) in (("id", id_test), ("ood", ood_test)):
                    h = out(x)
                    row[f"{name}_loss"] = loss_fn(h, y, target).item()
                    row[f"{name}_error"] = float("nan") if regression else (torch.sign(h) != y).float().mean().item()
                    row[f"{name}_zero_risk"] = zero_risk(y.numpy(), None if target is None else target.numpy(),
                                                         loss_name)
                V = first.weight @ M
                row["core_norm"] = V[:, :c].norm(dim=1).mean().item()
                row["bg_norm"] = V[:, c:].norm(dim=1).mean().item()
                row["perp_norm"] = (first.weight - V @ M.T).norm(dim=1).mean().item()
                on = (first(id_test[0]) >= 0).float()
                pos = id_test[1] > 0
                p_pos, p_neg = on[pos].mean(0), on[~pos].mean(0)
                row["asymmetry"] = (p_pos - p_neg).abs().mean().item()
                if t == 0:
                    V0 = V.clone()
                    in_pos, in_neg = (sign > 0) & (p_pos > p_neg), (sign < 0) & (p_neg > p_pos)
                d = (V - V0).double()
                bg_pos, bg_neg = d[in_pos, c:].mean().item(), d[in_neg, c:].mean().item()
                row.update(bg_signed_pos=bg_pos, bg_signed_neg=bg_neg, bg_signed=0.5 * (bg_pos + bg_neg),
                           core_signed=0.5 * (d[in_pos, :c].mean().item() - d[in_neg, :c].mean().item()))
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
    res["model"] = model
    return res
