"""Rule train_member: train one model of the zoo; progress (one line per epoch) goes to the log."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.files import write_json
from featurelab.gpus import job_device
from featurelab.training import Recipe, train_member

with logged(snakemake.log[0]):
    p = snakemake.params.train
    with job_device(p["device"], snakemake.params.gpu, log=log) as device:  # a GPU slot, held
        metrics = train_member(
            load_split(snakemake.input.train),
            test=load_split(snakemake.input.test),
            heldout=load_split(snakemake.input.heldout) if "heldout" in snakemake.input.keys() else None,
            arch=p["arch"], width=p["width"], seed=p["seed"], subset_size=p["subset"],
            recipe=Recipe.from_dict(p["recipe"]),
            out_path=snakemake.output.model, state_path=snakemake.params.state,
            checkpoint_dir=snakemake.output.epochs, device=device, threads=snakemake.threads,
            meta={k: p[k] for k in ("model", "dataset")}, log=log, fast=snakemake.params.fast,
        )
    write_json(snakemake.output.metrics, {**p, **metrics})
