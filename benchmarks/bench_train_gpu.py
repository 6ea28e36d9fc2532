"""Training speed on this machine's accelerator (or CPU): plain baseline vs featurelab's fast
path, packed vs one model per process, and the estimated time of the paper presets.

In one run, on one device:

1. ResNet-18 at widths 1 and 1/16 (``--widths``), one epoch of ``--images`` 32×32 images,
   batch 100: the *plain baseline* (a ``DataLoader`` over a host ``TensorDataset`` of
   normalised float32 images, shuffled, each batch copied to the device, float32, default
   memory layout) against the *fast path* (:func:`featurelab.training.train_member` itself:
   data resident on the device, a batch is an index, bfloat16 autocast and channels-last
   on CUDA; ``--compile`` adds torch.compile). Images/s, seconds per epoch (and scaled to
   50,000 images), peak GPU memory, the ratio.
2. The width study's narrow ensemble: ``--pack-members`` members at width 1/16 trained
   as one packed job (:func:`featurelab.training.train_pack`) against one member per process,
   as the workflow runs them without packing. Each is a real subprocess (interpreter,
   imports, CUDA start-up, data loading, training, test evaluation, writing the files);
   ``--procs`` single-member processes are timed and scaled to the ensemble. Reported for
   the measured epochs and projected to the recipe's epochs.
3. The paper presets (``--presets``): every ensemble of the plan (featurelab.config with
   the GDE and width studies' generated ensembles), members × epochs × images ÷ the
   fast path's measured throughput at that architecture and width (+ the measured
   per-job start-up), one job at a time on this one device. Recipes that stop at 100%
   training accuracy are counted at ``max_epochs`` (an upper bound) unless
   ``--fit-epochs`` says how many epochs they take.

    python benchmarks/bench_train_gpu.py                      # CUDA if present, else CPU (small sizes)
    python benchmarks/bench_train_gpu.py --device cpu --images 1000 --threads 2
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
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

from featurelab.data.prepared import Split, load_split, save_split  # noqa: E402
from featurelab.models import build_model  # noqa: E402
from featurelab.training import Recipe, channel_stats, compiled, select_device, train_member  # noqa: E402

CLASSES = tuple(f"c{i}" for i in range(10))


def synthetic_split(n: int, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    return Split(rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64),
                 CLASSES)


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def reset_peak(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(dev: torch.device) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else float("nan")


def plain_epoch(split: Split, width: float, dev: torch.device, batch: int, warmup: int = 3) -> dict:
    """The textbook loop: DataLoader over host tensors, .to(device) per batch, float32, no
    cuDNN autotuning (the fast path turns it on; reset here so the order does not matter)."""
    torch.backends.cudnn.benchmark = False
    mean, std = channel_stats(split.images)
    x = torch.as_tensor(split.images).permute(0, 3, 1, 2).float().div(255)
    x = ((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)).contiguous()
    ds = torch.utils.data.TensorDataset(x, torch.as_tensor(split.labels))
    dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, drop_last=False,
                                     generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = build_model("resnet18", 10, width).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step(xb, yb):
        xb, yb = xb.to(dev), yb.to(dev)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i, (xb, yb) in enumerate(dl):  # warm-up: kernels chosen, allocator filled
        if i >= warmup:
            break
        step(xb, yb)
    reset_peak(dev)
    sync(dev)
    t0 = time.perf_counter()
    for xb, yb in dl:
        step(xb, yb)
    sync(dev)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "images_per_s": len(split) / dt, "peak_gib": peak_gib(dev)}


def fast_epoch(split: Split, width: float, dev: torch.device, batch: int, compile_: bool, tmp: Path,
               arch: str = "resnet18", epochs: int = 2) -> dict:
    """featurelab's own train_member; the last epoch's time (the first warms up)."""
    reset_peak(dev)
    recipe = Recipe(lr=0.01, batch_size=batch, max_epochs=epochs, stop_at_train_acc=None)
    m = train_member(split, arch=arch, width=width, seed=0, recipe=recipe, out_path=tmp / "fast.pt",
                     state_path=tmp / "fast_state.pt", device=str(dev), log=lambda s: None,
                     fast={"compile": compile_})
    h = m["history"][-1]
    return {"seconds": h["seconds"], "images_per_s": h["images_per_s"], "peak_gib": peak_gib(dev)}


def fast_rate(arch: str, width: float, dev: torch.device, batch: int, steps: int, compile_: bool,
              pack: int = 0, n: int = 4000) -> float:
    """Images/s of the fast path's training step (packed: images of all members), ``steps`` timed
    steps after warm-up, for the preset estimate."""
    from featurelab.training import (
        FastPath,
        autocast,
        fused_sgd,
        initial_model,
        member_losses,
        pack_models,
        stack_members,
        to_input,
    )

    opts = FastPath(compile=compile_).resolve(dev)
    cl = opts["channels_last"]
    split = synthetic_split(n, seed=1)
    x = to_input(split.images, [0.5] * 3, [0.25] * 3, dev)
    y = torch.as_tensor(split.labels, device=dev)
    G = max(1, pack)
    if pack:
        net = pack_models([initial_model(arch, 10, width, 3, s) for s in range(G)])
        if cl:
            x = x.permute(0, 2, 3, 1).contiguous()
    else:
        net = initial_model(arch, 10, width, 3, 0)
        x = x.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
    net = net.to(dev, memory_format=torch.channels_last if cl else torch.contiguous_format).train()
    step_net = compiled(net, opts["compile"])
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4, **fused_sgd(dev))
    gen = torch.Generator(device=dev).manual_seed(0)

    def run(k):
        for _ in range(k):
            idx = torch.randint(0, n, (G, batch), device=dev, generator=gen)
            with autocast(dev, opts["amp_dtype"]):
                if pack:
                    loss = member_losses(step_net(stack_members(x, idx, cl)), y[idx].t()).sum()
                else:
                    loss = F.cross_entropy(step_net(x[idx[0]]).float(), y[idx[0]])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    run(3 if not opts["compile"] else 10)
    sync(dev)
    t0 = time.perf_counter()
    run(steps)
    sync(dev)
    return steps * batch * G / (time.perf_counter() - t0)


# ------------------------------------------------------------------ packed vs one per process

def worker(args) -> None:
    """One job as the workflow runs it (a subprocess of the benchmark)."""
    from featurelab.training import train_pack

    if args.threads:
        torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    data = Path(args.data)
    train, test = load_split(data / "train.npz"), load_split(data / "test.npz")
    recipe = Recipe(lr=0.05, batch_size=args.batch, max_epochs=args.epochs, stop_at_train_acc=None)
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.worker == "solo":
        m = [train_member(train, test=test, arch="resnet18", width=args.pack_width, seed=seeds[0], recipe=recipe,
                          out_path=out / f"solo{seeds[0]}.pt", state_path=out / f"solo{seeds[0]}.state",
                          device=args.device, log=lambda s: None)]
    else:
        m = train_pack(train, test=test, arch="resnet18", width=args.pack_width, seeds=seeds, recipe=recipe,
                       out_paths=[out / f"pack{s}.pt" for s in seeds], state_path=out / "pack.state",
                       device=args.device, log=lambda s: None)
    print(json.dumps({"epoch_seconds": [h["seconds"] for h in m[0]["history"]],
                      "test_acc": [r["test_acc"] for r in m], "in_process": time.perf_counter() - t_start}))


def spawn(args, kind: str, seeds: list[int], data: Path, out: Path, dev: torch.device) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--data", str(data), "--out", str(out), "--seeds",
           ",".join(map(str, seeds)), "--epochs", str(args.pack_epochs), "--batch", str(args.batch),
           "--pack-width", str(args.pack_width), "--device", str(dev), "--threads", str(args.threads or 0)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if res.returncode:
        raise RuntimeError(res.stderr[-3000:])
    r = json.loads(res.stdout.strip().splitlines()[-1])
    return {**r, "wall": wall}


# ------------------------------------------------------------------ preset estimate

def preset_plan(path: Path) -> tuple[dict, list[dict]]:
    from featurelab.config import TRAIN_SIZES, gde_ensembles, load_config, width_ensembles
    from featurelab.gpus import pack_plan

    cfg = load_config(path)
    ens = {**cfg["ensembles"], **gde_ensembles(cfg), **width_ensembles(cfg)}
    packs = pack_plan(ens, cfg["train"]["pack"]) if "train" in cfg else {}
    rows = []
    for name, e in ens.items():
        base, _, variant = e["dataset"].partition("__")
        n = TRAIN_SIZES.get(base, cfg["data"]["synthetic"]["n_train"])
        if variant.startswith("holdout"):
            n -= int(variant[len("holdout"):])
        elif variant.startswith("blue"):
            n //= max(1, cfg["gde"]["blue_groups"])
        if e.get("subset"):
            n = e["subset"]
        r = cfg["recipes"][e["recipe"]]
        rows.append({"ensemble": name, "arch": e["arch"], "width": float(e["width"]), "members": e["members"],
                     "images": n, "max_epochs": r["max_epochs"], "stops_early": r["stop_at_train_acc"] is not None,
                     "packs": len(packs.get(name, []))})
    return cfg, rows


def estimate(args, dev: torch.device, job_overhead: float) -> None:
    plans = {p: preset_plan(ROOT / p) for p in args.presets}
    needed = {(r["arch"], r["width"]) for _, rows in plans.values() for r in rows}
    packed_needed = {(r["arch"], r["width"]) for _, rows in plans.values() for r in rows
                     if r["width"] <= args.pack_max_width + 1e-12}
    steps = args.estimate_steps
    print(f"\n== 3. paper presets on this {dev.type} (fast path, one job at a time; {steps} timed steps per rate)")
    rates = {}
    for arch, width in sorted(needed):
        rates[(arch, width, 0)] = fast_rate(arch, width, dev, args.batch, steps, args.compile)
    for arch, width in sorted(packed_needed):
        rates[(arch, width, args.pack_members)] = fast_rate(arch, width, dev, args.batch, max(1, steps // 2),
                                                            args.compile, pack=args.pack_members)
    print(f"{'arch':9s} {'width':>7s} {'img/s solo':>11s} {'img/s packed x' + str(args.pack_members):>17s}")
    for arch, width in sorted(needed):
        p = rates.get((arch, width, args.pack_members))
        print(f"{arch:9s} {width:7.4g} {rates[(arch, width, 0)]:11.0f} {'-' if p is None else f'{p:.0f}':>17s}")
    for preset, (cfg, rows) in plans.items():
        total_solo = total_pack = 0.0
        jobs_solo = jobs_pack = 0
        print(f"\n{preset}: {sum(r['members'] for r in rows)} members in {len(rows)} ensembles")
        print(f"{'ensemble':22s} {'arch':9s} {'width':>7s} {'members':>7s} {'images':>7s} {'epochs':>7s}"
              f" {'h one/job':>10s} {'h packed':>9s}")
        for r in rows:
            epochs = (args.fit_epochs or r["max_epochs"]) if r["stops_early"] else r["max_epochs"]
            epochs = min(epochs, r["max_epochs"])
            work = r["members"] * epochs * r["images"]
            solo = work / rates[(r["arch"], r["width"], 0)] + r["members"] * job_overhead
            prate = rates.get((r["arch"], r["width"], args.pack_members))
            if prate is not None:
                n_packs = math.ceil(r["members"] / args.pack_members)
                packed = work / prate + n_packs * job_overhead
            else:
                n_packs, packed = r["members"], solo
            total_solo += solo
            total_pack += packed
            jobs_solo += r["members"]
            jobs_pack += n_packs
            print(f"{r['ensemble']:22s} {r['arch']:9s} {r['width']:7.4g} {r['members']:7d} {r['images']:7d}"
                  f" {epochs:7d} {solo / 3600:10.2f} {packed / 3600:9.2f}")
        bound = " (upper bound: max_epochs of recipes that stop at 100% training accuracy)" \
            if any(r["stops_early"] for r in rows) and not args.fit_epochs else ""
        print(f"TOTAL {preset}: {total_solo / 3600:.1f} h with one member per job ({jobs_solo} jobs), "
              f"{total_pack / 3600:.1f} h with members of width <= {args.pack_max_width:g} packed "
              f"{args.pack_members} to a job ({jobs_pack} jobs){bound}; training only, one {dev.type} device")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto (CUDA if present), cuda or cpu")
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.0625])
    ap.add_argument("--images", type=int, default=None, help="images per epoch (default 50000 on CUDA, 1000 on CPU)")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument("--compile", nargs="?", const="default", default=False,
                    help="the fast path with torch.compile too, in this mode (default; reduce-overhead: CUDA graphs)")
    ap.add_argument("--pack-members", type=int, default=None, help="members per pack (default 16 on CUDA, 4 on CPU)")
    ap.add_argument("--pack-width", type=float, default=0.0625)
    ap.add_argument("--pack-max-width", type=float, default=0.125)
    ap.add_argument("--pack-epochs", type=int, default=None, help="epochs per job in part 2 (default 3 CUDA, 2 CPU)")
    ap.add_argument("--pack-images", type=int, default=None, help="training images in part 2 (default 45000 CUDA, 1000 CPU)")
    ap.add_argument("--procs", type=int, default=2, help="single-member processes actually timed in part 2")
    ap.add_argument("--project-epochs", type=int, default=300, help="epochs to project part 2 to (Duzgun, Jelassi, Li 2024: 300)")
    ap.add_argument("--presets", nargs="*", default=["presets/paper000.yaml", "presets/paper002.yaml"])
    ap.add_argument("--estimate-steps", type=int, default=None, help="timed steps per rate in part 3 (50 CUDA, 3 CPU)")
    ap.add_argument("--fit-epochs", type=int, default=None,
                    help="epochs a recipe stopping at 100%% training accuracy takes (default: its max_epochs)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["plain", "pack", "estimate"])
    ap.add_argument("--worker", choices=["solo", "pack"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--seeds", help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        args.pack_epochs = args.epochs
        return worker(args)

    dev = select_device(args.device)
    gpu = dev.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)
    images = args.images or (50_000 if gpu else 1000)
    args.pack_members = args.pack_members or (16 if gpu else 4)
    args.pack_epochs = args.pack_epochs or (3 if gpu else 2)
    pack_images = args.pack_images or (45_000 if gpu else 1000)
    args.estimate_steps = args.estimate_steps or (50 if gpu else 3)
    name = torch.cuda.get_device_name(dev) if gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"DEVICE: {dev} ({name}); torch {torch.__version__}; batch {args.batch}")
    if not gpu:
        print("(no GPU: CPU figures at small sizes; the GPU figures are pending)")

    tmp = Path(tempfile.mkdtemp(prefix="bench_train_gpu_"))
    job_overhead = 0.0
    if "plain" not in args.skip:
        split = synthetic_split(images)
        print(f"\n== 1. ResNet-18, one epoch of {images} images: plain DataLoader baseline vs fast path"
              f" ({'bf16 autocast + channels-last' if gpu else 'float32, as on any CPU'}"
              f"{' + torch.compile' if args.compile else ''})")
        print(f"{'width':>7s} {'plain img/s':>12s} {'fast img/s':>11s} {'ratio':>6s} {'plain s/ep':>11s}"
              f" {'fast s/ep':>10s} {'fast s/50k':>11s} {'plain GiB':>10s} {'fast GiB':>9s}")
        for w in args.widths:
            base = plain_epoch(split, w, dev, args.batch)
            fast = fast_epoch(split, w, dev, args.batch, args.compile, tmp)
            print(f"{w:7.4g} {base['images_per_s']:12.0f} {fast['images_per_s']:11.0f}"
                  f" {fast['images_per_s'] / base['images_per_s']:6.2f} {base['seconds']:11.2f}"
                  f" {fast['seconds']:10.2f} {50_000 / fast['images_per_s']:11.2f} {base['peak_gib']:10.2f}"
                  f" {fast['peak_gib']:9.2f}", flush=True)

    if "pack" not in args.skip:
        G = args.pack_members
        data = tmp / "data"
        data.mkdir()
        tr, te = synthetic_split(pack_images, 2), synthetic_split(max(100, pack_images // 5), 3)
        save_split(data / "train.npz", tr.images, tr.labels, CLASSES)
        save_split(data / "test.npz", te.images, te.labels, CLASSES)
        print(f"\n== 2. {G} members of ResNet-18 width {args.pack_width:g}, {pack_images} images, "
              f"{args.pack_epochs} epochs per job, each job a fresh process")
        solos = [spawn(args, "solo", [s], data, tmp, dev) for s in range(min(args.procs, G))]
        packed = spawn(args, "pack", list(range(G)), data, tmp, dev)
        solo_wall = float(np.mean([s["wall"] for s in solos]))
        solo_epoch = float(np.mean([s["epoch_seconds"][-1] for s in solos]))
        pack_epoch = packed["epoch_seconds"][-1]
        solo_over = float(np.mean([s["wall"] - sum(s["epoch_seconds"]) for s in solos]))
        pack_over = packed["wall"] - sum(packed["epoch_seconds"])
        job_overhead = solo_over
        E = args.project_epochs
        print(f"one member per process: {solo_wall:.1f} s per job (mean of {len(solos)}; start-up, data, test and "
              f"files {solo_over:.1f} s, epoch {solo_epoch:.2f} s) -> {G} jobs: {G * solo_wall:.1f} s")
        print(f"one packed job of {G}:   {packed['wall']:.1f} s (start-up, data, test and files {pack_over:.1f} s, "
              f"epoch {pack_epoch:.2f} s for all {G})")
        print(f"speed-up packed vs one per process: {G * solo_wall / packed['wall']:.2f}x at {args.pack_epochs} "
              f"epochs, {G * solo_epoch / pack_epoch:.2f}x per epoch, "
              f"{G * (solo_over + E * solo_epoch) / (pack_over + E * pack_epoch):.2f}x projected to {E} epochs")
        print(f"test accuracy (random labels: chance is 0.1): solo {[round(a, 3) for s in solos for a in s['test_acc']]}"
              f", packed {[round(a, 3) for a in packed['test_acc'][:len(solos)]]}")

    if "estimate" not in args.skip:
        estimate(args, dev, job_overhead)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nDEVICE: {dev} ({name})")


if __name__ == "__main__":
    main()
