"""The gde control's probe (docs/gde.md, "Control: GDE and the interventions").

1. The design, before training: the §5 closed form (Jiang, Baek, Kolter, ICLR 2024) at the
   default world's parameters, the capacity c read off the default's measured accuracy, and
   the p_d at which |agreement − accuracy| ≤ 0.01 for each ζ (featurelab.gde.design).
2. ``--train``: the control's parts (analysis/controls/gde.yaml) trained by the package's own
   training code, one thread, and decided by featurelab.gde.controls.decide_gde.

    PYTHONPATH=. python analysis/controls/gde_probe.py                       # the design (seconds)
    PYTHONPATH=. python analysis/controls/gde_probe.py --train --out /tmp/gde_probe   # ~24 members
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from featurelab.gde.design import capacity_from_accuracy, gde_design, world_params  # noqa: E402

#: The default's measured K̃ = 10 accuracy (members 0-2 of `synth`, results/gde/summary.json of
#: the default's benchmark run): the small networks' capacity is read off it.
DEFAULT_ACCURACY = 0.518
#: κ, how often two wrong members make the same mistake: without the mechanism (the studies'
#: 0.05-0.20), with look-alike rare motifs (0.49, measured before this design), §5.2's ζ = 0.9.
KAPPAS = {"independent (today)": 0.12, "look-alike (measured)": 0.49, "paper (zeta 0.9)": 0.8}


def design() -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    world = cfg["data"]["synthetic"]
    p = world_params(world)
    cap = capacity_from_accuracy(DEFAULT_ACCURACY, p, p["num_classes"])
    print(f"world: {p}\ncapacity: c = {cap['c']} (predicted accuracy {cap['predicted_accuracy']:.3f} against the "
          f"measured {DEFAULT_ACCURACY}); candidates {({k: round(v, 3) for k, v in cap['candidates'].items()})}")
    out = {"world": p, "capacity": cap, "designs": {}}
    for name, kappa in KAPPAS.items():
        for c in (cap["c"] - 2, cap["c"], cap["c"] + 2):
            d = gde_design(p, c, {"family": "constant", "eta": (1 + kappa) / 2}, p["num_classes"], tol=0.01)
            out["designs"][f"{name} c={c}"] = d
            print(f"kappa {kappa:.2f} ({name}), c = {c}: p_d within 0.01 -> {d['chosen']}; gap "
                  + " ".join(f"{r['p_d']:.2f}:{r['gap']:+.3f}" for r in d["rows"]))
    return out


def train(out_dir: Path) -> dict:
    import numpy as np
    import torch

    from featurelab.controls import Part
    from featurelab.data.prepared import Split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split
    from featurelab.extract import extract_member
    from featurelab.gde.datasets import blue_group_info, blue_group_split, relabel
    from featurelab.training import Recipe, train_member

    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    block = yaml.safe_load((ROOT / "analysis/controls/gde.yaml").read_text())["controls"]
    control, worlds = block["gde"], block["worlds"]
    settings = control["settings"]
    recipe = Recipe.from_dict(cfg["recipes"]["small"])
    arms: dict = {}
    for arm, parts in control["arms"].items():
        arms[arm] = {}
        cache: dict = {}
        for name, spec in parts.items():
            wd = {**cfg["data"]["synthetic"], **worlds[spec["world"]]}
            if spec["world"] not in cache:
                w = WorldConfig.from_dict(wd)
                sp = {}
                for s in ("train", "test"):
                    x, y, truth = generate_split(w, s)
                    sp[s] = Split(x, y, tuple(class_names(w)))
                cache[spec["world"]] = sp
            splits = cache[spec["world"]]
            d = spec["derived"]
            if d and d.startswith("super"):
                splits = {s: relabel(v, int(d[5:])) for s, v in splits.items()}
            elif d and d.startswith("blue"):
                info = blue_group_info(splits["train"], settings["blue_groups"], int(d[4:]))
                splits = {s: blue_group_split(v, info["thresholds"], int(d[4:]) - 1) for s, v in splits.items()}
            part_dir = out_dir / arm / name
            paths = []
            for m in range(spec["members"]):
                seed = spec["seed"] + m
                act = part_dir / f"s{seed}.parquet"
                if not act.exists():
                    t0 = time.time()
                    model = part_dir / f"s{seed}.pt"
                    train_member(splits["train"], arch=spec["arch"], width=spec["width"], seed=seed, recipe=recipe,
                                 out_path=model, state_path=part_dir / f"s{seed}.state", device="cpu", threads=1,
                                 log=lambda *_: None)
                    extract_member(model, splits["test"], "test", {"penultimate": act}, device="cpu",
                                   log=lambda *_: None)
                    print(f"{arm}/{name} seed {seed}: {len(splits['train'])} train images, "
                          f"{time.time() - t0:.0f} s", flush=True)
                paths.append(act)
            arms[arm][name] = Part(name=name, dataset=f"{spec['world']}{'__' + d if d else ''}",
                                   models=[f"s{spec['seed'] + m}" for m in range(spec["members"])],
                                   activations=paths, world=wd, info=spec)
    from featurelab.gde.controls import decide_gde

    result = decide_gde(arms, settings)
    (out_dir / "gde_control.json").write_text(json.dumps(result, indent=1, default=str))
    for arm in ("on", "off"):
        a = result["arms"][arm]
        print(f"{arm}: GDE on base {a['gde_base']['verdict']} (agr − acc {a['gde_base']['estimate']:+.3f}, "
              f"[{a['gde_base']['lo']:+.3f}, {a['gde_base']['hi']:+.3f}]); comparison {a['comparison']['verdict']}; "
              f"finding {result[arm]['verdict']}")
        for row in a["conditions"]:
            print(f"   {row['condition']:8s} acc {row['accuracy_mean']:.3f} agr {row['agreement_mean']:.3f} "
                  f"agr−acc {row['difference_mean']:+.3f} ± {row['difference_se']:.3f} kappa {row['guess_copy_kappa']:.2f}")
    print("passes:", result["passes"])
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help="train the parts and decide (minutes)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/gde_probe"))
    a = ap.parse_args()
    design()
    if a.train:
        train(a.out)
