"""Design probe of the theory control (docs/theory.md, "Control: the estimator").

Trains the control's parts on one core with the package's own training and extraction code
(the default's ``small`` recipe, resnet18 width 0.125, 4 members per world), then decides
the control with :func:`featurelab.theory.controls.decide_estimator`, the workflow's own
decision, and prints the numbers. The ``base`` part reuses the default run's members when
``--base-zoo`` points at a results/zoo holding ``synthetic-resnet18-w0.125-small-s{0..3}``.

    PYTHONPATH=. python analysis/controls/theory_probe.py --cache /tmp/theory_probe \\
        --base-zoo /tmp/featurelab-bench-gcabk2__/results/zoo \\
        --base-truth /tmp/featurelab-bench-gcabk2__/resources/prepared/synthetic/test_truth.parquet
    PYTHONPATH=. python analysis/controls/theory_probe.py --diagnose DIR_OF_A_TENSOR_BUNDLE --truth TEST_TRUTH

``--diagnose`` prints what each step of the estimator does on a tensor bundle
(results/interaction/<ensemble>/main) whose test split's ground truth is known.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402


def load_design() -> tuple[dict, dict, dict]:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    block = yaml.safe_load((ROOT / "analysis/controls/theory.yaml").read_text())["controls"]
    return cfg, block, block["theory"]


def world_of(cfg: dict, block: dict, name: str) -> dict:
    base = dict(cfg["data"]["synthetic"])
    if name == "base":
        return base
    over = dict(block["worlds"][name])
    if "blue_tie" in over:
        over["blue_tie"] = {**base.get("blue_tie", {}), **over["blue_tie"]}
    return {**base, **over}


def train_part(cache: Path, part: str, spec: dict, world: dict, recipe: dict) -> list[Path]:
    """Train and extract one part's members (cached); returns the activation files."""
    from featurelab.data.prepared import Split
    from featurelab.data.synthetic import WorldConfig, class_names, generate_split
    from featurelab.extract import extract_activations
    from featurelab.training import Recipe, train_member

    cfg = WorldConfig.from_dict(world)
    out = cache / part
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"s{spec['seed'] + i}" / "penultimate" / "test.parquet" for i in range(spec["members"])]
    if all(f.exists() for f in files):
        return files
    names = tuple(class_names(cfg))
    xtr, ytr, _ = generate_split(cfg, "train")
    xte, yte, truth = generate_split(cfg, "test")
    truth.to_parquet(out / "test_truth.parquet")
    train, test = Split(xtr, ytr, names), Split(xte, yte, names)
    rec = Recipe.from_dict({k: v for k, v in recipe.items() if k != "checkpoint_epochs"})
    for i, f in enumerate(files):
        if f.exists():
            continue
        seed = spec["seed"] + i
        d = out / f"s{seed}"
        t0 = time.time()
        m = train_member(train, test=test, arch=spec["arch"], width=spec["width"], seed=seed, recipe=rec,
                         out_path=d / "model.pt", state_path=d / "state.pt", device="cpu", threads=1,
                         meta={"model": f"{part}-s{seed}", "dataset": part}, log=lambda s: None)
        extract_activations(d / "model.pt", {"test": test}, ["penultimate"], d, device="cpu", log=lambda s: None)
        print(f"{part} s{seed}: test accuracy {m.get('test_acc', m.get('test_accuracy'))}, "
              f"{time.time() - t0:.0f} s", flush=True)
    return files


