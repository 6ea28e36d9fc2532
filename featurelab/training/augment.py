"""Data augmentation on a batch already on the device: pad, random crop, horizontal flip.

``crop_flip`` is the standard CIFAR augmentation (pad ``pad`` pixels, crop back to the
image size at a random offset, flip left-right with probability 1/2): the "standard
augmentations" of Duzgun, Jelassi, Li (2024, App. A.2), a hyper-parameter Gontijo-Lopes,
Dauphin, Cubuk (ICLR 2022) vary among their models; Zhang et al. (ICML 2024, App. F.4) pad
with a constant colour instead of zeros (``pad_color``, pixel values 0-255).

``pad_mode`` says where the padded image goes: ``crop`` (the standard augmentation, and the
authors' released CIFAR code for App. F.4: pad 8 px of (150, 50, 50), ``RandomCrop(32)``)
crops it back at a random offset, so up to ``2·pad`` rows or columns of the image itself can
fall outside the crop; ``resize`` (:func:`pad_resize`, the text of App. F.4: "padding brick
red pixels to the original images and resized the padded images to the size of the
original images") shrinks the whole padded image back to the image size, so every pixel of
the image survives (scaled by H/(H + 2·pad)) inside a frame of the colour, then flips it.

``pad_color: random`` draws the colour of each image's padding anew each time the image is
augmented (once per epoch), uniform over the 256³ pixel colours, from the member's augmentation
generator: the negative control of the padding experiment (the padding is there, as uncorrelated
with the label as the constant colour, but no colour is a constant of the training images to be
learned; :func:`random_fills`).

torchvision pads the batch (:func:`torchvision.transforms.v2.functional.pad`, a fill per
channel) and flips it (:func:`~torchvision.transforms.v2.functional.horizontal_flip`); the
per-image crop offsets and flip choices are written here because torchvision's random
transforms draw one set of parameters per call, i.e. the same crop for every image of a
batch, and each image needs its own.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_fill(pad_color: Sequence[int] | None, mean: Sequence[float], std: Sequence[float]) -> list[float]:
    """The padding value of each channel in normalised units: the pixel colour ``pad_color``
    (0-255 per channel; None = black, i.e. zero pixels) through the input normalisation."""
    color = [0] * len(mean) if pad_color is None else list(pad_color)
    if len(color) != len(mean):
        raise ValueError(f"pad_color has {len(color)} channels, the images {len(mean)}")
    return [(c / 255.0 - m) / s for c, m, s in zip(color, mean, std)]


#: The ``pad_color`` value that draws a colour per image and per epoch.
RANDOM = "random"


def random_fills(n: int, mean: Sequence[float], std: Sequence[float], generator: torch.Generator) -> torch.Tensor:
    """(n, C) padding values in normalised units: a pixel colour per image drawn uniformly from
    0..255 per channel (``generator`` on the CPU) through the input normalisation."""
    colours = torch.randint(0, 256, (n, len(mean)), generator=generator).double()
    m = torch.tensor(mean, dtype=torch.float64)
    s = torch.tensor(std, dtype=torch.float64)
    return ((colours / 255.0 - m) / s).float()


def _pad(x: torch.Tensor, pad: int, fill: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """``x`` (B, C, H, W) padded by ``pad`` on every side: with one fill per channel,
    torchvision's pad; with a (B, C) tensor, each image's own fill."""
    if not isinstance(fill, torch.Tensor):
        from torchvision.transforms.v2 import functional as TF

        return TF.pad(x, [pad], fill=list(fill))
    B, C, H, W = x.shape
    if tuple(fill.shape) != (B, C):
        raise ValueError(f"per-image fills must be ({B}, {C}), got {tuple(fill.shape)}")
    out = fill.to(device=x.device, dtype=x.dtype)[:, :, None, None].expand(B, C, H + 2 * pad, W + 2 * pad).clone()
    out[:, :, pad:pad + H, pad:pad + W] = x
    return out


def crop_flip(x: torch.Tensor, pad: int, fill: Sequence[float] | torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W) padded by ``pad`` with ``fill``, cropped back to H×W at
    its own random offset and flipped left-right with probability 1/2.

    The offsets and flips come from ``generator`` (on the CPU, so a seed gives the same
    augmentation on every device)."""
    from torchvision.transforms.v2 import functional as TF  # imported when a recipe augments

    B, C, H, W = x.shape
    padded = _pad(x, pad, fill)
    dy = torch.randint(0, 2 * pad + 1, (B,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (B,), generator=generator).to(x.device)
    flip = (torch.rand(B, generator=generator) < 0.5).to(x.device)
    rows = (dy[:, None] + torch.arange(H, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(W, device=x.device))[:, None, None, :]
    out = padded[torch.arange(B, device=x.device)[:, None, None, None],
                 torch.arange(C, device=x.device)[None, :, None, None], rows, cols]
    return torch.where(flip[:, None, None, None], TF.horizontal_flip(out), out)


def pad_resize(x: torch.Tensor, pad: int, fill: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Each image of ``x`` (B, C, H, W) padded by ``pad`` with ``fill`` on every side and resized
    back to H×W (bilinear with antialiasing: each output pixel averages the input pixels it
    covers), the same for every image: the image shrunk by H/(H + 2·pad) inside a frame of
    the colour (Zhang et al., ICML 2024, App. F.4, as the text describes it). ``fill``: one
    value per channel, or a (B, C) tensor of each image's own."""
    from torchvision.transforms.v2 import functional as TF

    B, C, H, W = x.shape
    if pad == 0:
        return x
    padded = _pad(x, pad, fill)
    return TF.resize(padded, [H, W], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)


def flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image of ``x`` flipped left-right with probability 1/2 (``generator`` on the CPU)."""
    from torchvision.transforms.v2 import functional as TF

    f = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(f[:, None, None, None], TF.horizontal_flip(x), x)


class Augmenter:
    """A member's augmentation: its recipe's choice, its normalisation, its own generator
    (seeded from the member's seed, so the augmentation is the same alone and in a pack)."""

    def __init__(self, kind: str | None, pad: int, pad_color: Sequence[int] | str | None, mean: Sequence[float],
                 std: Sequence[float], seed: int, pad_mode: str = "crop") -> None:
        if pad_mode not in ("crop", "resize"):
            raise ValueError(f"pad_mode must be crop or resize, not {pad_mode!r}")
        self.kind, self.pad, self.seed, self.pad_mode = kind, int(pad), int(seed), pad_mode
        self.random = isinstance(pad_color, str)
        if self.random and pad_color != RANDOM:
            raise ValueError(f"pad_color must be {RANDOM!r} or a colour, not {pad_color!r}")
        self.mean, self.std = list(mean), list(std)
        self.fill = None if self.random else pad_fill(pad_color, mean, std)
        self.generator = torch.Generator().manual_seed(int(seed) * 7_919 + 17)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind is None:
            return x
        if self.kind == "crop_flip":
            fill = random_fills(x.shape[0], self.mean, self.std, self.generator) if self.random else self.fill
            if self.pad_mode == "resize":
                return flip(pad_resize(x, self.pad, fill), self.generator)
            return crop_flip(x, self.pad, fill, self.generator)
        raise ValueError(f"unknown augmentation {self.kind!r}")

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def restore(self, state: torch.Tensor | None) -> None:
        if state is not None:
            self.generator.set_state(state)
