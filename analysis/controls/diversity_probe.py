"""Design probe of the diversity control (Gontijo-Lopes, Dauphin, Cubuk, ICLR 2022;
docs/diversity.md, "Control: the Dataset category"): trains `members` models (`small`) on the
shifted-frequency world (on: train_only {frequent_offset: k, draw: 1}) and on another draw of
the base world (off: train_only {draw: 1}), and compares their error inconsistency excess with
base-world models' (trained here, or the default's model.pt files given by --base) on the base
test split, with the control's own decision code.

    PYTHONPATH=. python analysis/controls/diversity_probe.py --members 3 --offset 2 \
        --base results/zoo/packs/synthetic-resnet18-w0.125-small-p0/synthetic-resnet18-w0.125-small-s{0,1,2,3}.pt
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml

from featurelab.activations import write_activations
from featurelab.controls import Part
from featurelab.data.prepared import Split
from featurelab.data.synthetic import WorldConfig, class_names, generate_split
from featurelab.diversity.controls import decide_diversity
from featurelab.training import Recipe, train_member
from featurelab.training.inputs import to_input
from featurelab.training.solo import load_member

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--offset", type=int, default=2)
    ap.add_argument("--seed", type=int, default=100, help="first seed of the world parts' members")
    ap.add_argument("--base", nargs="*", default=[])
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    base = cfg["data"]["synthetic"]
    worlds = {"base": base, "on": {**base, "train_only": {"frequent_offset": a.offset, "draw": 1}},
              "off": {**base, "train_only": {"draw": 1}}}
    wc = WorldConfig.from_dict(base)
    xt, yt, _ = generate_split(wc, "test")
    test = Split(xt, yt, tuple(class_names(wc)))
    out = Path(a.out or tempfile.mkdtemp(prefix="diversity_probe_"))
    out.mkdir(parents=True, exist_ok=True)
    recipe = Recipe.from_dict(cfg["recipes"]["small"])

    def acts(path: Path, pq: Path) -> Path:
        model, payload = load_member(path)
        with torch.no_grad():
            logits = model(to_input(xt, payload["mean"], payload["std"], "cpu")).numpy()
        write_activations(pq, index=np.arange(len(yt)), label=yt, prediction=logits.argmax(1), logits=logits,
                          activation=logits, metadata={"model": path.stem})
        return pq

    def part(name: str, paths: list[Path]) -> Part:
        return Part(name, name, [p.stem for p in paths], activations=[acts(p, out / f"{p.stem}.parquet") for p in paths],
                    world=worlds.get(name, base), info={"seed": a.seed})

    def train_part(name: str, seed0: int) -> list[Path]:
        w = WorldConfig.from_dict(worlds[name])
        x, y, _ = generate_split(w, "train")
        train = Split(x, y, tuple(class_names(w)))
        paths = []
        for s in range(seed0, seed0 + a.members):
            path = out / f"{name}-s{s}.pt"
            if not path.exists():
                m = train_member(train, test=test, arch="resnet18", width=0.125, seed=s, recipe=recipe, out_path=path,
                                 state_path=out / f"{name}-s{s}.state", device="cpu", threads=1, log=lambda _m: None)
                print(f"{name} s{s}: train acc {m['final_train_acc']:.3f}, base test acc {m['test_acc']:.3f}", flush=True)
            paths.append(path)
        return paths

    base_part = part("base", [Path(p) for p in a.base] if a.base else train_part("base", 0))
    arms = {arm: {"base": base_part, "world": part(arm, train_part(arm, a.seed))} for arm in ("on", "off")}
    r = decide_diversity(arms, {})
    for arm in ("on", "off"):
        e = r["arms"][arm]
        print(f"[{arm}] accuracy base {e['accuracy']['base']['mean']:.3f}, world {e['accuracy']['world']['mean']:.3f}; "
              f"EI excess reinit {e['excess']['reinit']['mean']:.4f}, dataset {e['excess']['dataset']['mean']:.4f}; "
              f"dataset − reinit {r[arm]['estimate']:+.4f} [{r[arm]['lo']:+.4f}, {r[arm]['hi']:+.4f}] -> {r[arm]['verdict']}")
    print(f"verdict on: {r['on']['verdict']}, off: {r['off']['verdict']}, passes: {r['passes']}")


if __name__ == "__main__":
    main()