def probe(args: argparse.Namespace) -> None:
    from featurelab.controls import Part
    from featurelab.theory.controls import decide_estimator

    cfg, block, ctl = load_design()
    recipe = cfg["recipes"]["small"]
    arms: dict = {}
    for arm, parts in ctl["arms"].items():
        arms[arm] = {}
        for name, spec in parts.items():
            world = world_of(cfg, block, spec["world"])
            if spec["world"] == "base" and args.base_zoo:
                files = [Path(args.base_zoo) / f"synthetic-resnet18-w{spec['width']}-small-s{spec['seed'] + i}"
                         / "activations" / "penultimate" / "test.parquet" for i in range(spec["members"])]
                truth = Path(args.base_truth)
            else:
                files = train_part(Path(args.cache), name, spec, world, recipe)
                truth = Path(args.cache) / name / "test_truth.parquet"
            arms[arm][name] = Part(name=name, dataset=name, models=[f.parents[1].name for f in files],
                                   activations=files, test_truth=truth, world=world, info=dict(spec))
    t0 = time.time()
    res = decide_estimator(arms, ctl["settings"], resamples=args.resamples, seed=0)
    print(f"decided in {time.time() - t0:.0f} s")
    print(json.dumps(res, indent=1, default=str))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1, default=str))


def diagnose(args: argparse.Namespace) -> None:
    from sklearn.metrics import roc_auc_score

    from featurelab.interaction import Tensor
    from featurelab.interaction.measures import incidence_matrix
    from featurelab.theory.estimate import classify_points, class_frequencies, estimate_parameters, split_features

    t = Tensor(Path(args.diagnose))
    truth = pd.read_parquet(args.truth)
    dom_true = truth["dominant"].to_numpy().astype(bool)
    A = np.asarray(incidence_matrix(t.triplets, t.N, t.T).todense()) > 0
    print(f"T = {t.T} features; features per point {A.sum(1).mean():.1f} (dominant {A[dom_true].sum(1).mean():.1f}, "
          f"rare {A[~dom_true].sum(1).mean():.1f}); features on every point {(A.mean(0) == 1).sum()}")
    counts, share, _ = class_frequencies(A.astype(np.int8), t.labels, int(t.labels.max()) + 1)
    print(f"(class, feature) pairs observed {(counts > 0).sum()} of {counts.size}")
    dom, cut = split_features(share, "otsu")
    d, r, dp = classify_points(A.astype(np.int8), dom, counts > 0, t.labels)
    sh = d / np.maximum(d + r, 1)
    print(f"otsu cut {cut:.3f}, dominant pairs {dom.sum()}; points called dominant {dp.mean():.3f} "
          f"(true {dom_true.mean():.3f})")
    print(f"d/(d+r): true dominant {sh[dom_true].mean():.3f}, true rare {sh[~dom_true].mean():.3f}; AUC for "
          f"'dominant': d/(d+r) {roc_auc_score(dom_true, sh):.3f}, d {roc_auc_score(dom_true, d):.3f}, "
          f"-#features {roc_auc_score(dom_true, -A.sum(1)):.3f}")
    ok = t.predictions == t.labels[None]
    print(f"member accuracy {ok.mean(1).round(3).tolist()}; dominant points {ok[:, dom_true].mean():.3f}, "
          f"rare {ok[:, ~dom_true].mean():.3f}")
    for rule in ("otsu", "gap", "mass"):
        e = estimate_parameters(t.triplets, t.M, t.N, t.T, t.clusters, t.predictions, t.labels, split=rule)
        print(rule, {k: round(e[k], 3) if isinstance(e[k], float) else e[k]
                     for k in ("p_d_hat", "t_d_hat", "t_r_hat", "n_d_hat", "n_r_hat", "split_p")})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default="/tmp/theory_probe")
    ap.add_argument("--base-zoo", default=None)
    ap.add_argument("--base-truth", default=None)
    ap.add_argument("--resamples", type=int, default=500)
    ap.add_argument("--out", default=None)
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--diagnose", default=None)
    ap.add_argument("--truth", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.diagnose:
        return diagnose(args)
    if args.train_only:
        cfg, block, ctl = load_design()
        for parts in ctl["arms"].values():
            for name, spec in parts.items():
                if spec["world"] != "base" or not args.base_zoo:
                    train_part(Path(args.cache), name, spec, world_of(cfg, block, spec["world"]), cfg["recipes"]["small"])
        return
    probe(args)


if __name__ == "__main__":
    main()
