"""CIFAR variants of ResNet-18 and VGG-16 with a width factor.

* ``resnet18``: 3×3 stride-1 stem, no max-pool, four stages of BasicBlocks with
  64/128/256/512 channels times ``width``, global average pooling, one linear layer.
* ``vgg16``: VGG-16 with batch norm, every conv's channels times ``width``, global
  average pooling over the last stage, one linear layer on the 512·width vector.

Channel counts are ``max(1, round(c·width))`` so the width study's α = 1/16 gives 4
channels in the first ResNet stage. Every model exposes ``features(x, layers)`` that
returns the requested named activations: ``penultimate`` (input of the final linear
layer) and ``block1``..``block4`` (globally average-pooled stage outputs, Jiang, Baek, Kolter (2024)
App. F.11), plus ``logits``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .architecture import (
    ARCHITECTURES,
    LAYERS,
    MLP_HIDDEN,
    RESNET18_CHANNELS,
    RESNET32_BLOCKS,
    RESNET32_CHANNELS,
    VGG16_CFG,
    scaled,
)

__all__ = ["ARCHITECTURES", "LAYERS", "BasicBlock", "StagedNet", "CifarResNet", "ResNet18", "ResNet32", "VGG16", "MLP", "build_model",
           "count_parameters"]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class StagedNet(nn.Module):
    """A stem, stages, global average pooling and one linear layer (both architectures)."""

    stages: nn.ModuleList
    linear: nn.Linear

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def features(self, x: torch.Tensor, layers: tuple[str, ...] = ("penultimate",)) -> dict[str, torch.Tensor]:
        """The logits and the requested layers: ``blockN`` (pooled output of stage N) and
        ``penultimate`` (the pooled last stage, input of the linear layer)."""
        out: dict[str, torch.Tensor] = {}
        h = self.stem(x)
        for i, stage in enumerate(self.stages, start=1):
            h = stage(h)
            if f"block{i}" in layers:
                out[f"block{i}"] = h.mean(dim=(2, 3))
        pen = h.mean(dim=(2, 3))
        if "penultimate" in layers:
            out["penultimate"] = pen
        out["logits"] = self.linear(pen)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x, ())["logits"]


class CifarResNet(StagedNet):
    """A CIFAR ResNet: a 3×3 stride-1 stem, stages of basic blocks (``channels`` times the
    width factor, ``blocks`` per stage, stride 2 at the start of every stage but the first),
    global average pooling, one linear layer. Shortcuts that change shape are 1×1
    convolutions with batch norm."""

    def __init__(self, channels: tuple[int, ...], blocks: int, num_classes: int = 10, width: float = 1.0,
                 in_channels: int = 3) -> None:
        super().__init__()
        chans = [scaled(c, width) for c in channels]
        self.conv1 = nn.Conv2d(in_channels, chans[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(chans[0])
        stages, cin = [], chans[0]
        for i, c in enumerate(chans):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, c, stride), *(BasicBlock(c, c, 1) for _ in range(blocks - 1))))
            cin = c
        self.stages = nn.ModuleList(stages)
        self.linear = nn.Linear(chans[-1], num_classes)
        self.feature_dim = chans[-1]

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn1(self.conv1(x)))


class ResNet18(CifarResNet):
    """The CIFAR ResNet-18: four stages of two blocks, 64/128/256/512 channels, no max-pool."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__(RESNET18_CHANNELS, 2, num_classes, width, in_channels)


class ResNet32(CifarResNet):
    """The CIFAR ResNet-32 (He et al., CVPR 2016, §4.2): three stages of five blocks,
    16/32/64 channels (6n + 2 layers, n = 5). Zhang et al. (ICML 2024, App. F.4) train it. Its
    shape-changing shortcuts are 1×1 convolutions (He et al.'s option B; their CIFAR networks
    pad with zeros, option A)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__(RESNET32_CHANNELS, RESNET32_BLOCKS, num_classes, width, in_channels)


class VGG16(StagedNet):
    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        stages, cin = [], in_channels
        for stage_cfg in VGG16_CFG:
            layers: list[nn.Module] = []
            for c in stage_cfg:
                c = scaled(c, width)
                layers += [nn.Conv2d(cin, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
                cin = c
            layers.append(nn.MaxPool2d(2))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.linear = nn.Linear(cin, num_classes)
        self.feature_dim = cin



class MLP(nn.Module):
    """A plain MLP on the flattened image: two hidden layers of ``1024·width`` units (linear,
    batch norm, ReLU) and one linear layer; ``penultimate`` is the second hidden layer. No
    stages: ``features`` refuses ``block<i>``."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3, image_size: int = 32) -> None:
        super().__init__()
        h = scaled(MLP_HIDDEN, width)
        d = in_channels * image_size * image_size
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                                    nn.Linear(h, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True))
        self.linear = nn.Linear(h, num_classes)
        self.feature_dim = h

    def features(self, x: torch.Tensor, layers: tuple[str, ...] = ("penultimate",)) -> dict[str, torch.Tensor]:
        bad = [layer for layer in layers if layer != "penultimate"]
        if bad:
            raise ValueError(f"the MLP has no stages: it cannot give {', '.join(bad)}")
        pen = self.hidden(x.contiguous())
        out = {"penultimate": pen} if layers else {}
        out["logits"] = self.linear(pen)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x, ())["logits"]


def build_model(arch: str, num_classes: int, width: float = 1.0, in_channels: int = 3,
                image_size: int | None = None) -> nn.Module:
    """Instantiate ``arch`` (one of :data:`ARCHITECTURES`); the MLP needs ``image_size``."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    if arch == "mlp":
        if image_size is None:
            raise ValueError("the MLP needs the image size")
        return MLP(num_classes, width, in_channels, image_size)
    if arch == "resnet18":
        return ResNet18(num_classes, width, in_channels)
    if arch == "vgg16":
        return VGG16(num_classes, width, in_channels)
    if arch == "resnet32":
        return ResNet32(num_classes, width, in_channels)
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHITECTURES)}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
