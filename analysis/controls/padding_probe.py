"""Design probe of the padding control (Zhang et al., ICML 2024, App. F.4; docs/contamination.md,
"Control: padding colour"): trains `members` padded networks with the constant colour (on) and
with a random colour per image and epoch (off) on the base world, and compares each with plain
networks (`small`, no padding: trained here, or the default's model.pt files given by --plain),
with the control's own decision code. Prints each arm's training accuracy, test accuracy and the
per-stage colour-preference verdicts.

    PYTHONPATH=. python analysis/controls/padding_probe.py --members 3 --pad 2 \
        --plain results/zoo/packs/synthetic-resnet18-w0.125-small-p0/synthetic-resnet18-w0.125-small-s{0,1,2}.pt
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import yaml

from featurelab.controls import Part
from featurelab.contamination.controls import decide_padding
from featurelab.data.prepared import Split
from featurelab.data.synthetic import WorldConfig, class_names, generate_split
from featurelab.training import Recipe, train_member

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--pad", type=int, default=2)
    ap.add_argument("--plain", nargs="*", default=[])
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    world = cfg["data"]["synthetic"]
    wc = WorldConfig.from_dict(world)
    x, y, _ = generate_split(wc, "train")
    xt, yt, _ = generate_split(wc, "test")
    train, test = Split(x, y, tuple(class_names(wc))), Split(xt, yt, tuple(class_names(wc)))
    out = Path(a.out or tempfile.mkdtemp(prefix="padding_probe_"))
    out.mkdir(parents=True, exist_ok=True)
    padded = {**cfg["recipes"]["padded"], "pad": a.pad}
    recipes = {"on": padded, "off": {**padded, "pad_color": "random"}, "plain": cfg["recipes"]["small"]}

    def train_part(name: str, recipe: dict, n: int) -> Part:
        models, weights = [], []
        for s in range(n):
            path = out / f"{name}-s{s}.pt"
            if not path.exists():
                m = train_member(train, test=test, arch="resnet18", width=0.125, seed=s, recipe=Recipe.from_dict(recipe),
                                 out_path=path, state_path=out / f"{name}-s{s}.state", device="cpu", threads=1,
                                 log=lambda _m: None)
                print(f"{name} s{s}: train acc {m['final_train_acc']:.3f}, test acc {m['test_acc']:.3f}",
                      flush=True)
            models.append(f"{name}-s{s}")
            weights.append(path)
        return Part(name, "synthetic", models, weights=weights, world=world, info={"seed": 0})

    plain = (Part("plain", "synthetic", [Path(p).stem for p in a.plain[:a.members]],
                  weights=[Path(p) for p in a.plain[:a.members]], world=world, info={"seed": 0})
             if a.plain else train_part("plain", recipes["plain"], a.members))
    arms = {arm: {"padded": train_part(arm, recipes[arm], a.members), "plain": plain} for arm in ("on", "off")}
    r = decide_padding(arms, {"pad": a.pad, "pad_color": padded["pad_color"], "pad_mode": padded["pad_mode"]})
    for arm in ("on", "off"):
        e = r["arms"][arm]
        print(f"[{arm}] accuracy padded:", {k: round(v["mean"], 3) for k, v in e["accuracy_padded"].items()},
              "plain:", {k: round(v["mean"], 3) for k, v in e["accuracy_plain"].items()})
        for st, v in e["stages"].items():
            d = v["padded_minus_plain"]
            print(f"[{arm}] stage {st}: padded − plain {d['mean']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}]"
                  f" -> {v['padded_prefers_colour_more']['verdict']}")
    print(f"verdict on: {r['on']['verdict']}, off: {r['off']['verdict']}, passes: {r['passes']}")


if __name__ == "__main__":
    main()
