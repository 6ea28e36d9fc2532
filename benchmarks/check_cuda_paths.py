"""The training paths the faithful protocols added, run on a CUDA device with the fast path
(bfloat16 autocast, channels-last) and on the CPU in float32, side by side: SimCLR
pre-training and its linear head (the diversity study's Framework category), PGD
adversarial training (Zhang et al., ICML 2024, App. F.4), pad-and-resize augmentation, and
packed members stopped on held-out accuracy checked three times per epoch (the diversity
study's rule of selection). It checks that each runs and stays finite on both devices,
and prints the test accuracy (a few epochs: not a trained network) and the wall time of each.

    python benchmarks/check_cuda_paths.py            # needs CUDA; the CPU column runs anyway

The suite tests every path on the CPU; this is the check for the GPU, where the tests
cannot run. Bitwise equality between the devices is not expected (bf16, other kernels).
"""
from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from featurelab.data.prepared import Split  # noqa: E402
from featurelab.data.synthetic import WorldConfig, class_names, generate_split  # noqa: E402
from featurelab.training import Recipe, train_member, train_pack  # noqa: E402

WORLD = dict(num_classes=10, image_size=24, motif_size=6, t_d=5, t_r=40, n_d=2, n_r=4, p_d=0.7, noise=0.08,
             n_train=1500, n_test=1000, seed=0)
BASE = dict(lr=0.05, momentum=0.9, weight_decay=1e-4, batch_size=100, lr_step_epochs=6, lr_step_factor=0.1,
            max_epochs=4, stop_at_train_acc=None)


def splits() -> tuple[Split, Split, Split]:
    cfg = WorldConfig(**WORLD)
    names = tuple(class_names(cfg))
    train, test = (Split(*generate_split(cfg, s)[:2], names) for s in ("train", "test"))
    held = WorldConfig(**{**WORLD, "n_test": 500, "draw": 1})
    return train, test, Split(*generate_split(held, "test")[:2], names)


def cases() -> dict[str, Recipe]:
    return {
        "plain": Recipe.from_dict(BASE),
        "pad_resize": Recipe.from_dict({**BASE, "augment": "crop_flip", "pad": 6, "pad_color": [150, 50, 50],
                                        "pad_mode": "resize"}),
        "pgd_l2": Recipe.from_dict({**BASE, "max_epochs": 2, "adv_steps": 2}),
        "simclr": Recipe.from_dict({**BASE, "max_epochs": 20, "lr_step_epochs": 15,
                                    "simclr": {"epochs": 3, "batch_size": 128, "projection_dim": 64,
                                               "warmup_epochs": 1, "crop_scale": [0.5, 1.0]}}),
    }


def run(device: str, fast: dict, tmp: Path) -> dict[str, tuple[float, float]]:
    train, test, held = splits()
    out = {}
    for name, recipe in cases().items():
        t0 = time.perf_counter()
        m = train_member(train, test=test, arch="resnet18", width=0.125, seed=0, recipe=recipe,
                         out_path=tmp / f"{device}_{name}.pt", state_path=tmp / f"{device}_{name}.state",
                         device=device, threads=2 if device == "cpu" else None, fast=fast, log=lambda s: None)
        out[name] = (m["test_acc"], time.perf_counter() - t0)
    stop = replace(Recipe.from_dict({**BASE, "max_epochs": 8, "stop_at_heldout_acc": 0.35, "heldout_checks": 3}))
    t0 = time.perf_counter()
    ms = train_pack(train, test=test, heldout=held, arch="resnet18", width=0.125, seeds=[0, 1, 2, 3], recipe=stop,
                    out_paths=[tmp / f"{device}_p{i}.pt" for i in range(4)], state_path=tmp / f"{device}_pack.state",
                    device=device, threads=2 if device == "cpu" else None, fast=fast, log=lambda s: None)
    held_acc = [m["history"][-1].get("heldout_acc") for m in ms]
    out["pack_heldout_stop"] = (float(np.mean([m["test_acc"] for m in ms])), time.perf_counter() - t0)
    out["pack_heldout_at_stop"] = (float(np.min(held_acc)), float(np.max(held_acc)))
    return out


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if torch.cuda.is_available():
            print("CUDA:", torch.cuda.get_device_name(0), "torch", torch.__version__, flush=True)
            results["cuda bf16+cl"] = run("cuda", {"amp": "auto", "channels_last": None}, tmp)
        else:
            print("no CUDA device: the CPU column only", flush=True)
        results["cpu fp32"] = run("cpu", {"amp": "fp32", "channels_last": False}, tmp)
    names = list(next(iter(results.values())))
    print(f"\n{'path':22s}" + "".join(f"{k:>26s}" for k in results))
    for n in names:
        row = "".join(f"{v[n][0]:>14.3f} {v[n][1]:>10.1f}s" if n != "pack_heldout_at_stop"
                      else f"{v[n][0]:>14.3f} {v[n][1]:>11.3f}" for v in results.values())
        print(f"{n:22s}{row}")
    print("(test accuracy and wall time; pack_heldout_at_stop: the lowest and highest held-out accuracy at which "
          "the four packed members stopped, target 0.35)")
    bad = [(k, n) for k, v in results.items() for n, (a, _) in v.items() if not np.isfinite(a)
           or (n not in ("pack_heldout_at_stop", "pgd_l2", "simclr") and a <= 0.15)]
    if bad:
        sys.exit(f"not learning or not finite: {bad}")


if __name__ == "__main__":
    main()
