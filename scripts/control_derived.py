"""Rules control_derived_*: a world derived from a control's world, as the GDE study derives
its own (Jiang, Baek, Kolter, ICLR 2024, §6): the labels merged into k superclasses (App.
F.8), or the points of one blue-intensity group (App. F.9; thresholds cut on the whole
training split, applied unchanged to the test split)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.data.prepared import load_split, save_split
from featurelab.files import write_json
from featurelab.gde.datasets import blue_group_info, blue_group_split, relabel

with logged(snakemake.log[0]):
    d = snakemake.params.derived
    splits = {s: load_split(snakemake.input[s]) for s in ("train", "test")}
    if d["kind"] == "super":
        for name, split in splits.items():
            s = relabel(split, d["k"])
            save_split(snakemake.output[name], s.images, s.labels, s.classes)
            log(f"K̃={d['k']} {name}: {len(s)} images")
    else:
        truth = pd.read_parquet(snakemake.input.truth, columns=["dominant", "rare_pool"])
        info = blue_group_info(splits["train"], d["n_groups"], d["group"], truth)
        for name, split in splits.items():
            sub = blue_group_split(split, info["thresholds"], d["group"] - 1)
            save_split(snakemake.output[name], sub.images, sub.labels, sub.classes)
            log(f"G{d['group']} of {d['n_groups']} {name}: {len(sub)} of {len(split)} images")
        write_json(snakemake.output.blue_thresholds, info)
