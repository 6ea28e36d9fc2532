"""Rule contamination_headline: the penultimate representations of every seed's teacher, student
and plainly trained member on the ID training split, the test split and its
background-shifted copy, and the accuracy of the teacher's and the plain member's own heads
(Zhang et al., ICML 2024, Fig 1 scaled; the probes are fit in contamination_report)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import numpy as np
import pandas as pd
import torch

from featurelab.data.prepared import load_split
from featurelab.extract import compute_activations
from featurelab.training.recipe import select_device
from featurelab.training.solo import load_member

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    dev = select_device(snakemake.params.device)
    splits = {s: load_split(snakemake.input[s]) for s in ("train", "test", "shifted")}
    arrays, heads = {}, []
    for i, seed in enumerate(snakemake.params.seeds):
        for kind in ("teacher", "student", "plain"):
            model, payload = load_member(snakemake.input[f"{kind}__{i}"], dev)
            for name, split in splits.items():
                out = compute_activations(model, payload, split, ("penultimate",), dev)
                arrays[f"s{seed}/{kind}/{name}"] = out["penultimate"]
                if kind != "student":  # a student's head is untrained
                    acc = float((out["logits"].argmax(1) == split.labels).mean())
                    heads.append({"seed": seed, "model": kind, "split": name, "accuracy": acc})
            log(f"seed {seed} {kind}: {arrays[f's{seed}/{kind}/train'].shape[1]} features on "
                + ", ".join(f"{n} ({len(s)})" for n, s in splits.items()))
    for name, split in splits.items():
        arrays[f"labels/{name}"] = split.labels
    np.savez_compressed(snakemake.output.features, **arrays)
    pd.DataFrame(heads).to_csv(snakemake.output.heads, index=False)
    log(pd.DataFrame(heads).pivot_table(index=["seed", "model"], columns="split", values="accuracy").to_string())
