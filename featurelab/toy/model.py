"""The toy setting of Duzgun, Jelassi, Li ("How Does Overparameterization Affect Features?", arXiv
2407.00968, 2024, §4 and App. C): wide networks learn features that a concatenation of narrow
networks cannot.

Model (:class:`PatchMLP`). A 4-hidden-layer ReLU MLP whose first layer acts on every
patch with the same weights W ∈ R^{m×d} and a fixed bias b > 0 subtracted from the
pre-activation,

    h_r(x) = Σ_p ReLU(⟨W_r, x_p⟩ − b),     r = 1..m,

followed by three ReLU layers of width ``hidden`` (with biases) and a scalar output f(x).
W_r ~ N(0, σ² I_d) with σ small against b, so that a neuron is rarely activated by a
signal vector at initialisation (⟨W_r, w_j⟩ ~ N(0, σ²) must exceed b); the other layers
take Kaiming-normal weights and zero biases. One :class:`PatchMLP` holds ``n_nets``
independent networks side by side (batched matrix products), so that the n narrow
networks of a concatenation train in one pass; each network has its own loss, gradient
and normalisation.

Training (:func:`train`). Logistic (binary cross-entropy) loss on mini-batches and
*normalised SGD with weight decay*: for every network k, with θ_k all its trainable
parameters (W, the upper weights and biases; b is a constant),

    g_k = ∇_θk [ L_k(θ_k) + (λ/2) ‖θ_k‖² ],      θ_k ← θ_k − η g_k / ‖g_k‖,

η = 0.002, λ = 0.003 in the paper (:func:`normalized_sgd_step`). Weight decay is inside
the normalised gradient: a neuron that no patch activates gets only the decay term and
keeps shrinking, so it is never activated again (App. C).

Width conditions (:func:`run_condition`): ``count`` networks of width ``width``, all on
the same data; the paper compares 30000×1 (wide) against concatenations with the same
total number of first-layer neurons (100×300, 250×120, 10000×3, 15000×2).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .measures import signal_correlations
from .setting import ToyData


class PatchMLP(torch.nn.Module):
    """``n_nets`` independent patch MLPs of first-layer width ``width`` (module docstring).

    Parameters: ``W`` (K, m, d) first layer; ``weights[i]`` (K, in, out) and ``biases[i]``
    (K, 1, out) for the three upper hidden layers and the output layer. ``bias`` is the
    constant b. ``forward(x)`` with x (B, P, d) returns the logits (K, B).
    """

    def __init__(self, n_nets: int, width: int, dim: int, hidden: int, bias: float, sigma: float,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.n_nets, self.width, self.dim, self.hidden, self.bias = n_nets, width, dim, hidden, float(bias)
        g = generator
        self.W = torch.nn.Parameter(torch.randn(n_nets, width, dim, generator=g) * sigma)
        sizes = [width, hidden, hidden, hidden, 1]
        ws, bs = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            ws.append(torch.nn.Parameter(torch.randn(n_nets, fan_in, fan_out, generator=g) * math.sqrt(2.0 / fan_in)))
            bs.append(torch.nn.Parameter(torch.zeros(n_nets, 1, fan_out)))
        self.weights = torch.nn.ParameterList(ws)
        self.biases = torch.nn.ParameterList(bs)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """h (K, B, m): h_r = Σ_p ReLU(⟨W_r, x_p⟩ − b), one matrix product for all K networks."""
        B, P, d = x.shape
        K, m = self.n_nets, self.width
        pre = x.reshape(B * P, d) @ self.W.reshape(K * m, d).T  # (B*P, K*m)
        h = torch.relu(pre - self.bias).reshape(B, P, K, m).sum(1)  # (B, K, m)
        return h.permute(1, 0, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.first_layer(x)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = torch.baddbmm(b, z, w)
            if i < last:
                z = torch.relu(z)
        return z[..., 0]


def normalized_sgd_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], lr: float,
                        weight_decay: float) -> torch.Tensor:
    """One normalised-SGD step per network, in place; returns ‖g_k‖ (K,).

    Every tensor has the network index first. g_k = grad_k + λ θ_k over all of network
    k's tensors, θ_k ← θ_k − η g_k / ‖g_k‖ (a network whose g_k is 0 does not move).
    """
    with torch.no_grad():
        full = [g + weight_decay * p for p, g in zip(params, grads)]
        sq = sum(f.reshape(f.shape[0], -1).pow(2).sum(1) for f in full)
        norm = sq.sqrt()
        scale = lr / torch.where(norm > 0, norm, torch.ones_like(norm))
        for p, f in zip(params, full):
            p.sub_(f * scale.view(-1, *([1] * (f.dim() - 1))))
    return norm


@dataclass
class TrainResult:
    """What :func:`train` records; arrays are indexed (record, net, signal) where applicable."""

    steps: np.ndarray            # (T,) optimisation step of each record
    epochs: np.ndarray           # (T,) epochs (passes over the training split) at each record
    corr: np.ndarray             # (T, K, 5) max |cos(W_r, w_j)| over the neurons activated by w_j
    active: np.ndarray           # (T, K, 5) neurons activated by each signal vector
    loss: np.ndarray             # (T, K) mean mini-batch loss since the previous record (no decay term)
    train_acc: np.ndarray        # (K,) final training accuracy
    test_acc: np.ndarray         # (K,) final test accuracy (NaN without a test split)
    final_W: np.ndarray          # (K, m, d) first-layer weights after training
    seconds: float = 0.0

    @property
    def init_active(self) -> np.ndarray:
        """(K, 5) neurons activated by each signal vector at initialisation."""
        return self.active[0]


def _logits(model: PatchMLP, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)], dim=1)


def accuracy(model: PatchMLP, data: ToyData) -> np.ndarray:
    """(K,) fraction of ``data`` each network classifies right (sign of its logit = y)."""
    out = _logits(model, torch.from_numpy(data.x))
    return ((out > 0) == torch.from_numpy(data.y > 0)).double().mean(1).numpy()


def train(model: PatchMLP, train_data: ToyData, test_data: ToyData | None, *, steps: int, batch_size: int,
          lr: float, weight_decay: float, record_every: int, seed: int,
          log: Callable[[str], None] | None = None) -> TrainResult:
    """Train every network of ``model`` for ``steps`` normalised-SGD steps (module docstring).

    All networks see the same mini-batches: the training split is reshuffled every epoch
    by ``default_rng([seed, 3])``. The loss of network k is the mean binary cross-entropy
    of its logits against (y + 1)/2. Correlations and activated neurons are recorded at
    step 0, every ``record_every`` steps and at the end.
    """
    t0 = time.perf_counter()
    x = torch.from_numpy(train_data.x)
    y01 = torch.from_numpy((train_data.y > 0).astype(np.float32))
    signals, b = train_data.signals, model.bias
    params = list(model.parameters())
    rng = np.random.default_rng([seed, 3])
    n = len(train_data)
    per_epoch = math.ceil(n / batch_size)
    rec_steps, rec_corr, rec_active, rec_loss = [], [], [], []
    running, since = torch.zeros(model.n_nets, dtype=torch.float64), 0

    def record(step: int) -> None:
        nonlocal running, since
        c, a = signal_correlations(model.W, signals, b, train_data.signs)
        rec_steps.append(step)
        rec_corr.append(c)
        rec_active.append(a)
        if since:
            rec_loss.append((running / since).numpy())
        else:  # step 0: the loss on (up to) 1000 training samples
            out = _logits(model, x[:1000])
            rec_loss.append(torch.nn.functional.binary_cross_entropy_with_logits(
                out, y01[:1000].expand_as(out), reduction="none").mean(1).double().numpy())
        running, since = torch.zeros_like(running), 0
        if log and (step % (10 * record_every) == 0 or step == steps):
            log(f"step {step}/{steps}: loss {rec_loss[-1].mean():.4f}; over the {model.n_nets} nets: max corr "
                f"{np.array2string(c.max(0), precision=2)}, activated neurons {a.sum(0)}")

    record(0)
    step = 0
    while step < steps:
        order = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            out = model(x[idx])
            per_net = torch.nn.functional.binary_cross_entropy_with_logits(
                out, y01[idx].expand_as(out), reduction="none").mean(1)
            grads = torch.autograd.grad(per_net.sum(), params)
            normalized_sgd_step(params, grads, lr, weight_decay)
            running += per_net.detach().double()
            since += 1
            step += 1
            if step % record_every == 0 or step == steps:
                record(step)
            if step == steps:
                break
    return TrainResult(
        steps=np.asarray(rec_steps), epochs=np.asarray(rec_steps) / per_epoch, corr=np.stack(rec_corr),
        active=np.stack(rec_active), loss=np.stack(rec_loss), train_acc=accuracy(model, train_data),
        test_acc=accuracy(model, test_data) if test_data is not None else np.full(model.n_nets, np.nan),
        final_W=model.W.detach().numpy().copy(), seconds=time.perf_counter() - t0)


def build_condition(dim: int, *, width: int, count: int, hidden: int | None, bias: float, sigma: float,
                    seed: int) -> PatchMLP:
    """``count`` independently initialised networks of first-layer width ``width`` (upper
    layers ``hidden`` wide; None = ``width``). The initialisation is seeded by
    ``(seed, width, count)``: reproducible, and different for every condition."""
    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, width, count, 4]).integers(2**62)))
    return PatchMLP(count, width, dim, hidden or width, bias, sigma, generator=g)


def run_condition(train_data: ToyData, test_data: ToyData | None, *, width: int, count: int, hidden: int | None,
                  bias: float, sigma: float, steps: int, batch_size: int, lr: float, weight_decay: float,
                  record_every: int, seed: int, log: Callable[[str], None] | None = None) -> TrainResult:
    """A width condition (``count`` networks of width ``width``, :func:`build_condition`)
    trained side by side on the same data (:func:`train`)."""
    model = build_condition(train_data.x.shape[2], width=width, count=count, hidden=hidden, bias=bias,
                            sigma=sigma, seed=seed)
    return train(model, train_data, test_data, steps=steps, batch_size=batch_size, lr=lr,
                 weight_decay=weight_decay, record_every=record_every, seed=seed, log=log)
