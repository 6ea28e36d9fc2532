"""The training code on a CUDA GPU: the fast path (bf16 autocast, channels-last) and packing.

Skipped where PyTorch sees no GPU (CI); run on a GPU machine with
``python -m pytest tests/test_cuda.py``.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import sgd_step, world_splits

from featurelab.training import (
    Recipe,
    initial_model,
    load_member,
    member_losses,
    member_state,
    pack_models,
    stack_members,
    train_member,
    train_pack,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SEEDS = [3, 4, 5, 6]
RECIPE = Recipe(lr=0.05, batch_size=100, max_epochs=6, stop_at_train_acc=None, checkpoint_epochs=(0,))


@pytest.fixture(scope="module")
def world():
    return world_splits(n_train=3000, n_test=1000, num_classes=10, seed=0)


def _solo(world, tmp, seed, fast, width=0.125, recipe=RECIPE):
    train, test = world
    return train_member(train, test=test, arch="resnet18", width=width, seed=seed, recipe=recipe,
                        out_path=tmp / f"solo{seed}_{fast['amp']}.pt", state_path=tmp / "state.pt",
                        device="cuda", log=lambda s: None, fast=fast)


def test_fast_path_matches_the_fp32_path_in_accuracy(world, tmp_path):
    """bf16 autocast + channels-last train to the same accuracy band as fp32 on the same GPU,
    and the weights they write load back on the CPU in the default layout."""
    recipe = Recipe(lr=0.05, batch_size=100, max_epochs=14, stop_at_train_acc=None)  # the default run's
    fp32 = [_solo(world, tmp_path, s, {"amp": "fp32", "channels_last": False}, recipe=recipe) for s in SEEDS]
    fast = [_solo(world, tmp_path, s, {"amp": "auto"}, recipe=recipe) for s in SEEDS]
    a32, a16 = [m["test_acc"] for m in fp32], [m["test_acc"] for m in fast]
    print(f"fp32 {np.round(a32, 3)}  bf16+channels-last {np.round(a16, 3)}")
    assert np.mean(a32) > 0.5 and abs(np.mean(a32) - np.mean(a16)) < 0.06
    model, payload = load_member(tmp_path / f"solo{SEEDS[0]}_auto.pt", "cpu")
    assert all(v.is_contiguous() for v in payload["state_dict"].values())


def test_packed_forward_and_step_equal_each_member_on_cuda():
    members = [initial_model("resnet18", 10, 1 / 16, 3, s).cuda() for s in SEEDS]
    net = pack_models(members).cuda()
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(64, 3, 32, 32, generator=gen).cuda()
    labels = torch.randint(0, 10, (64,), generator=gen).cuda()
    idx = torch.stack([torch.randperm(64, generator=torch.Generator().manual_seed(s))[:32] for s in SEEDS]).cuda()
    torch.backends.cudnn.allow_tf32 = False  # full fp32: TF32 rounds to 1e-3
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    sgd = dict(lr=0.05, momentum=0.9, weight_decay=1e-4)
    out = sgd_step(net, stack_members(data, idx, False), labels[idx].t(), lambda o, y: member_losses(o, y).sum(),
                   **sgd)
    for g, m in enumerate(members):
        m.train()
        with torch.no_grad():
            torch.testing.assert_close(out[:, g], m(data[idx[g]]), atol=1e-4, rtol=1e-4)
        m.load_state_dict(initial_model("resnet18", 10, 1 / 16, 3, SEEDS[g]).state_dict())
        sgd_step(m, data[idx[g]], labels[idx[g]], F.cross_entropy, **sgd)
        packed, own = member_state(net, g), m.state_dict()
        for k in own:
            a, b = packed[k].float().cpu(), own[k].float().cpu()
            err = (a - b).abs().max().item()
            assert err < 1e-4 * (1 + b.abs().max().item()), (k, err)


def test_packed_training_on_cuda_lands_in_the_solo_band(world, tmp_path):
    train, test = world
    n = len(SEEDS)
    packed = train_pack(train, test=test, arch="resnet18", width=1 / 16, seeds=SEEDS, recipe=RECIPE,
                        out_paths=[tmp_path / f"p{g}.pt" for g in range(n)], state_path=tmp_path / "pstate.pt",
                        checkpoint_dirs=[tmp_path / f"p{g}" for g in range(n)],
                        member_logs=[tmp_path / f"p{g}.log" for g in range(n)], device="cuda",
                        log=lambda s: None, metas=[{"member": g} for g in range(n)], fast={"amp": "auto"})
    solo = [_solo(world, tmp_path, s, {"amp": "auto"}, width=1 / 16) for s in SEEDS]
    ap, asolo = np.mean([m["test_acc"] for m in packed]), np.mean([m["test_acc"] for m in solo])
    print(f"packed {ap:.3f}  solo {asolo:.3f}")
    assert asolo > 0.2 and abs(ap - asolo) < 0.08
    for g in range(n):
        _, payload = load_member(tmp_path / f"p{g}.pt", "cpu")
        assert payload["seed"] == SEEDS[g]
