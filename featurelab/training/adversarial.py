"""PGD adversarial training, the step Zhang et al. ("Feature Contamination: Neural Networks Learn
Uncorrelated Features and Fail to Generalize", ICML 2024, App. F.4) take before visualising
a network's channels: "we performed adversarial training using the method proposed by Salman
et al. (2019)" (after Allen-Zhu & Li, 2021, whose visualisations need adversarially
trained networks).

The authors' released code (``cifar/code/attacks.py``, ``PGD_L2``; ``cifar/code/train_pgd.py``,
run with ``--attack PGD --num-steps 4 --epsilon 255 --noise 0.25 --warmup 10``) attacks in
[0, 1] pixel space, from δ = 0, for ``steps`` steps of size ``2·ε/steps``:

* L2 (theirs): δ ← δ + α·g/‖g‖₂ (g the gradient of the summed cross-entropy), then
  x + δ clipped to [0, 1], then δ projected onto the ball ‖δ‖₂ ≤ ε (``renorm``);
* L∞ (the usual Madry et al. form, offered beside it): δ ← δ + α·sign(g), then δ clipped to
  [−ε, ε] and x + δ to [0, 1].

The attack runs with the network in eval mode (batch norm on its running statistics), as
theirs does. With ``noise_sd`` > 0 (Salman et al.'s smoothed training: ``--noise 0.25``)
Gaussian noise of that standard deviation in pixel units is added to the input both while
attacking and in the training step; theirs draws two noise vectors per image
(``--num-noise-vec 2``), here one. ε grows linearly over the first ``warmup`` epochs
(``attacker.max_norm = min(ε, (epoch + 1)·ε/warmup)``).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _stats(mean: Sequence[float], std: Sequence[float], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m = torch.as_tensor(list(mean), dtype=like.dtype, device=like.device).view(1, -1, 1, 1)
    s = torch.as_tensor(list(std), dtype=like.dtype, device=like.device).view(1, -1, 1, 1)
    return m, s


def pgd_attack(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: Sequence[float],
               std: Sequence[float], eps: float, steps: int, step_size: float | None = None, norm: str = "l2",
               noise: torch.Tensor | None = None) -> torch.Tensor:
    """Adversarial versions of the normalised NCHW inputs ``x`` (labels ``y``): PGD in [0, 1]
    pixel space (module docstring), returned normalised like ``x``. ``noise`` (pixel units,
    the shape of ``x``) is added to every input the attack evaluates, not to the result.
    The perturbation δ = pixels(result) − pixels(x) satisfies ‖δ‖ ≤ ``eps`` in ``norm`` and
    pixels(result) ∈ [0, 1]. The model's mode and ``requires_grad`` flags are restored."""
    if norm not in ("l2", "linf"):
        raise ValueError(f"norm must be l2 or linf, got {norm!r}")
    if steps < 1 or eps <= 0:
        return x
    alpha = 2.0 * eps / steps if step_size is None else float(step_size)
    m, s = _stats(mean, std, x)
    pixels = (x.detach() * s + m).clamp(0.0, 1.0)
    delta = torch.zeros_like(pixels, requires_grad=True)
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    B = x.shape[0]
    try:
        for _ in range(int(steps)):
            adv = pixels + delta
            if noise is not None:
                adv = adv + noise
            loss = F.cross_entropy(model((adv - m) / s).float(), y, reduction="sum")
            (grad,) = torch.autograd.grad(loss, delta)
            with torch.no_grad():
                if norm == "l2":
                    g = grad.reshape(B, -1).norm(p=2, dim=1).view(B, 1, 1, 1)
                    step = torch.where(g > 0, grad / g.clamp_min(1e-12), torch.zeros_like(grad))
                    delta += alpha * step
                    delta.copy_((pixels + delta).clamp(0.0, 1.0) - pixels)
                    n = delta.reshape(B, -1).norm(p=2, dim=1).view(B, 1, 1, 1)
                    delta *= torch.where(n > eps, eps / n.clamp_min(1e-12), torch.ones_like(n))
                else:
                    delta += alpha * grad.sign()
                    delta.clamp_(-eps, eps)
                    delta.copy_((pixels + delta).clamp(0.0, 1.0) - pixels)
    finally:
        model.train(was_training)
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
    return ((pixels + delta.detach()) - m) / s


def epoch_eps(eps: float, epoch: int, warmup: int) -> float:
    """ε of (0-based) ``epoch``: min(ε, (epoch + 1)·ε/warmup), the released train_pgd.py's ramp."""
    return float(min(eps, (epoch + 1) * eps / max(1, int(warmup))))


def adversarial_batch(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, mean: Sequence[float],
                      std: Sequence[float], recipe, epoch: int, generator: torch.Generator) -> torch.Tensor:
    """The training inputs of one minibatch under the recipe's PGD adversarial training: the
    attacked inputs plus the recipe's Gaussian noise (pixel units, from ``generator`` on the
    CPU), normalised."""
    noise = None
    if recipe.adv_noise_sd > 0:
        noise = (torch.randn(x.shape, generator=generator) * recipe.adv_noise_sd).to(x.device, x.dtype)
    adv = pgd_attack(model, x, y, mean, std, epoch_eps(recipe.adv_eps, epoch, recipe.adv_warmup_epochs),
                     recipe.adv_steps, recipe.adv_step_size, recipe.adv_norm, noise)
    if noise is None:
        return adv
    _, s = _stats(std, std, x)
    return adv + noise / s
