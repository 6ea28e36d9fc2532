"""Design probe of the O.4 control (docs/interaction.md, "Control: O.4").

Trains the two arms with the package's own training and extraction code, on one thread, in a
cache folder (members already there are reused), then decides O.4 in each with
``featurelab.interaction.controls.decide_o4`` and prints the numbers:

* on: G slices x (members / G) members, slice g on ``rare_slice: {count: G, index: g}``,
  seeds 100 + 5g + i;
* off: ``members`` members of the base world, seeds 0 ...

    PYTHONPATH=. python analysis/controls/o4_probe.py [--members 20 --groups 4 --cache /tmp/o4probe]

The base world and recipe are config.yaml's ``data.synthetic`` and ``recipes.small``
(resnet18, width 1/8). About 14 s per member on one core.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from featurelab.controls import Part  # noqa: E402
from featurelab.data.prepared import Split  # noqa: E402
from featurelab.data.synthetic import WorldConfig, class_names, generate_split  # noqa: E402
from featurelab.extract import extract_member  # noqa: E402
from featurelab.interaction.controls import decide_o4  # noqa: E402
from featurelab.training import Recipe, train_member  # noqa: E402


def split(cfg: WorldConfig, name: str) -> Split:
    images, labels, _ = generate_split(cfg, name)
    return Split(images, labels, tuple(class_names(cfg)))


def member(cache: Path, world: str, train: Split, test: Split, seed: int, recipe: Recipe, arch: str,
           width: float) -> Path:
    d = cache / f"{world}-s{seed}"
    act = d / "penultimate_test.parquet"
    if act.exists():
        return act
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train_member(train, arch=arch, width=width, seed=seed, recipe=recipe, test=test, out_path=d / "model.pt",
                 state_path=d / "state.pt", device="cpu", threads=1, log=lambda *_: None)
    extract_member(d / "model.pt", test, "test", {"penultimate": act}, device="cpu", log=lambda *_: None)
    print(f"  trained {world} seed {seed} in {time.time() - t0:.0f} s", flush=True)
    return act


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/o4probe"))
    ap.add_argument("--config", type=Path, default=Path("config.yaml"))
    ap.add_argument("--arch", default="resnet18")
    ap.add_argument("--width", type=float, default=0.125)
    args = ap.parse_args()
    torch.set_num_threads(1)
    conf = yaml.safe_load(args.config.read_text())
    base = dict(conf["data"]["synthetic"])
    recipe = Recipe.from_dict(conf["recipes"]["small"])
    per = args.members // args.groups
    cfg0 = WorldConfig.from_dict(base)
    test = split(cfg0, "test")
    arms: dict[str, dict[str, Part]] = {"on": {}, "off": {}}
    for g in range(args.groups):
        cfg = WorldConfig.from_dict({**base, "rare_slice": {"count": args.groups, "index": g}})
        t = split(cfg, "test")
        assert np.array_equal(t.images, test.images) and np.array_equal(t.labels, test.labels), "test split moved"
        train = split(cfg, "train")
        seeds = [100 + per * g + i for i in range(per)]
        acts = [member(args.cache, f"rare{args.groups}s{g}", train, test, s, recipe, args.arch, args.width)
                for s in seeds]
        arms["on"][f"slice{g}"] = Part(f"slice{g}", "synthetic", [f"rare{args.groups}s{g}-s{s}" for s in seeds],
                                       activations=acts, info={"seed": seeds[0]})
    train0 = split(cfg0, "train")
    seeds = list(range(args.members))
    acts = [member(args.cache, "base", train0, test, s, recipe, args.arch, args.width) for s in seeds]
    arms["off"]["base"] = Part("base", "synthetic", [f"base-s{s}" for s in seeds], activations=acts, info={"seed": 0})
    t0 = time.time()
    res = decide_o4(arms, {})
    print(f"decision in {time.time() - t0:.0f} s")
    for a in ("on", "off"):
        d = res["arms"][a]
        v, va = res[a], res["order_averaged"][a]
        print(f"{a:3s}: M={d['M']} K={d['K']} T={d['T']} gamma_corr={d['gamma_corr']:.3f} "
              f"acc={d['accuracy_mean']:.3f} [{d['accuracy_min']:.3f}, {d['accuracy_max']:.3f}]")
        print(f"     O.4 rho={v['estimate']:+.3f} p_greater={v['p_greater']:.4f} p_less={v['p_less']:.4f} -> {v['verdict']}")
        print(f"     order-averaged rho={va['estimate']:+.3f} p_greater={va['p_greater']:.4f} "
              f"p_less={va['p_less']:.4f} -> {va['verdict']}")
        print(f"     shared features within/between {d['shared_features_within']:.2f}/{d['shared_features_between']:.2f}"
              f" (order-averaged {d['shared_features_avg_within']:.2f}/{d['shared_features_avg_between']:.2f}),"
              f" shared error within/between {d['shared_error_within']:.3f}/{d['shared_error_between']:.3f}")
        print(f"     seed share of model 0: {d['seed_share_first_model']:.3f} (uniform {d['seed_share_uniform']:.3f});"
              f" per model {np.round(d['seed_share_per_model'], 3).tolist()}")
    print(f"passes: {res['passes']}; order-averaged passes: {res['order_averaged_passes']}")
    out = args.cache / "decision.json"
    out.write_text(json.dumps(res, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
