"""Channel arithmetic of the CIFAR ResNet-18, ResNet-32 and VGG-16 (no PyTorch needed).

:mod:`featurelab.models` builds the networks from these numbers; the workflow uses
:func:`parameter_count` while it plans the DAG (the width study's ``N_p`` depends on it),
where PyTorch need not be importable. ``tests/test_width.py`` checks it against
``count_parameters(build_model(...))`` for every width the study uses.
"""
from __future__ import annotations

#: The architectures (CIFAR variants) and the layers whose activations can be extracted:
#: ``penultimate`` (the input of the final linear layer) and ``block1``..``block4`` (the
#: globally average-pooled output of each stage, Jiang, Baek, Kolter, ICLR 2024, App. F.11).
ARCHITECTURES = ("resnet18", "vgg16", "resnet32", "mlp")
LAYERS = ("penultimate", "block1", "block2", "block3", "block4")

RESNET18_CHANNELS = (64, 128, 256, 512)
#: The CIFAR ResNet-32 of He et al. (CVPR 2016, §4.2): three stages of 16/32/64 channels,
#: five basic blocks each (6n + 2 layers, n = 5); Zhang et al. (ICML 2024, App. F.4) train it.
RESNET32_CHANNELS = (16, 32, 64)
RESNET32_BLOCKS = 5
VGG16_CFG = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
#: The plain MLP (the diversity study's architecture of another kind): the flattened image,
#: two hidden layers of 1024 units times the width (linear, batch norm, ReLU), one linear layer.
MLP_HIDDEN = 1024


def scaled(channels: int, width: float) -> int:
    """Channels of a layer with ``channels`` at width 1, at width factor ``width`` (at least 1)."""
    return max(1, int(round(channels * width)))


def stages(arch: str) -> int:
    """The stages of ``arch``: the layers ``block1``..``block<stages>`` exist."""
    return {"resnet18": 4, "resnet32": 3, "vgg16": len(VGG16_CFG), "mlp": 0}[arch]


def feature_dim(arch: str, width: float) -> int:
    """Penultimate features (input of the final linear layer) of ``arch`` at ``width``."""
    if arch == "resnet18":
        return scaled(RESNET18_CHANNELS[-1], width)
    if arch == "resnet32":
        return scaled(RESNET32_CHANNELS[-1], width)
    if arch == "vgg16":
        return scaled(VGG16_CFG[-1][-1], width)
    if arch == "mlp":
        return scaled(MLP_HIDDEN, width)
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHITECTURES)}")


def parameter_count(arch: str, width: float = 1.0, num_classes: int = 10, in_channels: int = 3,
                    image_size: int = 32) -> int:
    """Trainable parameters of ``featurelab.models.build_model(arch, num_classes, width,
    in_channels, image_size)``: convolutions (no bias), batch-norm scale and shift, the final
    linear layer (the MLP: its linear layers with biases; only it depends on ``image_size``)."""
    def conv(cin: int, cout: int, k: int) -> int:
        return cin * cout * k * k + 2 * cout  # weights + the following batch norm

    if arch in ("resnet18", "resnet32"):
        chans = [scaled(c, width) for c in (RESNET18_CHANNELS if arch == "resnet18" else RESNET32_CHANNELS)]
        blocks = 2 if arch == "resnet18" else RESNET32_BLOCKS
        total, cin = conv(in_channels, chans[0], 3), chans[0]
        for i, c in enumerate(chans):
            for stride in ((1 if i == 0 else 2), *[1] * (blocks - 1)):
                total += conv(cin, c, 3) + conv(c, c, 3)
                if stride != 1 or cin != c:
                    total += conv(cin, c, 1)
                cin = c
        return total + cin * num_classes + num_classes
    if arch == "vgg16":
        total, cin = 0, in_channels
        for stage in VGG16_CFG:
            for c in stage:
                c = scaled(c, width)
                total += conv(cin, c, 3)
                cin = c
        return total + cin * num_classes + num_classes
    if arch == "mlp":
        h, d = scaled(MLP_HIDDEN, width), in_channels * image_size * image_size
        return (d * h + h + 2 * h) + (h * h + h + 2 * h) + h * num_classes + num_classes
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHITECTURES)}")
