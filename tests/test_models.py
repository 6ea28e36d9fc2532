import pytest
import torch

from featurelab.models import build_model, count_parameters, scaled


def test_resnet18_full_width_has_the_cifar_parameter_count():
    # the CIFAR ResNet-18 (3x3 stem, no max-pool, 10 classes) has 11,173,962 parameters
    assert count_parameters(build_model("resnet18", 10, 1.0)) == 11_173_962


def test_vgg16_full_width_parameter_count():
    # 13 bias-free 3x3 convs with batch norm (2 params per channel) + a 512->10 linear layer
    cfg = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    cin, n = 3, 0
    for c in cfg:
        n += 9 * cin * c + 2 * c
        cin = c
    assert count_parameters(build_model("vgg16", 10, 1.0)) == n + 512 * 10 + 10


@pytest.mark.parametrize("arch", ["resnet18", "vgg16"])
@pytest.mark.parametrize("width", [1.0, 0.5, 0.125, 1 / 16])
def test_features_shapes(arch, width):
    model = build_model(arch, 7, width, in_channels=1).eval()
    x = torch.randn(3, 1, 32, 32)
    out = model.features(x, ("penultimate", "block1", "block2", "block3", "block4"))
    assert out["logits"].shape == (3, 7)
    assert out["penultimate"].shape == (3, scaled(512, width))
    assert out["block1"].shape == (3, scaled(64, width))
    torch.testing.assert_close(out["logits"], model(x))
    # the penultimate layer is the input of the final linear layer
    torch.testing.assert_close(model.linear(out["penultimate"]), out["logits"])


def test_bad_arch_and_width():
    with pytest.raises(ValueError, match="allowed: resnet18, vgg16"):
        build_model("resnet50", 10)
    with pytest.raises(ValueError, match="width"):
        build_model("resnet18", 10, 0)
