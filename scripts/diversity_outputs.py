"""Rule diversity_outputs: the logits and penultimate features of every model of one of the
diversity study's ensembles on its held-out (val) and test points (featurelab.extract, the
activation Parquet format): <ensemble>/<model>/penultimate/{val,test}.parquet."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import torch

from featurelab.data.prepared import load_split
from featurelab.extract import extract_activations

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    splits = {s: load_split(snakemake.input[s]) for s in ("val", "test")}
    out = Path(snakemake.output[0])
    for model in snakemake.params.models:
        extract_activations(snakemake.input[model], splits, ["penultimate"], out / model,
                            device=snakemake.params.device, batch_size=snakemake.params.batch_size,
                            meta={"model": model}, log=log)
