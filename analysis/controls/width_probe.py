"""Design probe of the width study's control, "width-only features" (docs/width.md, "Control:
width-only features"): Duzgun, Jelassi, Li (2024) §3 findings 3.1-3.2 with and without the
co-occurrence classes (the image form of §4's product of signs).

    PYTHONPATH=. python analysis/controls/width_probe.py --time            # one epoch per width, one CPU thread
    PYTHONPATH=. python analysis/controls/width_probe.py --device cuda --workers 8 --out /tmp/wp

The second trains, per arm (on: ``cooccurrence.classes`` = 6; off: none) on the default's
world, two base members (ResNet-18 at ``--base-width``, seeds 0, 1) and ``--narrow`` members at
``--base-width × --alpha`` (seeds 100 …), all with the recipe ``wide``, extracts their
penultimate features on train, val and test, and runs the control's decision
(:func:`featurelab.width.controls.decide_width`), printing the verdicts and numbers. The
package's own training (:func:`featurelab.training.train_member`) and extraction
(:func:`featurelab.extract.extract_features`) do the work, as the workflow's rules do.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

#: The default's world (config.yaml data.synthetic).
WORLD = dict(num_classes=10, image_size=24, motif_size=6, t_d=5, t_r=40, n_d=2, n_r=4, p_d=0.7, noise=0.08,
             n_train=1500, n_val=300, n_test=1000, seed=0,
             blue_tie={"enabled": True, "rare_pool_min_fraction": 0.25})
#: The recipe ``wide``: ``small`` run to fit (stated in docs/width.md before the run).
WIDE = dict(lr=0.05, momentum=0.9, weight_decay=1.0e-4, batch_size=100, lr_step_epochs=20, lr_step_factor=0.1,
            max_epochs=30, stop_at_train_acc=1.0, checkpoint_epochs=[], reference_size=1500)
ARMS = {"on": {"cooccurrence": {"classes": 6}}, "off": {}}


def splits(world: dict):
    from featurelab.data.prepared import Split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split

    cfg = WorldConfig.from_dict(world)
    names = tuple(class_names(cfg))
    return {s: Split(*generate_split(cfg, s)[:2], names) for s in ("train", "val", "test")}


def job(args):
    arm, role, width, seed, out, device = args
    import torch

    torch.set_num_threads(1)
    from featurelab.extract import extract_features
    from featurelab.training import Recipe, train_member

    sp = splits({**WORLD, **ARMS[arm]})
    d = Path(out) / arm / f"{role}-s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    m = train_member(sp["train"], test=sp["test"], arch="resnet18", width=width, seed=seed,
                     recipe=Recipe.from_dict(WIDE), out_path=d / "model.pt", state_path=d / "state.pt",
                     device=device, threads=1, meta={"model": d.name, "dataset": arm}, log=lambda s: None)
    extract_features(d / "model.pt", sp, ["trained"], d / "features", device=device, batch_size=500,
                     log=lambda s: None)
    keep = ("epochs", "final_train_acc", "test_acc", "parameters", "stop_reason")
    return arm, role, seed, {**{k: m.get(k) for k in keep}, "seconds": round(time.perf_counter() - t0, 1)}


def epoch_time(widths):
    import torch
    import torch.nn.functional as F

    from featurelab.models import build_model

    torch.set_num_threads(1)
    for w in widths:
        torch.manual_seed(0)
        m = build_model("resnet18", 10, w, 3, 24).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
        x = torch.randn(100, 3, 24, 24).to(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (100,))
        for i in range(4):
            if i == 1:
                t = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(m(x), y).backward()
            opt.step()
        dt = (time.perf_counter() - t) / 3
        print(f"width {w}: {dt:.3f} s per batch of 100, {15 * dt:.1f} s per epoch of 1,500 images", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--time", action="store_true", help="only time one epoch per width on one CPU thread")
    ap.add_argument("--base-width", type=float, default=0.5)
    ap.add_argument("--alpha", type=float, default=1 / 16)
    ap.add_argument("--narrow", type=int, default=None, help="low-width members (default N_f = ⌈1/α⌉)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--out", default="/tmp/width_probe")
    a = ap.parse_args()
    if a.time:
        epoch_time([1 / 32, 1 / 8, 1 / 4, 1 / 2])
        return
    import multiprocessing as mp

    from featurelab.controls import Part
    from featurelab.width.controls import decide_width

    n = a.narrow or math.ceil(1 / a.alpha)
    jobs = [(arm, "base", a.base_width, s, a.out, a.device) for arm in ARMS for s in (0, 1)]
    jobs += [(arm, "narrow", a.base_width * a.alpha, 100 + i, a.out, a.device) for arm in ARMS for i in range(n)]
    t0 = time.perf_counter()
    metrics = {}
    with ProcessPoolExecutor(a.workers, mp_context=mp.get_context("spawn")) as ex:
        for arm, role, seed, m in ex.map(job, jobs):
            metrics.setdefault(arm, {}).setdefault(role, {})[seed] = m
            print(arm, role, seed, m, flush=True)
    print(f"trained and extracted {len(jobs)} members in {time.perf_counter() - t0:.0f} s", flush=True)
    arms = {}
    for arm in ARMS:
        arms[arm] = {}
        for role, seeds, width in (("base", [0, 1], a.base_width), ("narrow", list(range(100, 100 + n)),
                                                                     a.base_width * a.alpha)):
            feats = [{f"trained/{s}": Path(a.out) / arm / f"{role}-s{seed}" / "features" / "trained" / f"{s}.parquet"
                      for s in ("train", "val", "test")} for seed in seeds]
            arms[arm][role] = Part(name=role, dataset=arm, models=[f"{role}-s{s}" for s in seeds], features=feats,
                                   world={**WORLD, **ARMS[arm]}, info={"width": width, "seed": seeds[0]})
    t1 = time.perf_counter()
    r = decide_width(arms, {"n_concat": n}, resamples=a.resamples)
    r["members"] = metrics
    r["probe"] = {"base_width": a.base_width, "alpha": a.alpha, "narrow": n, "device": a.device,
                  "decide_seconds": round(time.perf_counter() - t1, 1)}
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "width_probe.json").write_text(json.dumps(r, indent=1, default=str))
    for arm in ("on", "off"):
        x = r["arms"][arm]
        print(f"{arm}: {r[arm]['verdict']}  FSE(concat→M1) {x['fse']['concat_to_base']:.3f}  "
              f"FSE(M1'→M1) {x['fse']['base_ref_to_base']:.3f}  FP {json.dumps(x['fp'])}  "
              f"pair classes {json.dumps(x.get('fp_pair_classes'))}")
        for k, v in x["conditions"].items():
            print(f"   {k}: {v['verdict']} {v['estimate']:+.4f} [{v['lo']:+.4f}, {v['hi']:+.4f}]")
    print("passes:", r["passes"])


if __name__ == "__main__":
    main()
