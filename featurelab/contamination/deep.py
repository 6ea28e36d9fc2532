"""Activation asymmetry in deep networks: Zhang et al., "Feature Contamination: Neural Networks
Learn Uncorrelated Features and Fail to Generalize" (ICML 2024), Sec. 5 and App. F.2, F.3.

For every stage of a trained image network (the output of the stage's final ReLU: in the
CIFAR ResNets the block's ``relu(out + shortcut)``, in VGG the stage's last ``ReLU``
before its max-pool), per channel c and class k:

* **activation rate** (App. F.2): the fraction of (image of class k, spatial position)
  with output > 0;
* **class-mean activation** μ_k: the mean over images of class k of the channel's
  spatially averaged output (what global average pooling passes on);
* **selectivity** (App. F.3, Eq. 61, after Morcos et al., 2018):
  (μ_max − μ̄) / (μ_max + μ̄ + ε), μ_max the largest class mean, μ̄ the mean of the K class
  means, ε = 1e-8. A unit that answers to one class only (a one-hot profile) has
  (1 − 1/K)/(1 + 1/K); a unit that answers to every class alike has 0.

:func:`stage_statistics` computes all of them for one network on one split in one pass;
the study compares a member at its random initialisation with the trained member, and the
test split with the background-shifted one (Figs 4, 5, 11, 15 of the paper).
"""
from __future__ import annotations

from typing import Any

import numpy as np


def selectivity(class_means: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """Neuron selectivity (Zhang et al., ICML 2024, App. F.3, Eq. 61) of every unit.

    ``class_means`` is (K, units): the class-conditional mean post-activation μ_k of each
    unit. Returns (units,): (μ_max − μ̄)/(μ_max + μ̄ + ε)."""
    mu = np.asarray(class_means, dtype=np.float64)
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"class_means must be (K ≥ 2 classes, units), got shape {mu.shape}")
    if eps < 0:
        raise ValueError(f"eps must be ≥ 0, got {eps}")
    mu_max = mu.max(axis=0)
    mu_bar = mu.mean(axis=0)
    return (mu_max - mu_bar) / (mu_max + mu_bar + eps)


def _stage_taps(model: Any) -> list[Any]:
    """The module whose output is each stage's post-ReLU output: a stage's last ``ReLU``
    module when it has one (VGG), else the stage itself (ResNet blocks apply their ReLU
    functionally at the end)."""
    import torch

    taps = []
    for stage in model.stages:
        relus = [m for m in stage.modules() if isinstance(m, torch.nn.ReLU)]
        taps.append(relus[-1] if relus else stage)
    return taps


def stage_statistics(model: Any, images: np.ndarray, labels: np.ndarray, mean: Any, std: Any,
                     num_classes: int, device: Any = "cpu", batch_size: int = 500) -> dict[str, Any]:
    """Per stage s, ``rate[s]`` (K, C_s) activation rates and ``mean[s]`` (K, C_s) class-mean
    activations, plus ``channel_mean[s]`` (C_s,) the mean over all images, and the network's
    top-1 ``accuracy`` from the same forward pass, for a
    :class:`featurelab.models.StagedNet` on uint8 NHWC ``images``.

    Every class must have at least one image. Uses forward hooks; the network is in eval
    mode (batch norm with its running statistics, as at test time)."""
    import torch

    from ..training.inputs import to_input

    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=num_classes)
    if len(counts) != num_classes or (counts == 0).any():
        missing = np.flatnonzero(counts[:num_classes] == 0).tolist()
        raise ValueError(f"every class needs an image: classes {missing} have none (labels must lie in "
                         f"[0, {num_classes}))")
    taps = _stage_taps(model)
    seen: list[torch.Tensor | None] = [None] * len(taps)
    hooks = [t.register_forward_hook(lambda _m, _i, out, s=s: seen.__setitem__(s, out)) for s, t in enumerate(taps)]
    pos = [None] * len(taps)   # (K, C) sums of positive-position fractions
    act = [None] * len(taps)   # (K, C) sums of spatial means
    correct = 0
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(labels), batch_size):
                x = to_input(images[i:i + batch_size], mean, std, device)
                y = torch.as_tensor(labels[i:i + batch_size], device=x.device)
                correct += int((model(x).argmax(1) == y).sum())
                onehot = torch.nn.functional.one_hot(y, num_classes).double().T  # (K, B)
                for s, out in enumerate(seen):
                    out = out.double()
                    frac = (out > 0).double().mean(dim=(2, 3))  # (B, C)
                    avg = out.mean(dim=(2, 3))
                    p, a = (onehot @ frac).cpu().numpy(), (onehot @ avg).cpu().numpy()
                    pos[s] = p if pos[s] is None else pos[s] + p
                    act[s] = a if act[s] is None else act[s] + a
    finally:
        for h in hooks:
            h.remove()
    n = counts[:, None].astype(np.float64)
    rate = [p / n for p in pos]
    means = [a / n for a in act]
    channel_mean = [(a.sum(axis=0) / counts.sum()) for a in act]
    return {"rate": rate, "mean": means, "channel_mean": channel_mean, "accuracy": correct / len(labels)}


def ranked_rates(rate: np.ndarray) -> np.ndarray:
    """The activation rates of each channel sorted from its most to its least activating class,
    averaged over channels: (K,). Flat when channels answer to every class alike; falling
    steeply when each channel fires for few classes (the asymmetry of Fig 4 / Fig 11)."""
    r = np.asarray(rate, dtype=np.float64)
    return -np.sort(-r, axis=0).mean(axis=1)


def statistics_table(stats: dict[str, Any], eps: float = 1e-8, **keys: Any) -> "Any":
    """One row per (stage, channel, class) of :func:`stage_statistics`' output, with ``keys``
    (member, state, split, ...) as constant columns, and the channel's selectivity (with ``eps``)."""
    import pandas as pd

    frames = []
    for s, (rate, mean) in enumerate(zip(stats["rate"], stats["mean"]), start=1):
        K, C = rate.shape
        sel = selectivity(mean, eps)
        frames.append(pd.DataFrame({
            "stage": s, "channel": np.tile(np.arange(C), K), "class": np.repeat(np.arange(K), C),
            "rate": rate.ravel(), "mean": mean.ravel(), "selectivity": np.tile(sel, K),
        }))
    df = pd.concat(frames, ignore_index=True)
    for k, v in reversed(list(keys.items())):
        df.insert(0, k, v)
    return df
