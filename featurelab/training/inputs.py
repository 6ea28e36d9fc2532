"""A member's training data on the device: its subset, normalisation, batch order and
augmentation.

Speed comes from doing little per step (in the spirit of Keller Jordan's airbench): the
member's whole training subset is normalised once and kept on the device as one tensor; a
batch is an index into it, and augmentation acts on the batch where it lies. No
DataLoader, no per-batch host work. Everything random derives from the member's seed.
"""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..data.prepared import Split


def member_subset(n_total: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted indices of the member's training subset, drawn without replacement."""
    if size is None or size == n_total:
        return np.arange(n_total)
    if not 0 < size <= n_total:
        raise ValueError(f"subset size {size} must lie in [1, {n_total}] (the training split's size)")
    rng = np.random.default_rng([seed, 7])
    return np.sort(rng.choice(n_total, size=size, replace=False))


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 NHWC images, on the [0,1] scale."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    std = x.std(axis=0)
    return x.mean(axis=0).tolist(), np.where(std > 0, std, 1.0).tolist()


def to_input(images: np.ndarray | torch.Tensor, mean: list[float], std: list[float],
             device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 NHWC → normalised float NCHW on ``device``."""
    x = torch.as_tensor(images).to(device)
    x = x.permute(0, 3, 1, 2).to(dtype).div_(255.0)
    m = torch.tensor(mean, device=device, dtype=dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device, dtype=dtype).view(1, -1, 1, 1)
    return ((x - m) / s).contiguous()


def data_fingerprint(split: Split) -> str:
    h = hashlib.sha1()
    h.update(str(split.images.shape).encode())
    h.update(np.ascontiguousarray(split.labels).tobytes())
    h.update(np.ascontiguousarray(split.images[:: max(1, len(split) // 64)]).tobytes())
    return h.hexdigest()


def batch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The member's order of its ``n`` training points in (0-based) ``epoch``: a permutation
    drawn from its own generator, the same whether it trains alone or in a pack."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))


def usable_points(n: int, batch_size: int) -> int:
    """Points an epoch uses: all but one when the last batch would hold a single point (a
    batch of one breaks batch norm)."""
    return n if n % batch_size != 1 else n - 1
