"""Rule contamination_deep: activation rates, class-mean activations and selectivity of every
stage of the contamination ensemble's members, at initialisation and trained, on the test
split and (on a synthetic world) its background-shifted copy (Zhang et al., ICML 2024,
Sec. 5, App. F.2-F.3; featurelab.contamination.deep)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd
import torch

from featurelab.contamination.deep import stage_statistics, statistics_table
from featurelab.data.prepared import load_split
from featurelab.training.recipe import select_device
from featurelab.training.solo import initial_model, load_member

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    dev = select_device(snakemake.params.device)
    splits = {s: load_split(snakemake.input[f"split__{s}"]) for s in snakemake.params.splits}
    frames, acc = [], []
    for member, model_id in enumerate(snakemake.params.models):
        trained, payload = load_member(snakemake.input[model_id], dev)
        init = initial_model(payload["arch"], payload["num_classes"], payload["width"], payload["in_channels"],
                             payload["seed"]).to(dev).eval()
        for state, model in (("init", init), ("trained", trained)):
            for name, split in splits.items():
                stats = stage_statistics(model, split.images, split.labels, payload["mean"], payload["std"],
                                         split.num_classes, dev)
                frames.append(statistics_table(stats, snakemake.params.eps, model=model_id, member=member, state=state, split=name))
                a = stats["accuracy"]
                acc.append({"model": model_id, "member": member, "state": state, "split": name, "accuracy": a})
                sel = [float(t["selectivity"].mean()) for _, t in frames[-1].groupby("stage")]
                log(f"{model_id} {state} {name}: accuracy {a:.3f}, mean selectivity per stage "
                    + ", ".join(f"{v:.3f}" for v in sel))
    pd.concat(frames, ignore_index=True).to_parquet(snakemake.output.channels, index=False)
    pd.DataFrame(acc).to_csv(snakemake.output.accuracy, index=False)
