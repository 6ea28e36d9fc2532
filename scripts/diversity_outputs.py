"""Rule diversity_outputs: one pool model's logits and penultimate features on the diversity
study's held-out (val) and test points (featurelab.extract, the activation Parquet format)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_member
import torch

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    for split in ("val", "test"):
        extract_member(snakemake.input.model, load_split(snakemake.input[split]), split,
                       {"penultimate": snakemake.output[split]}, device=snakemake.params.device,
                       batch_size=snakemake.params.batch_size, meta={"model": snakemake.wildcards.model}, log=log)
