"""Rule gde_datasets: every derived dataset of the GDE study (Jiang, Baek, Kolter, ICLR 2024,
§6): the base's labels merged into K̃ superclasses (App. F.8), and the points of each
blue-intensity group G_i (App. F.9), with the thresholds cut on the whole training split and
applied unchanged to the test split."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.data.prepared import load_split, save_split
from featurelab.files import write_json
from featurelab.gde.datasets import blue_group_info, blue_group_split, blue_intensity, relabel
from featurelab.plan import blue_dataset, superclass_dataset

with logged(snakemake.log[0]):
    base, p = snakemake.wildcards.base, snakemake.params
    splits = {s: load_split(snakemake.input[s]) for s in ("train", "test")}
    files = {f: f for f in snakemake.output}

    def out(dataset: str, name: str) -> str:
        return files[f"resources/prepared/{dataset}/{name}"]

    for k in p.superclasses:
        for name, split in splits.items():
            s = relabel(split, k)
            save_split(out(superclass_dataset(base, k), f"{name}.npz"), s.images, s.labels, s.classes)
            log(f"K̃={k} {name}: {len(s)} images in superclasses {list(s.classes)}")
    truth = (pd.read_parquet(snakemake.input.truth, columns=["dominant", "rare_pool"])
             if "truth" in snakemake.input.keys() else None)  # a synthetic world: the rare pools
    for g in range(1, p.n_groups + 1):
        info = blue_group_info(splits["train"], p.n_groups, g, truth)
        dataset = blue_dataset(base, g)
        for name, split in splits.items():
            sub = blue_group_split(split, info["thresholds"], g - 1)
            save_split(out(dataset, f"{name}.npz"), sub.images, sub.labels, sub.classes)
            log(f"G{g} {name}: {len(sub)} of {len(split)} images, mean b(x) {blue_intensity(sub.images).mean():.4f}"
                + (f", rare pool {info['rare_pool_mean']:.1f}" if "rare_pool_mean" in info and name == "train" else ""))
        write_json(out(dataset, "blue_thresholds.json"), info)
