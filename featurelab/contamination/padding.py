"""What a network trained on colour-padded images learns about the colour: Zhang et al., "Feature
Contamination: Neural Networks Learn Uncorrelated Features and Fail to Generalize" (ICML
2024), Sec. 5 ("Visualizing contaminated deep features") and App. F.4, Figs 6c and 13.

Training pads every image by ``pad`` pixels of one constant colour (RGB 150, 50, 50 in the
paper, "brick red") and, by the recipe's ``pad_mode``, either crops it back at a random
offset (``crop``: the authors' released CIFAR code, ``Pad(8, (150, 50, 50))``,
``RandomCrop(32)``; :func:`featurelab.training.augment.crop_flip`) or resizes the padded
image back to the image size (``resize``: the text of App. F.4, "padded ... and resized the
padded images to the size of the original images"; :func:`featurelab.training.augment.pad_resize`).
A crop can cut up to ``2·pad`` rows or columns of the image itself, and with them the class
evidence near the border (the synthetic worlds' motifs sit on a grid up to the border); a
resize keeps every pixel, shrunk (:func:`kept_evidence` measures it on a mask of the
motifs). The colour is independent of the label: a background feature in the sense of the
paper's Def. 3.1. Three measurements compare a padded network with the same recipe trained
without padding:

* :func:`colour_response`: each stage's channel responses (spatially averaged post-ReLU
  output, :mod:`.deep`) to an image of pure padding colour against one of pure grey;
* :func:`pad_test_images`: the test images padded with a colour as in training: ``crop``,
  cropped back at a fixed corner offset (the top and left ``pad`` rows and columns become
  the colour: one of the crops the padded network saw in training); ``resize``, resized back
  (exactly the training view, unflipped); to measure accuracy
  (:func:`featurelab.training.evaluate`) with the training colour, another colour, and none;
* :func:`visualize_channels`: an input image optimised by Adam on its pixels to excite one
  channel (the activation-maximisation of App. F.4), for the most colour-responsive channels;
  the paper trains both networks adversarially first (Salman et al., 2019), which a recipe's
  ``adv_*`` keys do (:mod:`featurelab.training.adversarial`; off by default).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def solid_images(colours: Sequence[Sequence[int]], size: int) -> np.ndarray:
    """One uint8 NHWC image of ``size``×``size`` per RGB colour."""
    c = np.asarray(colours, dtype=np.int64)
    if c.ndim != 2 or c.shape[1] not in (1, 3) or (c < 0).any() or (c > 255).any():
        raise ValueError(f"colours must be (n, 3) values in 0..255, got {np.asarray(colours).tolist()}")
    return np.broadcast_to(c.astype(np.uint8)[:, None, None, :], (len(c), size, size, c.shape[1])).copy()


def pad_test_images(images: np.ndarray, pad: int, colour: Sequence[int], mode: str = "crop") -> np.ndarray:
    """uint8 NHWC ``images`` padded by ``pad`` pixels of ``colour`` on every side and, with
    ``mode`` crop, cropped back to their size at offset (0, 0): the top ``pad`` rows and left
    ``pad`` columns are the colour, the rest the image shifted down and right by ``pad``; with
    ``mode`` resize, resized back to their size (:func:`featurelab.training.augment.pad_resize`
    on the pixel values, rounded)."""
    if mode not in ("crop", "resize"):
        raise ValueError(f"mode must be crop or resize, got {mode!r}")
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"images must be uint8 NHWC, got {images.dtype} {images.shape}")
    N, H, W, C = images.shape
    if not 0 <= pad < min(H, W):
        raise ValueError(f"pad must lie in [0, {min(H, W)}), got {pad}")
    colour = np.asarray(colour, dtype=np.int64)
    if colour.shape != (C,) or (colour < 0).any() or (colour > 255).any():
        raise ValueError(f"colour must be {C} values in 0..255, got {colour.tolist()}")
    if mode == "resize":
        import torch

        from ..training.augment import pad_resize

        x = torch.as_tensor(images).permute(0, 3, 1, 2).double()
        y = pad_resize(x, pad, [float(c) for c in colour])
        return np.clip(np.rint(y.permute(0, 2, 3, 1).numpy()), 0, 255).astype(np.uint8)
    out = np.empty_like(images)
    out[:] = colour.astype(np.uint8)
    out[:, pad:, pad:] = images[:, :H - pad, :W - pad]
    return out


def kept_evidence(masks: np.ndarray, pad: int, mode: str, offset: tuple[int, int] | None = None) -> np.ndarray:
    """The share of each mask's mass (``masks``: (N, H, W) of 0/1, e.g. one motif's pixels per
    row) that survives the padding of a training image: ``resize``, the mass of the
    pad-resized mask over the original mass times the area scale (H/(H + 2·pad))² (1 when the
    whole motif survives, shrunk); ``crop`` at ``offset`` (dy, dx) in [0, 2·pad]², the mass
    inside the crop window over the original mass (rows dy − pad .. dy − pad + H of the
    image)."""
    import torch

    from ..training.augment import pad_resize

    m = np.asarray(masks, dtype=np.float64)
    if m.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {m.shape}")
    N, H, W = m.shape
    mass = m.sum(axis=(1, 2))
    if (mass <= 0).any():
        raise ValueError("every mask needs at least one pixel")
    if mode == "resize":
        out = pad_resize(torch.as_tensor(m)[:, None], pad, [0.0])[:, 0].numpy()
        scale = (H / (H + 2 * pad)) * (W / (W + 2 * pad))
        return out.sum(axis=(1, 2)) / (mass * scale)
    if mode != "crop":
        raise ValueError(f"mode must be crop or resize, got {mode!r}")
    dy, dx = offset if offset is not None else (pad, pad)
    if not (0 <= dy <= 2 * pad and 0 <= dx <= 2 * pad):
        raise ValueError(f"offset must lie in [0, {2 * pad}]², got {offset}")
    r0, c0 = dy - pad, dx - pad
    window = m[:, max(0, r0):min(H, r0 + H), max(0, c0):min(W, c0 + W)]
    return window.sum(axis=(1, 2)) / mass


def colour_response(model: Any, colours: Sequence[Sequence[int]], size: int, mean: Any, std: Any,
                    device: Any = "cpu") -> list[np.ndarray]:
    """Per stage, (colours, C_s): each channel's spatially averaged post-ReLU output on an image
    of each pure colour (:func:`.deep.stage_statistics`, one image per colour as its class)."""
    from .deep import stage_statistics

    n = len(colours)
    return stage_statistics(model, solid_images(colours, size), np.arange(n), mean, std, n, device)["mean"]


def visualize_channels(model: Any, stage: int, channels: Sequence[int], size: int, mean: Any, std: Any,
                       steps: int = 200, lr: float = 0.05, l2: float = 1e-3, seed: int = 0,
                       device: Any = "cpu") -> np.ndarray:
    """For each channel of stage ``stage`` (1-based), the image that maximises its spatially
    averaged post-ReLU output: pixels p = sigmoid(θ) in [0, 1], θ from a grey start plus
    small noise, Adam on θ for ``steps`` steps on −mean activation + ``l2``·‖p − ½‖².
    Returns uint8 NHWC (len(channels), size, size, 3)."""
    import torch

    from .deep import _stage_taps

    dev = torch.device(device)
    taps = _stage_taps(model)
    if not 1 <= stage <= len(taps):
        raise ValueError(f"stage must lie in 1..{len(taps)}, got {stage}")
    channels = [int(c) for c in channels]
    g = torch.Generator().manual_seed(int(seed))
    theta = (0.01 * torch.randn(len(channels), len(mean), size, size, generator=g)).to(dev).requires_grad_(True)
    m = torch.tensor(mean, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=dev).view(1, -1, 1, 1)
    seen: dict[str, torch.Tensor] = {}
    hook = taps[stage - 1].register_forward_hook(lambda _m, _i, out: seen.__setitem__("out", out))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([theta], lr=lr)
    idx = torch.arange(len(channels), device=dev)
    try:
        for _ in range(int(steps)):
            pixels = torch.sigmoid(theta)
            model((pixels - m) / s)
            act = seen["out"][idx, torch.tensor(channels, device=dev)].mean(dim=(1, 2))
            loss = -act.sum() + l2 * ((pixels - 0.5) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        hook.remove()
    pixels = torch.sigmoid(theta).detach().permute(0, 2, 3, 1).cpu().numpy()
    return np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8)


def padding_measures(nets: dict[str, list[tuple[str, Any]]], images: np.ndarray, labels: np.ndarray, pad: int,
                     colour: Sequence[int], other: Sequence[int], grey: Sequence[int], mode: str = "resize",
                     device: Any = "cpu") -> "pd.DataFrame":
    """The padding experiment's measures, one row each (the rows
    :func:`featurelab.contamination.findings.padding_findings` reads): for every network
    (``nets``: kind -> [(model id, model.pt path)], member = its place in the list), its accuracy
    on ``images`` unpadded (``none``), padded with ``colour`` (``training colour``) and with
    ``other`` (``other colour``), and each stage's channel responses to pure ``colour``
    (``padding colour``), ``grey`` and ``other``."""
    import pandas as pd
    import torch

    from ..training.inputs import to_input
    from ..training.solo import evaluate, load_member

    size = images.shape[1]
    tests = {"none": images, "training colour": pad_test_images(images, pad, colour, mode),
             "other colour": pad_test_images(images, pad, other, mode)}
    rows: list[dict[str, Any]] = []
    for kind, models in nets.items():
        for i, (model_id, path) in enumerate(models):
            model, payload = load_member(path, device)
            mean, std = payload["mean"], payload["std"]
            y = torch.as_tensor(labels, device=device)
            for t, imgs in tests.items():
                rows.append({"kind": kind, "member": i, "model": model_id, "measure": "accuracy", "test": t,
                             "stage": 0, "channel": -1,
                             "value": evaluate(model, to_input(imgs, mean, std, device), y)})
            responses = colour_response(model, [list(colour), list(grey), list(other)], size, mean, std, device)
            for s, r in enumerate(responses, start=1):
                for which, row in zip(("padding colour", "grey", "other colour"), r):
                    rows += [{"kind": kind, "member": i, "model": model_id, "measure": "response", "test": which,
                              "stage": s, "channel": c, "value": float(v)} for c, v in enumerate(row)]
    return pd.DataFrame(rows)
