"""Rule contamination_headline: the penultimate representations of every pair's teacher, student
and plainly trained member (and of the plain members' kept checkpoints, points of the plain
models' line) on the ID training split, the test split and its background-shifted copy, and
the accuracy of the teachers' and the plain models' own heads (Zhang et al., ICML 2024,
Fig 1 scaled; the probes are fit in contamination_report)."""
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

    def read(net, payload, key, **row):
        for name, split in splits.items():
            out = compute_activations(net, payload, split, ("penultimate",), dev)
            arrays[f"{key}/{name}"] = out["penultimate"]
            if row.get("model") != "student":  # a student's head is untrained
                acc = float((out["logits"].argmax(1) == split.labels).mean())
                heads.append({**row, "split": name, "accuracy": acc})

    for i, seed in enumerate(snakemake.params.seeds):
        for kind in ("teacher", "student", "plain"):
            model, payload = load_member(snakemake.input[f"{kind}__{i}"], dev)
            init = payload["metrics"].get("seed")
            read(model, payload, f"s{seed}/{kind}", seed=seed, model=kind, epoch=-1)
            log(f"pair {seed} {kind} (initialised from seed {init}): "
                f"{arrays[f's{seed}/{kind}/train'].shape[1]} features on "
                + ", ".join(f"{n} ({len(s)})" for n, s in splits.items()))
    # the plain members' kept checkpoints: more points on the plain models' line (Taori et al., 2020)
    for model_id, epochs in snakemake.params.line.items():
        pair = snakemake.params.models["plain"].index(model_id)
        model, payload = load_member(snakemake.input[f"plain__{pair}"], dev)
        seed = snakemake.params.seeds[pair]
        for e in epochs:
            model.load_state_dict(torch.load(Path(snakemake.input[f"line__{model_id}"]) / f"epoch{e:03d}.pt",
                                             map_location=dev, weights_only=True))
            read(model.eval(), payload, f"line/s{seed}/e{e}", seed=seed, model="plain_checkpoint", epoch=e)
            log(f"plain member {model_id}, epoch {e}: features read")
    for name, split in splits.items():
        arrays[f"labels/{name}"] = split.labels
    np.savez_compressed(snakemake.output.features, **arrays)
    pd.DataFrame(heads).to_csv(snakemake.output.heads, index=False)
    log(pd.DataFrame(heads).pivot_table(index=["seed", "model", "epoch"], columns="split",
                                        values="accuracy").to_string())
