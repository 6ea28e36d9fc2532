"""Training throughput of the CIFAR ResNet-18 (images/s), fast path vs a DataLoader baseline.

The fast path is featurelab's: the member's data normalised once and resident on the
device, a batch is an index into it. The baseline is the textbook loop: a
``torch.utils.data.DataLoader`` over a ``TensorDataset`` of uint8 images, normalised
per batch on the host and copied to the device. Both run the same model, optimiser
and batch size in the same process.

    python benchmarks/bench_train.py                 # CPU (and CUDA if present)
    python benchmarks/bench_train.py --widths 1 0.125 --steps 20 --threads 2
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from featurelab.models import build_model, count_parameters
from featurelab.training import to_input


def fast_steps(model, opt, x, y, steps, bs, device):
    n = x.shape[0]
    perm = torch.randperm(n, device=device)
    for s in range(steps):
        idx = perm[(s * bs) % (n - bs):(s * bs) % (n - bs) + bs]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def loader_steps(model, opt, images, labels, steps, bs, device, mean, std):
    ds = torch.utils.data.TensorDataset(torch.as_tensor(images), torch.as_tensor(labels))
    dl = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, drop_last=True)
    it = iter(dl)
    for _ in range(steps):
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(dl)
            xb, yb = next(it)
        xb = to_input(xb.numpy(), mean, std, torch.device("cpu")).to(device)
        loss = F.cross_entropy(model(xb), yb.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def measure(fn, steps, bs, device, warmup=2):
    fn(warmup)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return steps * bs / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.125])
    ap.add_argument("--steps", type=int, default=10, help="timed steps per measurement (CPU)")
    ap.add_argument("--gpu-steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--images", type=int, default=5000)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images).astype(np.int64)
    mean, std = [0.5] * 3, [0.25] * 3
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, CPU threads {args.threads}, batch {args.batch}")
    print(f"{'device':8s} {'width':>6s} {'params':>11s} {'fast img/s':>11s} {'loader img/s':>13s} {'ratio':>6s}"
          f" {'epoch(50k) fast':>16s}")
    for device in devices:
        steps = args.steps if device.type == "cpu" else args.gpu_steps
        x = to_input(images, mean, std, device)
        y = torch.as_tensor(labels, device=device)
        for w in args.widths:
            torch.manual_seed(0)
            model = build_model("resnet18", 10, w).to(device).train()
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
            fast, base = 0.0, 0.0
            for _ in range(2):  # interleaved repeats, best of two: warm-up effects hit neither side
                base = max(base, measure(lambda s: loader_steps(model, opt, images, labels, s, args.batch,
                                                                device, mean, std), steps, args.batch, device))
                fast = max(fast, measure(lambda s: fast_steps(model, opt, x, y, s, args.batch, device),
                                         steps, args.batch, device))
            print(f"{device.type:8s} {w:6.3g} {count_parameters(model):11,d} {fast:11.0f} {base:13.0f}"
                  f" {fast / base:6.2f} {50_000 / fast:15.1f}s", flush=True)


if __name__ == "__main__":
    main()
