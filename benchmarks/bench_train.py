"""Training throughput on the CPU: the options of the fast path against today's plain loop.

Part 1 (``--options``, the default): trains members of the default config's network
(``config.yaml``: the ``synth`` ensemble's width, the ``small`` recipe's batch and learning
rate, its world's image size and training set) on a synthetic world with featurelab's own
training code, for a few epochs, once per option:

* ``plain``: the workflow's loop (float32, contiguous tensors, one thread per job);
* ``channels_last``: NHWC memory layout;
* ``compile``: ``torch.compile`` (inductor on the CPU); the first run's compilation starts
  from an empty inductor cache, as a fresh machine's first job would, and is printed apart;
* ``pack<G>``: G members trained as one grouped network (featurelab.training.packed), and
  ``pack<G>+cl`` the same in channels-last;
* ``2 jobs x 1 thread`` against ``1 job x 2 threads``: the machine's images/s with two
  one-thread processes side by side against one two-thread process (timed inside the
  processes, start-up excluded), which is what a workflow run with ``--cores 2`` chooses.

Each option trains ``--repeats`` times from the same seeds, reports its best images/s per
member, and says whether the weights came out bit for bit the same every time (run-to-run
determinism on one machine), and how far they are from the plain loop's (max |Δw|: after
a few epochs any change of rounding grows to the size of the weights, so this says
"different numbers", not "worse").

Part 2 (``--loader``): the fast path against a DataLoader baseline (the data normalised per
batch on the host and copied to the device), CPU and CUDA when present.

    python benchmarks/bench_train.py                              # part 1, the default's network
    python benchmarks/bench_train.py --width 0.03125 --pack 4 16   # the width study's narrowest
    python benchmarks/bench_train.py --loader --widths 1 0.125     # part 2
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# torch.compile's first run in a fresh process, from an empty on-disk cache
os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-inductor-")

from featurelab.config import load_config  # noqa: E402
from featurelab.data.prepared import Split, save_split  # noqa: E402
from featurelab.data.synthetic import WorldConfig, class_names, generate_split  # noqa: E402
from featurelab.models import build_model, count_parameters  # noqa: E402
from featurelab.training import Recipe, load_member, to_input, train_member, train_pack  # noqa: E402


def world(n_train: int, image_size: int) -> Split:
    cfg = WorldConfig(n_train=n_train, n_val=0, n_test=10, image_size=image_size, seed=0)
    images, labels, _ = generate_split(cfg, "train")
    return Split(images, labels, tuple(class_names(cfg)))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_member(path)[1]["state_dict"]


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def train_once(option: str, split: Split, args, out: Path, seeds: list[int]) -> tuple[float, list[Path]]:
    """Train ``seeds`` with ``option``; returns the images/s per member and the weight files."""
    recipe = Recipe(lr=args.lr, batch_size=args.batch, max_epochs=args.epochs, stop_at_train_acc=None)
    kw = dict(arch="resnet18", width=args.width, recipe=recipe, device="cpu", log=lambda s: None)
    fast = {"channels_last": "channels_last" in option or option.endswith("+cl"), "compile": option == "compile",
            "amp": "fp32"}
    paths = [out / f"{option}_s{s}.pt" for s in seeds]
    t0 = time.perf_counter()
    if option.startswith("pack"):
        train_pack(split, seeds=seeds, out_paths=paths, state_path=out / "state.pt", threads=1, fast=fast, **kw)
    else:
        for s, p in zip(seeds, paths):
            train_member(split, seed=s, out_path=p, state_path=out / "state.pt", threads=1, fast=fast, **kw)
    dt = time.perf_counter() - t0
    return len(seeds) * len(split) * args.epochs / dt, paths


def concurrent(args, data: Path, out: Path, jobs: int, threads: int) -> float:
    """Aggregate images/s of ``jobs`` processes side by side, each training one member with
    ``threads`` threads (what a workflow run with --cores 2 does)."""
    code = ("import sys, time, torch; sys.path.insert(0, %r)\n"
            "from featurelab.data.prepared import load_split\n"
            "from featurelab.training import Recipe, train_member\n"
            "split = load_split(%r)\n"
            "t0 = time.time()\n"
            "train_member(split, arch='resnet18', width=%r, seed=int(sys.argv[1]), "
            "recipe=Recipe(lr=%r, batch_size=%d, max_epochs=%d, stop_at_train_acc=None), device='cpu', "
            "threads=%d, out_path=sys.argv[2], state_path=sys.argv[2] + '.state', log=lambda s: None)\n"
            "print(t0, time.time())\n"
            % (str(ROOT), str(data), args.width, args.lr, args.batch, args.epochs, threads))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(j), str(out / f"c{jobs}x{threads}_{j}.pt")],
                              stdout=subprocess.PIPE, text=True) for j in range(jobs)]
    spans = []
    for p in procs:
        stdout, _ = p.communicate()
        if p.returncode:
            sys.exit("a concurrent training failed")
        spans.append([float(t) for t in stdout.split()[-2:]])
    # from the first process's first step to the last one's end: start-up excluded
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return jobs * args.n_train * args.epochs / wall


def options_part(args) -> None:
    split = world(args.n_train, args.image_size)
    model = build_model("resnet18", split.num_classes, args.width)
    print(f"torch {torch.__version__}; ResNet-18 width {args.width} ({count_parameters(model):,} parameters), "
          f"{args.image_size}x{args.image_size} images, {args.n_train} images x {args.epochs} epochs, "
          f"batch {args.batch}, lr {args.lr}, one thread per job, best of {args.repeats}")
    print(f"{'option':14s} {'img/s/member':>12s} {'vs plain':>9s} {'run-to-run':>11s} {'max |Δw| vs plain':>18s}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rows, plain_w = {}, None
        options = (["plain", "channels_last"] + (["compile"] if args.compile else [])
                   + [f"pack{g}{cl}" for g in args.pack for cl in ("", "+cl")])
        for option in options:
            g = int(option[4:].removesuffix("+cl")) if option.startswith("pack") else 1
            seeds = list(range(g))
            speeds, files = [], []
            for rep in range(args.repeats):
                (out / option).mkdir(exist_ok=True)
                rep_dir = out / option / str(rep)
                rep_dir.mkdir()
                t_compile = time.perf_counter()
                speed, paths = train_once(option, split, args, rep_dir, seeds)
                speeds.append(speed)
                files.append(paths)
                if option == "compile" and rep == 0:
                    print(f"  (compile: first run {time.perf_counter() - t_compile:.1f} s including compilation)")
            same = all(max_diff(weights(a), weights(b)) == 0.0 for a, *rest in zip(*files) for b in rest)
            w0 = weights(files[0][0])
            if option == "plain":
                plain_w = w0
            rows[option] = max(speeds)
            print(f"{option:14s} {rows[option]:12.0f} {rows[option] / rows['plain']:8.2f}x "
                  f"{'identical' if same else 'DIFFERENT':>11s} {max_diff(w0, plain_w):18.2e}", flush=True)
        data = out / "train.npz"
        save_split(data, split.images, split.labels, split.classes)
        two_jobs = concurrent(args, data, out, jobs=2, threads=1)
        one_job = concurrent(args, data, out, jobs=1, threads=2)
        print(f"{'2 jobs x 1 thread':18s} {two_jobs:8.0f} img/s for the machine")
        print(f"{'1 job x 2 threads':18s} {one_job:8.0f} img/s for the machine ({one_job / two_jobs:.2f}x)")


# ------------------------------------------------------------------ part 2: the DataLoader baseline

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
    return steps * bs / (time.perf_counter() - t0)


def loader_part(args) -> None:
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images).astype(np.int64)
    mean, std = [0.5] * 3, [0.25] * 3
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, CPU threads {args.threads}, batch {args.batch}")
    print(f"{'device':8s} {'width':>6s} {'params':>11s} {'fast img/s':>11s} {'loader img/s':>13s} {'ratio':>6s}")
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
                  f" {fast / base:6.2f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loader", action="store_true", help="part 2: the fast path against a DataLoader")
    default = load_config(ROOT / "config.yaml")
    world_cfg, recipe = default["data"]["synthetic"], default["recipes"]["small"]
    ap.add_argument("--width", type=float, default=default["ensembles"]["synth"]["width"],
                    help="part 1: the network's width factor (config.yaml's synth ensemble)")
    ap.add_argument("--image-size", type=int, default=world_cfg["image_size"])
    ap.add_argument("--n-train", type=int, default=world_cfg["n_train"])
    ap.add_argument("--lr", type=float, default=recipe["lr"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pack", type=int, nargs="*", default=[4])
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.125], help="part 2")
    ap.add_argument("--steps", type=int, default=10, help="part 2: timed steps (CPU)")
    ap.add_argument("--gpu-steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=recipe["batch_size"])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="part 2")
    ap.add_argument("--images", type=int, default=5000, help="part 2")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    (loader_part if args.loader else options_part)(args)


if __name__ == "__main__":
    main()
